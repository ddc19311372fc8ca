import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import {
  createTestApi,
  postToPresignedUrl,
  signUp,
  sourceScanWorker,
  type TestApi,
} from '../../test/helpers.js';
import { formatBytes } from '../quotas.js';
import { FileWork, MAX_COLUMN_NAMES_BYTES, SMALL_FILE_BYTES } from './processing.js';

/**
 * Valid CSVs that once ended FAILED as "a problem on our side" (or with a wrong reason), through the real path:
 * presigned POST to the object store, `file.confirm`, the record in DynamoDB Local. Expected values are DuckDB's
 * own answers on the same file (`read_csv` then min/max/avg cast to VARCHAR), reported by the rule in
 * `analysis/profile.ts`: a JSON number when finite, within ±(2^53 - 1) and not below 1e-130 in magnitude;
 * otherwise min/max as DuckDB's text and no mean.
 */

let api: TestApi;
let owner: Awaited<ReturnType<typeof signUp>>;
let projectId: string;
beforeAll(async () => {
  api = await createTestApi();
  owner = await signUp(api);
  projectId = (await owner.as.project.create({ name: 'Special values' })).id;
});
afterAll(() => api.close());

/** Uploads `csv` into the project by presigned POST, as a browser does; the new file's id. */
async function uploaded(account: typeof owner, project: string, filename: string, csv: string) {
  const { file, upload } = await account.as.file.createUpload({
    projectId: project,
    filename,
    size: Buffer.byteLength(csv),
    contentType: 'text/csv',
  });
  expect(await postToPresignedUrl(upload, csv)).toBe(204);
  return file.id;
}

async function confirmUpload(csv: string) {
  return owner.as.file.confirm({ fileId: await uploaded(owner, projectId, 'values.csv', csv) });
}

describe('special values profile as such', () => {
  it('nan, inf/-inf, an overflowing mean, a 29-digit integer, 64-bit extremes and 1e-300', async () => {
    const csv =
      'ratio,signal,huge,long_id,id64,tiny\n' +
      'nan,1.25,1e308,12345678901234567890123456789,9223372036854775807,1e-300\n' +
      '0.5,inf,1e308,2,-9223372036854775808,0.5\n' +
      '1.5,-inf,1e308,3,1,2\n' +
      '2.5,2,1,4,2,3\n' +
      '3.5,3,2,5,3,4\n';
    const file = await confirmUpload(csv);
    expect(file.failureReason).toBeUndefined();
    expect(file.status).toBe('COMPLETED');
    expect(file.metadata?.rowCount).toBe(5);
    expect(file.metadata?.columns).toEqual([
      // DuckDB: min 0.5, max nan (it orders NaN last), avg nan.
      { name: 'ratio', type: 'number', nullCount: 0, distinctCount: 5, min: 0.5, max: 'nan' },
      { name: 'signal', type: 'number', nullCount: 0, distinctCount: 5, min: '-inf', max: 'inf' },
      // The sum overflows: DuckDB's avg is inf.
      { name: 'huge', type: 'number', nullCount: 0, distinctCount: 3, min: 1, max: '1e+308' },
      // DuckDB reads a 29-digit integer as DOUBLE; its avg (2.469e27) is past 2^53.
      {
        name: 'long_id',
        type: 'number',
        nullCount: 0,
        distinctCount: 5,
        min: 2,
        max: '1.2345678901234568e+28',
      },
      // BIGINT extremes are past 2^53: exact as text, not rounded.
      {
        name: 'id64',
        type: 'integer',
        nullCount: 0,
        distinctCount: 5,
        min: '-9223372036854775808',
        max: '9223372036854775807',
        mean: 1,
      },
      // DynamoDB's smallest number is 1e-130.
      { name: 'tiny', type: 'number', nullCount: 0, distinctCount: 5, min: '1e-300', max: 4, mean: 1.9 },
    ]);
    expect(await owner.as.file.byId({ fileId: file.id })).toEqual(file);
    expect((await owner.as.file.preview({ fileId: file.id, limit: 2 })).rows).toEqual([
      ['nan', 1.25, 1e308, 1.2345678901234568e28, '9223372036854775807', 1e-300],
      [0.5, 'inf', 1e308, 2, '-9223372036854775808', 0.5],
    ]);
  });

  it('a date column holding -inf, which DuckDB reads as -infinity', async () => {
    const file = await confirmUpload('flag;day;n\nfalse;-inf;1\ntrue;2024-05-01;2\nfalse;2023-01-31;3\n');
    expect(file.status).toBe('COMPLETED');
    expect(file.metadata?.columns[1]).toEqual({
      name: 'day',
      type: 'date',
      nullCount: 0,
      distinctCount: 3,
      min: '-infinity',
      max: '2024-05-01',
    });
    expect((await owner.as.file.preview({ fileId: file.id, limit: 1 })).rows).toEqual([
      [false, '-infinity', 1],
    ]);
  });
});

