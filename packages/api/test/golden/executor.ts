import { readFileSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';
import { sqlIdentifier, sqlString } from '../../src/analysis/duckdb.js';
import { baseTableName } from '../../src/analysis/table-names.js';
import type { CellValue, RunSqlOutput, ToolError } from '../../src/chat/schema.js';
import { runTool } from '../../src/chat/tools.js';
import { createTestApi, postToPresignedUrl, signUp } from '../helpers.js';
import type { GoldenFile } from './generate.js';

export interface SqlResult {
  columns: { name: string; type: string }[];
  rows: CellValue[][];
}

/**
 * Runs one question's SQL over the golden tables. The golden test runs every question through each executor it
 * knows: DuckDB directly (below), and the product's own `run_sql` path once it exists.
 */
export type SqlExecutor = (sql: string) => Promise<SqlResult>;

export interface OpenExecutor {
  execute: SqlExecutor;
  close(): Promise<void>;
}

/** An in-memory DuckDB with one view per file, the way the app exposes a project's files to SQL. */
export async function openDuckDbExecutor(files: GoldenFile[]): Promise<OpenExecutor> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  for (const file of files) {
    await connection.run(
      `CREATE VIEW ${sqlIdentifier(baseTableName(file.filename))} AS SELECT * FROM read_csv(${sqlString(file.path)})`,
    );
  }
  return {
    execute: async (sql) => {
      const reader = await connection.runAndReadAll(sql);
      return {
        columns: reader.columnNames().map((name, i) => ({ name, type: String(reader.columnType(i)) })),
        rows: reader.getRowsJson().map((row) => row.map(toCell)),
      };
    },
    close: async () => {
      connection.closeSync();
      instance.closeSync();
    },
  };
}

/**
 * The product's own path: the files uploaded and confirmed like a user's (each becomes a Parquet table), and
 * each SQL run by the `run_sql` tool in a chat of that project.
 */
export async function openRunSqlExecutor(files: GoldenFile[]): Promise<OpenExecutor> {
  const api = await createTestApi();
  const account = await signUp(api);
  const project = await account.as.project.create({ name: 'Golden' });
  for (const file of files) {
    const content = readFileSync(file.path);
    const { file: record, upload } = await account.as.file.createUpload({
      projectId: project.id,
      filename: file.filename,
      size: content.length,
      contentType: 'text/csv',
    });
    await postToPresignedUrl(upload, content);
    const confirmed = await account.as.file.confirm({ fileId: record.id });
    if (confirmed.status !== 'COMPLETED') throw new Error(`${file.filename}: ${confirmed.failureReason}`);
  }
  const session = await account.as.session.create({ projectId: project.id });
  const scope = {
    userId: account.user.id,
    projectId: project.id,
    sessionId: session.id,
    messageId: 'golden',
  };
  return {
    execute: async (sql) => {
      const output = (await runTool(api.deps, scope, 'run_sql', { sql })) as RunSqlOutput | ToolError;
      if ('error' in output) throw new Error(`${output.error} ${output.hint ?? ''}`);
      return { columns: output.columns, rows: output.rows };
    },
    close: () => api.close(),
  };
}

/** The JSON helpers give wide integers and decimals as strings, lists and structs as JSON: keep scalars only. */
function toCell(value: unknown): CellValue {
  if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
    return value;
  return JSON.stringify(value);
}
