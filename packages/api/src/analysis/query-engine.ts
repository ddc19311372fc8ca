import {
  type DuckDBConnection,
  DuckDBInstance,
  type DuckDBPreparedStatement,
  JsonDuckDBValueConverter,
  StatementType,
} from '@duckdb/node-api';
import type { CellValue, ToolError } from '../chat/schema.js';
import { sqlIdentifier, sqlString, UTC_SESSION } from './duckdb.js';
import { cellValue, columnType } from './profile.js';

/** A table a query may read: its name in SQL and the local Parquet file holding its rows. */
export interface QueryTable {
  name: string;
  path: string;
  columns: { name: string; type: string }[];
}

export interface QueryLimits {
  timeoutMs: number;
  memoryLimit: string;
  threads: number;
  /** Rows kept of a result; the rest are counted, not kept. */
  maxRows: number;
}

export type QueryOutcome =
  | { ok: true; columns: { name: string; type: string }[]; rows: CellValue[][]; rowCount: number }
  | ({ ok: false } & ToolError);

/**
 * Runs one read-only SQL statement over the given tables in a DuckDB of its own, locked down before the
 * statement is even parsed: it can read those tables' files and nothing else (no other path, no network, no
 * extension), cannot change its configuration, has its own memory limit and threads, and is interrupted when
 * it runs past its time. A new engine per query (made ahead, see `takeEngine`) leaves nothing behind between
 * queries.
 * `catalog`: every table of the project with its columns, named in the hint when a name was wrong (only the
 * tables the query uses need to be in `tables`).
 */
export async function runQuery(
  tables: QueryTable[],
  sql: string,
  limits: QueryLimits,
  catalog: Omit<QueryTable, 'path'>[] = tables,
): Promise<QueryOutcome> {
  const options = {
    memory_limit: limits.memoryLimit,
    threads: String(limits.threads),
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
  };
  const instance = await takeEngine(options);
  const connection = await instance.connect();
  try {
    await lockDown(connection, tables);
    const statement = await singleReadOnlyStatement(connection, sql, catalog);
    if ('error' in statement) return { ok: false, ...statement };
    return await withTimeLimit(connection, limits.timeoutMs, () => readResult(statement, limits.maxRows));
  } catch (error) {
    return { ok: false, ...explain(error, catalog, limits) };
  } finally {
    connection.closeSync();
    instance.closeSync();
    makeSpareEngine(options);
  }
}

/**
 * One engine made ahead, for the next query (making one is a good part of a small query's time): a query takes
 * it, and once the query is done the next is made, not while it runs. It is used by that query alone, which
 * locks it down before anything else.
 */
let spare: { options: string; engine: Promise<DuckDBInstance> } | undefined;

function takeEngine(options: Record<string, string>): Promise<DuckDBInstance> {
  const taken =
    spare?.options === JSON.stringify(options) ? spare.engine : DuckDBInstance.create(':memory:', options);
  spare = undefined;
  return taken;
}

function makeSpareEngine(options: Record<string, string>): void {
  if (spare) return;
  const engine = DuckDBInstance.create(':memory:', options);
  // A spare that failed to open is reported by the query that takes it, not as an unhandled rejection.
  engine.catch(() => undefined);
  spare = { options: JSON.stringify(options), engine };
}

async function lockDown(connection: DuckDBConnection, tables: QueryTable[]): Promise<void> {
  for (const table of tables) {
    await connection.run(
      `CREATE VIEW ${sqlIdentifier(table.name)} AS SELECT * FROM read_parquet(${sqlString(table.path)})`,
    );
  }
  // The views read their files when queried: exactly those files stay readable, nothing else.
  await connection.run(`SET allowed_paths = [${tables.map((table) => sqlString(table.path)).join(', ')}]`);
  await connection.run('SET enable_external_access = false');
  await connection.run(UTC_SESSION);
  await connection.run('SET lock_configuration = true');
}

