import type { CsvMetadata } from '../../file/schema.js';
import type { MakeChartOutput, RunSqlOutput, SaveTableOutput, ToolError } from '../schema.js';
import { COMMANDS_HELP } from './offline-requests.js';

export const NO_MODEL = [
  "I'm DS Bro in offline mode: no language model is configured, so I can't chat freely yet.",
  `What I can do right now: **list your files** ("what files do I have?"), **describe a file** ("describe sales.csv"), and analyse your data with commands:\n\n${COMMANDS_HELP}`,
  'To talk about anything else, set `LLM_PROVIDER=bedrock` (with `BEDROCK_MODEL_ID` and AWS credentials) or `LLM_PROVIDER=openai` (with `OPENAI_BASE_URL`, `OPENAI_API_KEY` and `OPENAI_MODEL`, which also covers Ollama, vLLM and llama.cpp) and restart the server.',
].join('\n\n');

export const HELP = [
  "Hey! I'm DS Bro, your data scientist. I'm running offline (no language model configured), but I can still work with your data:",
  "- `what files do I have?` lists the project's files",
  '- `describe sales.csv` profiles a file: rows, column types, nulls, distinct values, min/max/mean',
  '- `show the first 10 rows of sales.csv` shows the top of a file',
  COMMANDS_HELP,
  'Upload a CSV to the project and ask away.',
].join('\n');

/** Result rows shown in a reply; the rest are counted. */
const ROWS_SHOWN = 20;

type FileSummary = {
  name: string;
  table?: string;
  status: string;
  rowCount?: number;
  columns?: { name: string; type: string }[];
  failureReason?: string;
};
type Described = {
  name?: string;
  table?: string;
  error?: string;
  files?: string[];
  status?: string;
  failureReason?: string;
  profile?: CsvMetadata;
  firstRows?: { columns: string[]; rows: unknown[][] };
};

/** The reply to one of its own tool calls, written from the tool's result alone. */
export function answerFromTool(tool: string, result: unknown): string {
  if (isError(result) && tool !== 'describe_file') return errorAnswer(result);
  switch (tool) {
    case 'list_files':
      return listAnswer(((result as { files?: FileSummary[] }).files ?? []) as FileSummary[]);
    case 'run_sql':
      return queryAnswer(result as RunSqlOutput);
    case 'make_chart': {
      const chart = result as MakeChartOutput;
      return `Here is the chart, saved in the project as **${escapeMarkdown(chart.filename)}**.`;
    }
    case 'save_table': {
      const saved = result as SaveTableOutput;
      return `Saved as **${escapeMarkdown(saved.filename)}**: it is the table \`${saved.table}\` from now on.`;
    }
    default:
      return describeAnswer(result as Described);
  }
}

function isError(result: unknown): result is ToolError {
  return typeof result === 'object' && result !== null && 'error' in result;
}

function errorAnswer(result: ToolError): string {
  return [`That did not work: ${result.error}`, ...(result.hint ? ['', result.hint] : [])].join('\n');
}

function listAnswer(files: FileSummary[]): string {
  if (files.length === 0) return "This project has no files yet. Upload a CSV and I'll take a look.";
  const lines = files.map(
    (file) =>
      `| ${cell(file.name)} | ${file.table ? `\`${file.table}\`` : '-'} | ${file.status} | ${file.rowCount !== undefined ? formatNumber(file.rowCount) : '-'} | ${cell(file.columns?.map((column) => `${column.name} (${column.type})`).join(', ') ?? '-')} |`,
  );
  return [
    // Every number of a reply is checked against its tool results: counts the tool did not give are not written.
    files.length === 1 ? 'The file in this project:' : 'The files in this project:',
    '',
    '| File | Table | Status | Rows | Columns |',
    '|---|---|---|---:|---|',
    ...lines,
    '',
    'Say "describe <file name>" to profile one, or query the tables with `/sql SELECT ...`.',
  ].join('\n');
}

function queryAnswer(result: RunSqlOutput): string {
  const shown = result.rows.slice(0, ROWS_SHOWN);
  const count =
    result.rowCount === 0
      ? 'The query returned no rows.'
      : result.rowCount > shown.length
        ? `The query returned ${formatNumber(result.rowCount)} rows; the first ones are below.`
        : `The query returned ${formatNumber(result.rowCount)} row${result.rowCount === 1 ? '' : 's'}.`;
  return [
    `${count} (result \`${result.queryId}\`: \`/chart\` draws it, \`/save\` keeps it.)`,
    ...(shown.length > 0
      ? [
          '',
          ...markdownTable(
            result.columns.map((column) => column.name),
            shown,
          ),
        ]
      : []),
  ].join('\n');
}

function describeAnswer(described: Described): string {
  if (described.error) {
    const known = described.files?.length
      ? ` Files here: ${described.files.join(', ')}.`
      : ' This project has no files yet.';
    return `${described.error}${known}`;
  }
  if (!described.profile) {
    return `**${described.name}** is not ready yet (status: ${described.status}).${described.failureReason ? ` ${described.failureReason}` : ''}`;
  }
  const profile = described.profile;
  const delimiter = { ',': 'comma', ';': 'semicolon', '\t': 'tab', '|': 'pipe' }[profile.delimiter];
  const columns = profile.columns.map(
    (column) =>
      `| ${cell(column.name)} | ${column.type} | ${formatNumber(column.nullCount)} | ${formatNumber(column.distinctCount)} | ${formatValue(column.min)} | ${formatValue(column.max)} | ${formatValue(column.mean)} |`,
  );
  const first = described.firstRows;
  return [
    `**${described.name}** has **${formatNumber(profile.rowCount)} rows** in the columns below (${delimiter}-separated${profile.hasHeader ? ', with a header row' : ''})${described.table ? `; its table is \`${described.table}\`` : ''}.`,
    '',
    '| Column | Type | Nulls | Distinct | Min | Max | Mean |',
    '|---|---|---:|---:|---:|---:|---:|',
    ...columns,
    ...(first
      ? [
          '',
          first.rows.length === 1 ? 'Its first row:' : 'Its first rows:',
          '',
          ...markdownTable(first.columns, first.rows),
        ]
      : []),
  ].join('\n');
}

function markdownTable(columns: string[], rows: unknown[][]): string[] {
  return [
    `| ${columns.map(cell).join(' | ')} |`,
    `|${columns.map(() => '---').join('|')}|`,
    ...rows.map((row) => `| ${row.map((value) => cell(formatCell(value))).join(' | ')} |`),
  ];
}

function formatCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  return typeof value === 'number' ? formatNumber(value) : String(value);
}

const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ');
const escapeMarkdown = (text: string) => text.replace(/[\\`*_[\]<>]/g, (character) => `\\${character}`);

export function formatNumber(value: number): string {
  // Four decimals would round a small value to 0: it is written as computed instead (1e-7, 0.00002).
  if (value !== 0 && Math.abs(value) < 1e-4) return String(value);
  return value.toLocaleString('en-US', { maximumFractionDigits: 4 });
}

function formatValue(value: number | string | undefined): string {
  if (value === undefined) return '-';
  return typeof value === 'number' ? formatNumber(value) : value;
}
