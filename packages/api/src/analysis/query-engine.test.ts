import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type QueryLimits, type QueryTable, runQuery } from './query-engine.js';

const dir = mkdtempSync(join(tmpdir(), 'leonidas-query-'));
const limits: QueryLimits = { timeoutMs: 2_000, memoryLimit: '256MB', threads: 2, maxRows: 10_000 };
let mine: QueryTable[];

/** A Parquet file written by DuckDB from CSV text, as processing writes one at confirm. */
async function parquetFrom(name: string, csv: string): Promise<QueryTable> {
  const folder = join(dir, name);
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, `${name}.csv`), csv);
  const path = join(folder, `${name}.parquet`);
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  await connection.run(
    `COPY (FROM read_csv('${join(folder, `${name}.csv`)}')) TO '${path}' (FORMAT parquet)`,
  );
  const described = await connection.runAndReadAll(`DESCRIBE FROM read_parquet('${path}')`);
  connection.closeSync();
  instance.closeSync();
  const columns = described
    .getRowObjectsJson()
    .map((row) => ({ name: String(row.column_name), type: String(row.column_type) }));
  return { name, path, columns };
}

/** DuckDB on the same data, directly: the reference every answer is compared with. */
async function direct(sql: string, tables: QueryTable[]) {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  for (const table of tables)
    await connection.run(`CREATE VIEW ${table.name} AS FROM read_parquet('${table.path}')`);
  const reader = await connection.runAndReadAll(sql);
  const rows = reader.getRowsJson();
  connection.closeSync();
  instance.closeSync();
  return rows;
}

