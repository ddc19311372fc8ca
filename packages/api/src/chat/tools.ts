import { createGeneratedFile, type FileRecord, listFiles, newId } from '@leonidas/db';
import { buildChart, CHART_MARKS, type ChartMark } from '../analysis/charts.js';
import { type QueryOutcome, type QueryTable, runQuery } from '../analysis/query-engine.js';
import {
  type ChatScope,
  FIRST_ROWS,
  keepResult,
  nextQueryId,
  readResult,
} from '../analysis/query-results.js';
import { tableNames } from '../analysis/table-names.js';
import type { ApiDeps } from '../context.js';
import { AppError } from '../errors.js';
import { fileObjectKey, tableObjectKey } from '../file/keys.js';
import { processGeneratedTable } from '../file/processing.js';
import { type CsvMetadata, filenameInput, VEGA_LITE_CONTENT_TYPE } from '../file/schema.js';
import { readPreview } from '../file/service.js';
import { formatBytes } from '../quotas.js';
import type { ToolSpec } from './llm/types.js';
import type { MakeChartOutput, RunSqlOutput, SaveTableOutput, ToolError } from './schema.js';

/** The first rows `describe_file` shows: by default, and at most. */
export const DESCRIBE_ROWS = { default: 5, max: 20 } as const;

export const TOOL_SPECS: ToolSpec[] = [
  {
    name: 'list_files',
    description:
      'List the files of this project: name, SQL table, status, row count and columns with their types.',
    inputSchema: { type: 'object', properties: {}, additionalProperties: false },
  },
  {
    name: 'describe_file',
    description:
      'Profile of one file (its SQL table; row count; per column: type, nulls, distinct values, min, max, mean) and its first rows.',
    inputSchema: {
      type: 'object',
      properties: {
        filename: { type: 'string', description: 'The file name as list_files shows it' },
        rows: {
          type: 'integer',
          minimum: 1,
          maximum: DESCRIBE_ROWS.max,
          description: `How many first rows (default ${DESCRIBE_ROWS.default})`,
        },
      },
      required: ['filename'],
      additionalProperties: false,
    },
  },
  {
    name: 'run_sql',
    description:
      "Run one read-only DuckDB SQL query (SELECT or WITH ... SELECT) over the project's tables, each named as list_files shows. Returns a queryId, the columns, the first 50 rows and the row count; the whole result (up to 10,000 rows) is kept under the queryId for make_chart and save_table. Compute every number you state with it.",
    inputSchema: {
      type: 'object',
      properties: { sql: { type: 'string', description: 'One DuckDB SELECT statement' } },
      required: ['sql'],
      additionalProperties: false,
    },
  },
  {
    name: 'make_chart',
    description:
      'Draw a chart of a result run_sql kept: the server builds a Vega-Lite chart from the columns you name (you never write data) and saves it as a file of the project.',
    inputSchema: {
      type: 'object',
      properties: {
        queryId: { type: 'string', description: 'The queryId run_sql returned, e.g. q3' },
        mark: {
          type: 'string',
          enum: [...CHART_MARKS],
          description: 'arc is a pie: x the categories, y the values',
        },
        x: { type: 'string', description: 'A column of the result' },
        y: { type: 'string', description: 'A column of the result' },
        color: { type: 'string', description: 'Optional: a column to colour by' },
        title: { type: 'string', description: 'The chart title (also its file name)' },
      },
      required: ['queryId', 'mark', 'x', 'y', 'title'],
      additionalProperties: false,
    },
  },
  {
    name: 'save_table',
    description:
      'Save a whole result run_sql kept as a CSV file of the project, profiled like an upload and queryable as a table from then on.',
    inputSchema: {
      type: 'object',
      properties: {
        queryId: { type: 'string', description: 'The queryId run_sql returned' },
        filename: { type: 'string', description: 'The file name, e.g. revenue_by_region.csv' },
      },
      required: ['queryId', 'filename'],
      additionalProperties: false,
    },
  },
];

/** Who is asking, in which chat and reply: tools read and write only within the project. */
export interface ToolScope extends ChatScope {
  userId: string;
  /** The reply calling the tool, for the provenance of what it makes. */
  messageId: string;
}

