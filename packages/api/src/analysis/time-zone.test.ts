import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import { Analytics } from './duckdb.js';
import { runQuery } from './query-engine.js';

// A server in Kathmandu (+05:45). DuckDB's time zone library reads TZ once, when DuckDB is first used: this file
// runs in a process of its own, and the first test checks the zone took.
const zone = process.env.TZ;
process.env.TZ = 'Asia/Kathmandu';
const dir = mkdtempSync(join(tmpdir(), 'leonidas-zone-'));
afterAll(() => {
  process.env.TZ = zone;
  rmSync(dir, { recursive: true, force: true });
});

const SQL =
  "SELECT CAST(TIMESTAMPTZ '2024-01-31 20:00:00+00' AS VARCHAR) AS at, CAST(date_trunc('month', TIMESTAMPTZ '2024-01-31 20:00:00+00') AS VARCHAR) AS month";
const UTC_ROW = ['2024-01-31 20:00:00+00', '2024-01-01 00:00:00+00'];

describe('times with a zone, on a server whose zone is not UTC', () => {
  it('are in the server’s zone in a DuckDB of no particular settings', async () => {
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    const rows = (await connection.runAndReadAll(SQL)).getRowsJson();
    connection.closeSync();
    instance.closeSync();
    // 20:00 UTC is 01:45 the next day in Kathmandu: another month.
    expect(rows).toEqual([['2024-02-01 01:45:00+05:45', '2024-02-01 00:00:00+05:45']]);
  });

  it('are in UTC in the queries DS Bro runs', async () => {
    const outcome = await runQuery([], SQL, {
      timeoutMs: 5_000,
      memoryLimit: '128MB',
      threads: 1,
      maxRows: 10,
    });
    if (!outcome.ok) throw new Error(outcome.error);
    expect(outcome.rows).toEqual([UTC_ROW]);
  });

  it('are in UTC where files are profiled', async () => {
    const analytics = new Analytics({ memoryLimit: '128MB', threads: 1, tempDirectory: dir });
    try {
      expect(
        await analytics.withConnection(async (connection) =>
          (await connection.runAndReadAll(SQL)).getRowsJson(),
        ),
      ).toEqual([UTC_ROW]);
    } finally {
      await analytics.close();
    }
  });
});