beforeAll(async () => {
  const sales = Array.from(
    { length: 5_000 },
    (_, i) =>
      `${i},${['North', 'South', 'East'][i % 3]},2024-${String((i % 12) + 1).padStart(2, '0')}-15,${i % 17},${(i % 100) / 4}`,
  );
  mine = [
    await parquetFrom('sales', `id,region,day,units,price\n${sales.join('\n')}\n`),
    await parquetFrom('regions', 'region,manager\nNorth,Ada\nSouth,Grace\nEast,Édith\n'),
  ];
  // Another project's file: it exists on the same disk, and stays out of reach.
  await parquetFrom('secret', 'account,balance\nacme,1000000\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a query over the project tables', () => {
  it.each([
    [
      'a group-by',
      'SELECT region, sum(units) AS units, round(avg(price), 4) AS price FROM sales GROUP BY region ORDER BY region',
    ],
    [
      'a date filter',
      "SELECT count(*) AS orders, sum(units) FROM sales WHERE day BETWEEN DATE '2024-03-01' AND DATE '2024-03-31'",
    ],
    [
      'a join of two files',
      'SELECT r.manager, sum(s.units) AS units FROM sales s JOIN regions r USING (region) GROUP BY 1 ORDER BY 2 DESC',
    ],
    [
      'a window function',
      'SELECT region, day, units, rank() OVER (PARTITION BY region ORDER BY units DESC, id) AS r FROM sales QUALIFY r <= 2 ORDER BY region, r',
    ],
  ])('answers %s as DuckDB does', async (_label, sql) => {
    const outcome = await runQuery(mine, sql, limits);
    if (!outcome.ok) throw new Error(outcome.error);
    const expected = await direct(sql, mine);
    expect(outcome.rowCount).toBe(expected.length);
    expect(outcome.rows.map((row) => row.map(String))).toEqual(expected.map((row) => row.map(String)));
  });

  it('gives nested values (structs, lists, maps, intervals) as their JSON text', async () => {
    const sql =
      "SELECT {'region': region, 'units': units} AS pair, [units, units + 1] AS list, MAP {region: units} AS map, INTERVAL 1 DAY + INTERVAL (units) HOUR AS span FROM sales ORDER BY id LIMIT 3";
    const outcome = await runQuery(mine, sql, limits);
    if (!outcome.ok) throw new Error(outcome.error);
    expect(outcome.rows).toEqual(
      (await direct(sql, mine)).map((row) => row.map((value) => JSON.stringify(value))),
    );
  });

  it('keeps at most maxRows and counts the rest', async () => {
    const outcome = await runQuery(mine, 'SELECT * FROM sales', { ...limits, maxRows: 100 });
    expect(outcome).toMatchObject({ ok: true, rowCount: 5_000 });
    if (outcome.ok) expect(outcome.rows).toHaveLength(100);
  });
});

describe('a locked-down engine', () => {
  it.each([
    ['a file on disk', "SELECT * FROM read_csv('/etc/passwd')", /Only the tables of this project/],
    ['a file as text', "SELECT * FROM read_text('/etc/hostname')", /Only the tables of this project/],
    [
      'another project’s file by path',
      `SELECT * FROM read_parquet('${join(dir, 'secret', 'secret.parquet')}')`,
      /Only the tables of this project/,
    ],
    ['another project’s table by name', 'SELECT * FROM secret', /Table with name secret does not exist/],
    ['a listing of the disk', `SELECT * FROM glob('${dir}/*')`, /Only the tables of this project/],
    [
      'writing a file',
      `COPY sales TO '${join(dir, 'stolen.csv')}'`,
      /Only the tables of this project|Only a query that reads/,
    ],
    ['attaching a database', `ATTACH '${join(dir, 'x.db')}'`, /Only a query that reads/],
    ['installing an extension', 'INSTALL httpfs', /Only a query that reads/],
    ['loading an extension', 'LOAD httpfs', /Only a query that reads/],
    ['changing the configuration', 'SET threads = 8', /Only a query that reads/],
    ['creating a table', 'CREATE TABLE t AS SELECT 1', /Only a query that reads/],
    ['dropping a view', 'DROP VIEW sales', /Only a query that reads/],
    ['two statements', 'SELECT 1; SELECT 2', /one statement at a time/],
    ['nothing', '  -- just a comment', /no SQL statement/],
    ['a syntax error', 'SELEC 1', /^Parser Error: syntax error at or near "SELEC"/],
  ])('refuses %s, saying why', async (_label, sql, reason) => {
    const outcome = await runQuery(mine, sql, limits);
    expect(outcome).toMatchObject({ ok: false, error: expect.stringMatching(reason) });
    expect(existsSync(join(dir, 'stolen.csv'))).toBe(false);
    expect(existsSync(join(dir, 'x.db'))).toBe(false);
  });

  it('names the tables and their columns when a name is wrong', async () => {
    const outcome = await runQuery(mine, 'SELECT revenue FROM sales', limits);
    expect(outcome).toMatchObject({
      ok: false,
      hint: expect.stringContaining('sales(id BIGINT, region VARCHAR'),
    });
  });

  it('stops a runaway query at its time limit, and the next query runs', async () => {
    const started = Date.now();
    const runaway = await runQuery(mine, 'SELECT count(*) FROM range(100000000000) a', {
      ...limits,
      timeoutMs: 500,
    });
    expect(runaway).toMatchObject({
      ok: false,
      error: expect.stringMatching(/longer than 0.5 s and was stopped/),
    });
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(await runQuery(mine, 'SELECT count(*) AS n FROM sales', limits)).toMatchObject({
      ok: true,
      rows: [[5000]],
    });
  });

  it('holds its memory limit', async () => {
    const outcome = await runQuery(mine, 'SELECT a.id, list(b.region) FROM sales a, sales b GROUP BY a.id', {
      ...limits,
      memoryLimit: '32MB',
      timeoutMs: 20_000,
    });
    expect(outcome).toMatchObject({ ok: false, error: expect.stringMatching(/more memory than the 32MB/) });
  });

  it('writes nothing anywhere', () => {
    expect(readdirSync(dir).sort()).toEqual(['regions', 'sales', 'secret']);
  });
});
