import { type FileRecord, listFiles } from '@leonidas/db';
import type { ApiDeps } from '../context.js';
import { previewObjectKey } from '../file/keys.js';
import { type CsvMetadata, previewOutput } from '../file/schema.js';
import type { ToolSpec } from './llm/types.js';

export const TOOL_SPECS: ToolSpec[] = [
  {
    name: 'list_files',
    description: 'List the files of this project: name, status, size, row count and column names.',
    inputSchema: { type: 'object', properties: {}, additionalProperties: false },
  },
  {
    name: 'describe_file',
    description:
      'Profile of one file (row count; per column: type, nulls, distinct values, min, max, mean) and its first rows.',
    inputSchema: {
      type: 'object',
      properties: {
        filename: { type: 'string', description: 'The file name as list_files shows it' },
        rows: {
          type: 'integer',
          minimum: 1,
          maximum: 20,
          description: 'How many first rows to include (default 5)',
        },
      },
      required: ['filename'],
      additionalProperties: false,
    },
  },
];

export interface ToolScope {
  projectId: string;
}

/** The project's files, newest first (the first 100: what a conversation can reasonably hold). */
export async function projectFiles(deps: ApiDeps, scope: ToolScope): Promise<FileRecord[]> {
  return (await listFiles(deps.db, { projectId: scope.projectId, limit: 100 })).items;
}

export function fileSummary(file: FileRecord) {
  const metadata = file.metadata as CsvMetadata | undefined;
  return {
    name: file.filename,
    status: file.status === 'COMPLETED' ? 'ready' : file.status.toLowerCase(),
    sizeBytes: file.size,
    ...(metadata
      ? { rowCount: metadata.rowCount, columns: metadata.columns.map((column) => column.name) }
      : {}),
    ...(file.failureReason ? { failureReason: file.failureReason } : {}),
  };
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

/** Runs a tool for the model. Errors a person could fix come back as `{ error }` for the model to relay. */
export async function runTool(
  deps: ApiDeps,
  scope: ToolScope,
  name: string,
  input: unknown,
): Promise<unknown> {
  const files = await projectFiles(deps, scope);
  if (name === 'list_files') return { files: files.map(fileSummary) };
  if (name === 'describe_file') {
    const args = (typeof input === 'object' && input !== null ? input : {}) as {
      filename?: unknown;
      rows?: unknown;
    };
    const wanted = typeof args.filename === 'string' ? args.filename : '';
    const rows = typeof args.rows === 'number' ? Math.min(Math.max(Math.trunc(args.rows), 1), 20) : 5;
    const file = findFile(files, wanted);
    if (!file) {
      return { error: `No file named "${wanted}" in this project.`, files: files.map((f) => f.filename) };
    }
    if (file.status !== 'COMPLETED') return fileSummary(file);
    const preview = previewOutput.parse(
      await deps.storage.getJson(previewObjectKey(file.projectId, file.fileId)),
    );
    return {
      name: file.filename,
      profile: file.metadata as CsvMetadata,
      firstRows: { columns: preview.columns, rows: preview.rows.slice(0, rows) },
    };
  }
  return { error: `There is no tool called ${name}.` };
}
