import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestApi, type TestApi } from '../../test/helpers.js';
import { TableCache, type TableFile } from './table-cache.js';

let api: TestApi;
beforeAll(async () => {
  api = await createTestApi();
});
afterAll(() => api.close());

let n = 0;
/** A file whose "table" in storage is `bytes` long (the cache never reads what is inside). */
async function storedTable(bytes: number): Promise<TableFile> {
  const fileId = `f${Date.now()}x${n++}`;
  const file: TableFile = {
    fileId,
    objectKey: `projects/cache-test/files/${fileId}`,
    tableKey: `projects/cache-test/tables/${fileId}.parquet`,
    delimiter: ',',
  };
  await api.deps.storage.putObject(file.tableKey, Buffer.alloc(bytes, fileId), 'application/octet-stream');
  return file;
}

function cache(maxBytes: number, built: string[] = []) {
  const directory = mkdtempSync(join(tmpdir(), 'leonidas-cache-test-'));
  const tables = new TableCache({
    directory,
    maxBytes,
    storage: api.deps.storage,
    buildFromCsv: async (file, csvPath, tablePath) => {
      built.push(file.fileId);
      writeFileSync(tablePath, `built from ${readFileSync(csvPath, 'utf8')}`);
    },
  });
  return { tables, directory };
}

describe('TableCache', () => {
  it('fetches a table once however many queries ask at the same time', async () => {
    const file = await storedTable(1_000);
    const { tables, directory } = cache(1_000_000);
    const paths = await Promise.all(Array.from({ length: 5 }, () => tables.pathOf(file)));
    expect(new Set(paths).size).toBe(1);
    expect(readdirSync(directory)).toEqual([`${file.fileId}.parquet`]);
    expect(readFileSync(paths[0] ?? '').length).toBe(1_000);
  });

  it('builds and stores the table of a file processed before tables existed', async () => {
    const built: string[] = [];
    const { tables } = cache(1_000_000, built);
    const file = { ...(await storedTable(1)), tableKey: `projects/cache-test/tables/none-${n++}.parquet` };
    await api.deps.storage.putObject(file.objectKey, 'a,b\n1,2\n', 'text/csv');
    const path = await tables.pathOf(file);
    expect(readFileSync(path, 'utf8')).toBe('built from a,b\n1,2\n');
    expect(await api.deps.storage.size(file.tableKey)).toBe(readFileSync(path).length);
    expect(built).toEqual([file.fileId]);
  });

  it('fetches again a table removed from its folder under a running server', async () => {
    const file = await storedTable(100);
    const { tables, directory } = cache(1_000_000);
    const path = await tables.pathOf(file);
    rmSync(directory, { recursive: true });
    expect(existsSync(path)).toBe(false);
    // The folder itself is gone too: made again.
    await expect(tables.pathOf(file)).resolves.toBe(path);
    expect(existsSync(path)).toBe(true);
  });

  it('keeps tables picked up at start and drops leftovers of interrupted fetches', async () => {
    const file = await storedTable(100);
    const first = cache(1_000_000);
    await first.tables.pathOf(file);
    writeFileSync(join(first.directory, '.fetch-half'), 'cut off');
    await api.deps.storage.delete(file.tableKey);
    const restarted = new TableCache({
      directory: first.directory,
      maxBytes: 1_000_000,
      storage: api.deps.storage,
      buildFromCsv: () => Promise.reject(new Error('not expected')),
    });
    expect(readFileSync(await restarted.pathOf(file)).length).toBe(100);
    expect(readdirSync(first.directory)).toEqual([`${file.fileId}.parquet`]);
  });

  it('keeps within its size by dropping the least recently used tables, never one used in the last minute', async () => {
    // Only the clock moves (minutes, within the skew signed storage requests allow); I/O runs as usual.
    const start = Date.now();
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const { tables, directory } = cache(2_500);
      const a = await storedTable(1_000);
      const b = await storedTable(1_000);
      const c = await storedTable(1_000);
      const d = await storedTable(1_000);
      const held = () => readdirSync(directory).sort();
      const at = async (minute: number, file: TableFile) => {
        vi.setSystemTime(start + minute * 60_000);
        await tables.pathOf(file);
      };
      await at(0, a);
      await at(0.1, b);
      // 3,000 bytes, but every table was used in the last minute: a query may still be reading it.
      await at(0.5, c);
      expect(held()).toHaveLength(3);
      await at(2, a);
      // 4,000 bytes: the least recently used go until it fits, b then c; a, used again, stays.
      await at(3, d);
      expect(held()).toEqual([a, d].map((file) => `${file.fileId}.parquet`).sort());
    } finally {
      vi.useRealTimers();
    }
  });
});
