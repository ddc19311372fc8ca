import { DuckDBInstance } from '@duckdb/node-api';
import { sqlIdentifier, sqlString } from '../../src/analysis/duckdb.js';
import type { CellValue } from '../../src/chat/schema.js';
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

/** The table a file becomes, by the rule of design.md ("Analysis"); the golden files never clash. */
export function tableNameOf(filename: string): string {
  const name = filename
    .toLowerCase()
    .replace(/\.[^.]*$/, '')
    .replace(/[^a-z0-9_]/g, '_');
  return /^[0-9]/.test(name) ? `t_${name}` : name;
}

/** An in-memory DuckDB with one view per file, the way the app exposes a project's files to SQL. */
export async function openDuckDbExecutor(files: GoldenFile[]): Promise<OpenExecutor> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  for (const file of files) {
    await connection.run(
      `CREATE VIEW ${sqlIdentifier(tableNameOf(file.filename))} AS SELECT * FROM read_csv(${sqlString(file.path)})`,
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

/** The JSON helpers give wide integers and decimals as strings, lists and structs as JSON: keep scalars only. */
function toCell(value: unknown): CellValue {
  if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
    return value;
  return JSON.stringify(value);
}