describe('column names too long to keep', () => {
  /** 1,000 columns (the most a file may have), each name `nameBytes` long, and two rows of long numbers. */
  const wide = (nameBytes: number) => {
    const names = Array.from({ length: 1000 }, (_, i) =>
      `c${String(i).padStart(4, '0')}`.padEnd(nameBytes, 'x'),
    );
    const row = (base: number) => names.map((_, i) => `${base + i}.123456789012345`).join(',');
    return `${names.join(',')}\n${row(1_000_000)}\n${row(-2_000_000)}\n`;
  };

  it('keeps a file whose names fill the budget, with every statistic of 1,000 columns', async () => {
    const perName = Math.floor(MAX_COLUMN_NAMES_BYTES / 1000);
    const file = await confirmUpload(wide(perName));
    expect(file.failureReason).toBeUndefined();
    expect(file.status).toBe('COMPLETED');
    expect(file.metadata?.columns).toHaveLength(1000);
    // The values as written: the statistics are kept whole, beside the names.
    expect(file.metadata?.columns[999]).toMatchObject({
      min: Number(`${-2_000_000 + 999}.123456789012345`),
      max: Number(`${1_000_000 + 999}.123456789012345`),
    });
    expect((await owner.as.file.preview({ fileId: file.id, limit: 1 })).columns[0]).toHaveLength(perName);
  });

  it.each([
    ['just over the budget', Math.floor(MAX_COLUMN_NAMES_BYTES / 1000) + 4],
    ['a header of nearly 1 MB', 1000],
  ])(
    'fails a file with names %s, with the reason, and keeps nothing derived from it',
    async (_label, perName) => {
      const file = await confirmUpload(wide(perName));
      expect(file.status).toBe('FAILED');
      expect(file.failureReason).toBe(
        `The column names take ${formatBytes(perName * 1000)} in all; they can take at most 128 KB. Shorten them and upload the file again.`,
      );
      // Its table and preview go after the FAILED write, in the background.
      await api.deps.background.drain(30_000);
      const keys = await api.deps.storage.listKeys(`projects/${projectId}/`);
      expect(keys.filter((key) => key.includes(file.id))).toEqual([`projects/${projectId}/files/${file.id}`]);
    },
  );
});

describe('valid files that strict DuckDB cannot sniff', () => {
  it.each([
    [
      'a CR inside a quoted header and field',
      '"note\rtaken",qty\n"a",1\n"b\r\nc",2\n',
      2,
      ['note\rtaken', 'qty'],
    ],
    ['mixed CRLF and LF line ends', 'a,b\r\n1,x\n2,y\r\n3,z\n', 3, ['a', 'b']],
    // DuckDB's own guess takes '#' for a comment and drops that row.
    ['a data row starting with #', 'a,b\n1,x\n#2,y\n3,z\n', 3, ['a', 'b']],
  ])('%s', async (_label, csv, rowCount, names) => {
    const file = await confirmUpload(csv);
    expect(file.failureReason).toBeUndefined();
    expect(file.metadata?.rowCount).toBe(rowCount);
    expect(file.metadata?.columns.map((column) => column.name)).toEqual(names);
  });
});