/** The project's files, newest first (the first 100: what a conversation can reasonably hold). */
export async function projectFiles(deps: ApiDeps, scope: { projectId: string }): Promise<FileRecord[]> {
  return (await listFiles(deps.db, { projectId: scope.projectId, limit: 100 })).items;
}

/** A file that can be queried: processed, with a CSV profile (charts are files too, but not tables). */
interface ReadyTable {
  file: FileRecord;
  name: string;
  metadata: CsvMetadata;
}

function readyTables(files: FileRecord[]): ReadyTable[] {
  const ready = files.flatMap(({ metadata, ...file }) =>
    file.status === 'COMPLETED' && metadata ? [{ file, metadata }] : [],
  );
  const names = tableNames(ready.map((table) => table.file));
  return ready.map((table) => ({ ...table, name: names.get(table.file.fileId) ?? '' }));
}

/** A file as the model sees it: JSON data (see prompt.ts), with its table and columns when it is one. */
export function fileSummaries(files: FileRecord[]) {
  const tables = new Map(readyTables(files).map((table) => [table.file.fileId, table]));
  return files.map((file) => {
    const table = tables.get(file.fileId);
    return {
      name: file.filename,
      status: file.status === 'COMPLETED' ? 'ready' : file.status.toLowerCase(),
      source: file.source === 'APP_GENERATED' ? 'made by DS Bro' : 'uploaded',
      sizeBytes: file.size,
      ...(table
        ? {
            table: table.name,
            rowCount: table.metadata.rowCount,
            columns: table.metadata.columns.map((column) => ({ name: column.name, type: column.type })),
          }
        : {}),
      ...(file.failureReason ? { failureReason: file.failureReason } : {}),
    };
  });
}

/** Exact name first (any case), then the name without its extension, then a name that contains it. */
export function findFile(files: FileRecord[], wanted: string): FileRecord | undefined {
  const target = wanted.trim().toLowerCase();
  const stem = (name: string) => name.toLowerCase().replace(/\.(csv|tsv)$/, '');
  return (
    files.find((file) => file.filename.toLowerCase() === target) ??
    files.find((file) => stem(file.filename) === stem(target)) ??
    files.find((file) => file.filename.toLowerCase().includes(stem(target)))
  );
}

type Args = Record<string, unknown>;
const text = (args: Args, name: string) =>
  typeof args[name] === 'string' ? (args[name] as string) : undefined;

/** Runs a tool for the model. Errors a person could fix come back as `{ error, hint? }` for the model to act on. */
export async function runTool(
  deps: ApiDeps,
  scope: ToolScope,
  name: string,
  input: unknown,
): Promise<unknown> {
  try {
    return await toolOutput(deps, scope, name, input);
  } catch (error) {
    // A refusal the user would read (a file whose data is gone) is one the model can pass on, not a failed reply.
    if (error instanceof AppError) return { error: error.message } satisfies ToolError;
    throw error;
  }
}

async function toolOutput(deps: ApiDeps, scope: ToolScope, name: string, input: unknown): Promise<unknown> {
  const args = (typeof input === 'object' && input !== null ? input : {}) as Args;
  const files = await projectFiles(deps, scope);
  switch (name) {
    case 'list_files':
      return { files: fileSummaries(files) };
    case 'describe_file':
      return describeFile(deps, files, args);
    case 'run_sql':
      return runSql(deps, scope, files, text(args, 'sql') ?? '');
    case 'make_chart':
      return makeChart(deps, scope, args);
    case 'save_table':
      return saveTable(deps, scope, text(args, 'queryId') ?? '', text(args, 'filename') ?? '');
    default:
      return {
        error: `There is no tool called ${name}.`,
        hint: `Tools: ${TOOL_SPECS.map((tool) => tool.name).join(', ')}.`,
      };
  }
}

