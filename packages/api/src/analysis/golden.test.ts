import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type OpenExecutor,
  openDuckDbExecutor,
  openRunSqlExecutor,
  type SqlResult,
} from '../../test/golden/executor.js';
import { type GoldenFile, generateGoldenData, goldenQuestions } from '../../test/golden/index.js';

/**
 * The golden questions against the golden data: each question's SQL must still give its literal answer, so the
 * generator, the SQL and the answers move together. Each executor is a way of running SQL over the project's
 * files: DuckDB reading the CSVs directly, and the product's `run_sql` tool over its Parquet tables.
 */
const executors: { name: string; open(files: GoldenFile[]): Promise<OpenExecutor> }[] = [
  { name: 'DuckDB directly', open: openDuckDbExecutor },
  { name: 'the run_sql tool', open: openRunSqlExecutor },
];

const dir = mkdtempSync(join(tmpdir(), 'leonidas-golden-'));
const files = generateGoldenData(dir);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('generates the same files every time', () => {
  const again = generateGoldenData(join(dir, 'again'));
  const digest = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
  expect(again.map((file) => digest(file.path))).toEqual(files.map((file) => digest(file.path)));
  expect(files.map(({ filename, rowCount }) => ({ filename, rowCount }))).toEqual([
    { filename: 'sales.csv', rowCount: 5000 },
    { filename: 'products.csv', rowCount: 40 },
    { filename: 'customers.csv', rowCount: 400 },
  ]);
});

it('names every question once', () => {
  const ids = goldenQuestions.map((question) => question.id);
  expect(new Set(ids).size).toBe(ids.length);
});

describe.each(executors)('golden answers through $name', ({ open }) => {
  let executor: OpenExecutor;
  beforeAll(async () => {
    executor = await open(files);
  });
  afterAll(() => executor?.close());

  it.each(goldenQuestions)('$id', async ({ sql, answer }) => {
    expect(numbersOf(await executor.execute(sql))).toEqual([answer].flat());
  });
});

/** The result's cells in reading order, as numbers: wide integers and decimals arrive as numeric strings. */
function numbersOf(result: SqlResult): number[] {
  return result.rows.flat().map((cell) => {
    const value = typeof cell === 'string' && /^-?\d+(\.\d+)?$/.test(cell) ? Number(cell) : cell;
    if (typeof value !== 'number') throw new Error(`not a number in the result: ${JSON.stringify(cell)}`);
    return value;
  });
}