describe('small files beside large ones', () => {
  it('run in a lane of their own: a large file in the only slot does not hold one up', async () => {
    const lanes = new FileWork({ perServer: 1, perUser: 1 });
    const order: string[] = [];
    let releaseLarge: () => void = () => undefined;
    const large = lanes.run('a', SMALL_FILE_BYTES + 1, async () => {
      order.push('large started');
      await new Promise<void>((resolve) => {
        releaseLarge = resolve;
      });
      order.push('large done');
    });
    const nextLarge = lanes.run('b', 2 * SMALL_FILE_BYTES, async () => {
      order.push('next large started');
    });
    await lanes.run('b', SMALL_FILE_BYTES, async () => {
      order.push('small done');
    });
    releaseLarge();
    await Promise.all([large, nextLarge]);
    expect(order).toEqual(['large started', 'small done', 'large done', 'next large started']);
  });

  it('profiles a small upload while a large one is still processing, with one slot for large files', async () => {
    const lanesApi = await createTestApi({ FILE_PROCESSING_CONCURRENCY: '1', CONFIRM_WAIT_MS: '0' });
    onTestFinished(() => lanesApi.close());
    const [first, second] = [await signUp(lanesApi), await signUp(lanesApi)];
    const upload = async (account: typeof first, name: string, csv: string) =>
      uploaded(account, (await account.as.project.create({ name })).id, `${name}.csv`, csv);
    const rows = Array.from(
      { length: 1_200_000 },
      (_, i) => `${i},region ${i % 13},${(i * 0.37).toFixed(2)}`,
    );
    const largeCsv = `id,region,amount\n${rows.join('\n')}\n`;
    expect(Buffer.byteLength(largeCsv)).toBeGreaterThan(SMALL_FILE_BYTES);
    const largeId = await upload(first, 'large', largeCsv);
    const smallId = await upload(second, 'small', 'id,region\n1,north\n2,south\n');

    expect((await first.as.file.confirm({ fileId: largeId })).status).toBe('PROCESSING');
    expect((await second.as.file.confirm({ fileId: smallId })).status).toBe('PROCESSING');
    // Which one is profiled first: before the lanes, the small file waited for the large one's slot.
    const finished: string[] = [];
    while (finished.length < 2) {
      const [large, small] = await Promise.all([
        first.as.file.byId({ fileId: largeId }),
        second.as.file.byId({ fileId: smallId }),
      ]);
      for (const [name, file] of [
        ['large', large],
        ['small', small],
      ] as const) {
        expect(file.status).not.toBe('FAILED');
        if (file.status === 'COMPLETED' && !finished.includes(name)) finished.push(name);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(finished).toEqual(['small', 'large']);
  });
});

describe('large files scanned in a worker thread, as the built server does', () => {
  it('profile as when scanned in line, and a bad row deep in one fails naming its line', async () => {
    let workers = 0;
    const scanWorker = () => {
      workers++;
      return sourceScanWorker();
    };
    const workerApi = await createTestApi({ CONFIRM_WAIT_MS: '60000' }, { scanWorker });
    onTestFinished(() => workerApi.close());
    const account = await signUp(workerApi);
    const project = (await account.as.project.create({ name: 'Large' })).id;
    const rows = Array.from({ length: 600_000 }, (_, i) => `${i},region ${i % 13},${(i * 0.37).toFixed(2)}`);
    const csv = `id,region,amount\n${rows.join('\n')}\n`;
    expect(Buffer.byteLength(csv)).toBeGreaterThan(SMALL_FILE_BYTES);

    const inWorker = await account.as.file.confirm({
      fileId: await uploaded(account, project, 'a.csv', csv),
    });
    const inLine = await owner.as.file.confirm({ fileId: await uploaded(owner, projectId, 'a.csv', csv) });
    expect(inWorker.status).toBe('COMPLETED');
    // The same profile; a mean only to its last digits, since DuckDB's threads sum in no fixed order.
    const withoutMeans = (file: typeof inLine) =>
      file.metadata?.columns.map(({ mean: _mean, ...column }) => column);
    expect(withoutMeans(inWorker)).toEqual(withoutMeans(inLine));
    expect(inWorker.metadata?.rowCount).toBe(inLine.metadata?.rowCount);
    expect(inWorker.metadata?.columns[2]?.mean).toBeCloseTo(inLine.metadata?.columns[2]?.mean ?? 0, 6);
    expect(inWorker.metadata?.columns.map((column) => column.type)).toEqual(['integer', 'string', 'number']);

    const bad = rows.map((row, i) => (i === 400_000 ? `${row},extra` : row));
    const refused = await account.as.file.confirm({
      fileId: await uploaded(account, project, 'b.csv', `id,region,amount\n${bad.join('\n')}\n`),
    });
    expect(refused).toMatchObject({
      status: 'FAILED',
      failureReason:
        'Line 400002 has 4 fields, but the header (line 1) has 3. Every row needs the same number of fields.',
    });
    expect(workers).toBe(2);
    // A small file is scanned in line: a worker costs more to start than its scan.
    await account.as.file.confirm({ fileId: await uploaded(account, project, 'c.csv', 'a,b\n1,2\n') });
    expect(workers).toBe(2);
  }, 120_000);
});