async function describeFile(deps: ApiDeps, files: FileRecord[], args: Args) {
  const wanted = text(args, 'filename') ?? '';
  const rows =
    typeof args.rows === 'number'
      ? Math.min(Math.max(Math.trunc(args.rows), 1), DESCRIBE_ROWS.max)
      : DESCRIBE_ROWS.default;
  const file = findFile(files, wanted);
  if (!file)
    return { error: `No file named "${wanted}" in this project.`, files: files.map((f) => f.filename) };
  const [summary] = fileSummaries([file]);
  const table = readyTables(files).find((ready) => ready.file.fileId === file.fileId);
  if (!table) return summary;
  return {
    name: file.filename,
    table: table.name,
    profile: table.metadata,
    firstRows: await readPreview(deps, file, rows),
  };
}

const MAX_SQL_CHARS = 20_000;

async function runSql(
  deps: ApiDeps,
  scope: ToolScope,
  files: FileRecord[],
  sql: string,
): Promise<RunSqlOutput | ToolError> {
  // Ids count every query, failed ones too: taken while the query runs, not before it.
  const [queryId, { outcome, sourceFileIds }] = await Promise.all([
    nextQueryId(deps, scope),
    queryTables(deps, scope, files, sql),
  ]);
  if (queryId === null) return { error: 'This chat no longer exists.' };
  if (!outcome.ok) return { error: outcome.error, ...(outcome.hint ? { hint: outcome.hint } : {}) };
  await keepResult(deps, scope, {
    queryId,
    sql,
    columns: outcome.columns,
    rows: outcome.rows,
    rowCount: outcome.rowCount,
    truncated: outcome.rowCount > outcome.rows.length,
    sourceFileIds,
  });
  return {
    queryId,
    columns: outcome.columns,
    rows: outcome.rows.slice(0, FIRST_ROWS),
    rowCount: outcome.rowCount,
    truncated: outcome.rowCount > FIRST_ROWS,
  };
}

/** Runs `sql` over the project's ready tables, bringing to the engine only those it names. */
async function queryTables(
  deps: ApiDeps,
  scope: ToolScope,
  files: FileRecord[],
  sql: string,
): Promise<{ outcome: QueryOutcome; sourceFileIds: string[] }> {
  if (sql.trim() === '')
    return { outcome: { ok: false, error: 'Write the SQL to run in `sql`.' }, sourceFileIds: [] };
  if (sql.length > MAX_SQL_CHARS) {
    return {
      outcome: { ok: false, error: `A query can be at most ${MAX_SQL_CHARS} characters.` },
      sourceFileIds: [],
    };
  }
  const tables = readyTables(files);
  // A project may have many tables; fetching one costs a download the first time.
  const named = tables.filter((table) => new RegExp(`\\b${table.name}\\b`, 'i').test(sql));
  const local: QueryTable[] = await Promise.all(
    named.map(async (table) => ({
      name: table.name,
      path: await deps.tables.pathOf({
        fileId: table.file.fileId,
        objectKey: table.file.objectKey,
        tableKey: tableObjectKey(table.file.projectId, table.file.fileId),
        delimiter: table.metadata.delimiter,
      }),
      columns: table.metadata.columns.map((column) => ({ name: column.name, type: column.type })),
    })),
  );
  const catalog = tables.map((table) => ({
    name: table.name,
    columns: table.metadata.columns.map((column) => ({ name: column.name, type: column.type })),
  }));
  const outcome = await deps.queryWork.run(scope.userId, () => runQuery(local, sql, deps.queries, catalog));
  return { outcome, sourceFileIds: named.map((table) => table.file.fileId) };
}

const notKept = (queryId: string): ToolError => ({
  error: `There is no kept result ${queryId || '(none given)'} in this chat.`,
  hint: 'Run the query with run_sql and use the queryId it returns (a chat keeps its last 100 results).',
});

async function makeChart(deps: ApiDeps, scope: ToolScope, args: Args): Promise<MakeChartOutput | ToolError> {
  const queryId = text(args, 'queryId') ?? '';
  const mark = text(args, 'mark') ?? '';
  const title = (text(args, 'title') ?? '').trim().slice(0, 200);
  if (!(CHART_MARKS as readonly string[]).includes(mark)) {
    return { error: `The mark "${mark}" is not one of ${CHART_MARKS.join(', ')}.` };
  }
  if (title === '') return { error: 'Give the chart a title.' };
  const result = await readResult(deps, scope, queryId);
  if (!result) return notKept(queryId);
  const spec = buildChart(result, {
    mark: mark as ChartMark,
    x: text(args, 'x') ?? '',
    y: text(args, 'y') ?? '',
    color: text(args, 'color'),
    title,
  });
  if ('error' in spec) return spec as ToolError;
  const body = JSON.stringify(spec);
  const filename = `${safeFileStem(title)}.vl.json`;
  return generateFile(deps, scope, {
    result,
    filename,
    contentType: VEGA_LITE_CONTENT_TYPE,
    body,
    status: 'COMPLETED',
  });
}