/** Judged by DuckDB's own parser: exactly one statement, and it must be a query. */
async function singleReadOnlyStatement(
  connection: DuckDBConnection,
  sql: string,
  catalog: Omit<QueryTable, 'path'>[],
): Promise<DuckDBPreparedStatement | ToolError> {
  const statements = await connection.extractStatements(sql).catch((error: unknown) => {
    // The bindings fail this way, rather than count zero, for text with no statement at all (blank, comments).
    if (error instanceof Error && error.message === 'Error in native callback') return null;
    throw error;
  });
  if (statements === null || statements.count === 0) return { error: 'There is no SQL statement to run.' };
  if (statements.count > 1) {
    return { error: `Send one statement at a time; this has ${statements.count}.` };
  }
  const prepared = await statements.prepare(0);
  if (prepared.statementType !== StatementType.SELECT) {
    return {
      error:
        'Only a query that reads (SELECT, WITH ... SELECT) can run here; nothing can be changed or written.',
      hint: tableHint(catalog),
    };
  }
  return prepared;
}

async function readResult(
  statement: DuckDBPreparedStatement,
  maxRows: number,
): Promise<Extract<QueryOutcome, { ok: true }>> {
  const result = await statement.stream();
  const columns = result.columnNames().map((name, i) => ({ name, type: result.columnType(i).toString() }));
  const kinds = columns.map((column) => columnType(column.type));
  const rows: CellValue[][] = [];
  let rowCount = 0;
  for await (const chunk of result) {
    for (let row = 0; row < chunk.rowCount && rows.length < maxRows; row++) {
      rows.push(
        chunk
          .convertRowValues(row, JsonDuckDBValueConverter)
          .map((value, i) => cellValue(value, kinds[i] ?? 'string')),
      );
    }
    rowCount += chunk.rowCount;
  }
  return { ok: true, columns, rows, rowCount };
}

/** Interrupts the statement once `timeoutMs` has passed; the engine is thrown away afterwards anyway. */
async function withTimeLimit<T>(
  connection: DuckDBConnection,
  timeoutMs: number,
  work: () => Promise<T>,
): Promise<T> {
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    connection.interrupt();
  }, timeoutMs);
  try {
    return await work();
  } catch (error) {
    throw timedOut ? new QueryTimeoutError() : error;
  } finally {
    clearTimeout(timer);
  }
}

class QueryTimeoutError extends Error {
  override name = 'QueryTimeoutError';
}

/** An error the model can act on: DuckDB's own first line, and the tables when a name was wrong. */
function explain(error: unknown, catalog: Omit<QueryTable, 'path'>[], limits: QueryLimits): ToolError {
  if (error instanceof QueryTimeoutError) {
    return {
      error: `The query ran longer than ${limits.timeoutMs / 1000} s and was stopped.`,
      hint: 'Aggregate, filter or LIMIT so that less has to be computed.',
    };
  }
  const message =
    (error instanceof Error ? error.message : String(error))
      .replace(/^Failed to extract statements: /, '')
      .split('\n', 1)[0] ?? '';
  if (/^Out of Memory Error/.test(message)) {
    return {
      error: `The query needed more memory than the ${limits.memoryLimit} a query may use.`,
      hint: 'Aggregate or filter before joining, or select fewer columns.',
    };
  }
  if (/^Permission Error/.test(message)) {
    return {
      error: 'Only the tables of this project can be read; no other file, address or extension.',
      hint: tableHint(catalog),
    };
  }
  const wrongName = /^(Catalog|Binder) Error/.test(message);
  return { error: message.slice(0, 500), ...(wrongName ? { hint: tableHint(catalog) } : {}) };
}

function tableHint(tables: Omit<QueryTable, 'path'>[]): string {
  if (tables.length === 0) return 'This project has no ready files, so there are no tables yet.';
  return `Tables: ${tables
    .map(
      (table) =>
        `${table.name}(${table.columns.map((column) => `${column.name} ${column.type}`).join(', ')})`,
    )
    .join('; ')}`;
}