async function saveTable(
  deps: ApiDeps,
  scope: ToolScope,
  queryId: string,
  wanted: string,
): Promise<SaveTableOutput | ToolError> {
  const result = await readResult(deps, scope, queryId);
  if (!result) return notKept(queryId);
  if (result.rowCount > result.rows.length) {
    return {
      error: `${queryId} has ${result.rowCount} rows, and only ${result.rows.length} are kept: it cannot be saved whole.`,
      hint: 'Aggregate or filter in SQL so that the result has at most 10,000 rows, then save that.',
    };
  }
  const named = /\.csv$/i.test(wanted.trim()) ? wanted.trim() : `${wanted.trim()}.csv`;
  const checked = filenameInput.safeParse(named);
  if (!checked.success)
    return { error: `"${named}" cannot be a file name: ${checked.error.issues[0]?.message}.` };
  const made = await generateFile(deps, scope, {
    result,
    filename: checked.data,
    contentType: 'text/csv',
    body: toCsv(
      result.columns.map((column) => column.name),
      result.rows,
    ),
    status: 'PROCESSING',
  });
  if ('error' in made) return made;
  const processed = await processGeneratedTable(deps, made.file);
  if (processed.status !== 'COMPLETED') {
    return { error: `The table could not be saved: ${processed.failureReason ?? 'processing failed'}.` };
  }
  const table = readyTables(await projectFiles(deps, scope)).find(
    (ready) => ready.file.fileId === processed.fileId,
  );
  return { fileId: processed.fileId, filename: processed.filename, table: table?.name ?? '' };
}

/** Writes the object, then its record (counted in the user's storage), with where it came from. */
async function generateFile(
  deps: ApiDeps,
  scope: ToolScope,
  input: {
    result: { sql: string; sourceFileIds: string[] };
    filename: string;
    contentType: string;
    body: string;
    status: 'COMPLETED' | 'PROCESSING';
  },
): Promise<(MakeChartOutput & { file: FileRecord }) | ToolError> {
  const fileId = newId();
  const objectKey = fileObjectKey(scope.projectId, fileId);
  await deps.storage.putObject(objectKey, input.body, input.contentType);
  const created = await createGeneratedFile(deps.db, {
    fileId,
    userId: scope.userId,
    projectId: scope.projectId,
    filename: input.filename,
    contentType: input.contentType,
    size: Buffer.byteLength(input.body),
    objectKey,
    provenance: {
      sessionId: scope.sessionId,
      messageId: scope.messageId,
      sql: input.result.sql,
      sourceFileIds: input.result.sourceFileIds,
    },
    status: input.status,
    now: deps.clock.now(),
    maxStoredBytes: deps.quotas.maxStoredBytes,
  });
  if (created.outcome === 'created') return { fileId, filename: input.filename, file: created.file };
  await deps.storage.delete(objectKey);
  if (created.outcome === 'project-gone') return { error: 'This project no longer exists.' };
  return {
    error: `Saving it would pass this account's storage limit of ${formatBytes(deps.quotas.maxStoredBytes)}.`,
    hint: 'Ask the user to delete files they no longer need.',
  };
}

/** A title as a file name: no path separators or control characters. */
function safeFileStem(title: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is replaced
  return title.replace(/[/\\\u0000-\u001f\u007f]/g, '-').trim() || 'chart';
}

/** RFC 4180: fields with a comma, quote or line break are quoted, quotes doubled; nulls are empty. */
export function toCsv(columns: string[], rows: unknown[][]): string {
  const field = (value: unknown) => {
    if (value === null || value === undefined) return '';
    const text = String(value);
    return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
  };
  return `${[columns, ...rows].map((row) => row.map(field).join(',')).join('\n')}\n`;
}
