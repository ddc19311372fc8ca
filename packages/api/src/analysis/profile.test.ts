import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { scanCsv } from './csv-scan.js';
import { Analytics } from './duckdb.js';
import { generatedColumnNames, profileTable, writeCsvTable } from './profile.js';

const dir = mkdtempSync(join(tmpdir(), 'leonidas-profile-'));
const analytics = new Analytics({ memoryLimit: '256MB', threads: 2, tempDirectory: join(dir, 'spill') });
afterAll(async () => {
  await analytics.close();
  rmSync(dir, { recursive: true, force: true });
});

async function profileOf(content: string, previewRows = 50) {
  const path = join(dir, `p${Math.random()}.csv`);
  writeFileSync(path, content);
  const scan = await scanCsv(path);
  if (!scan.ok) throw new Error(scan.reason);
  // As processing does: the CSV read once into its Parquet table, then the table profiled.
  return analytics.withConnection(async (connection) => {
    const input = { path, delimiter: scan.delimiter, tablePath: `${path}.parquet` };
    const table = await writeCsvTable(connection, { ...input, firstRecord: scan.firstRecord });
    return profileTable(connection, { ...input, previewRows, ...table });
  });
}

/** A deterministic pseudo-random generator, so the data is varied but the test repeatable. */
function generator(seed: number) {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

describe('profiling a CSV', () => {
  it('matches statistics computed independently on generated data', async () => {
    const random = generator(42);
    const rows = Array.from({ length: 5000 }, (_, i) => {
      const amount = random() < 0.1 ? null : Math.round(random() * 100_000) / 100;
      const day = new Date(Date.UTC(2024, 0, 1) + Math.floor(random() * 365) * 86_400_000)
        .toISOString()
        .slice(0, 10);
      return {
        id: i + 1,
        amount,
        city: ['Paris', 'Zürich', 'Tōkyō', 'Lima', ''][Math.floor(random() * 5)] as string,
        day,
        active: random() < 0.5,
      };
    });
    const csv = [
      'id,amount,city,day,active',
      ...rows.map((r) => `${r.id},${r.amount ?? ''},${r.city},${r.day},${r.active}`),
    ].join('\n');

    const { profile, preview } = await profileOf(csv, 3);

    const amounts = rows.flatMap((r) => (r.amount === null ? [] : [r.amount]));
    const days = rows.map((r) => r.day).sort();
    const cities = rows.map((r) => r.city);
    expect(profile).toMatchObject({ rowCount: 5000, delimiter: ',', hasHeader: true, encoding: 'utf-8' });
    const [id, amount, city, day, active] = profile.columns;
    expect(id).toEqual({
      name: 'id',
      type: 'integer',
      nullCount: 0,
      distinctCount: 5000,
      min: 1,
      max: 5000,
      mean: 2500.5,
    });
    expect(amount).toMatchObject({
      name: 'amount',
      type: 'number',
      nullCount: rows.length - amounts.length,
      distinctCount: new Set(amounts).size,
      min: Math.min(...amounts),
      max: Math.max(...amounts),
    });
    expect(amount?.mean).toBeCloseTo(amounts.reduce((a, b) => a + b, 0) / amounts.length, 6);
    expect(city).toEqual({
      name: 'city',
      type: 'string',
      nullCount: cities.filter((c) => c === '').length,
      distinctCount: new Set(cities.filter((c) => c !== '')).size,
    });
    expect(day).toEqual({
      name: 'day',
      type: 'date',
      nullCount: 0,
      distinctCount: new Set(days).size,
      min: days[0],
      max: days.at(-1),
    });
    expect(active).toMatchObject({ name: 'active', type: 'boolean', nullCount: 0, distinctCount: 2 });

    expect(preview.columns).toEqual(['id', 'amount', 'city', 'day', 'active']);
    expect(preview.rows).toEqual(
      rows.slice(0, 3).map((r) => [r.id, r.amount, r.city === '' ? null : r.city, r.day, r.active]),
    );
  });

  it('reads semicolons, tabs, a BOM, quoted newlines and datetimes', async () => {
    const semicolons = await profileOf(
      '\uFEFFnom;montant;quand\n"Zoë; la ""grande""";1,5;2024-05-01 10:30:00\n"multi\nligne";2;2024-05-02 11:00:00\n',
    );
    expect(semicolons.profile.delimiter).toBe(';');
    expect(semicolons.profile.columns.map((c) => [c.name, c.type])).toEqual([
      ['nom', 'string'],
      ['montant', 'string'],
      ['quand', 'datetime'],
    ]);
    expect(semicolons.profile.columns[2]).toMatchObject({
      min: '2024-05-01T10:30:00',
      max: '2024-05-02T11:00:00',
    });
    expect(semicolons.preview.rows[0]).toEqual(['Zoë; la "grande"', '1,5', '2024-05-01T10:30:00']);
    expect(semicolons.preview.rows[1]?.[0]).toBe('multi\nligne');

    const tabs = await profileOf('a\tb\n1\tx\n2\ty\n');
    expect(tabs.profile).toMatchObject({ delimiter: '\t', rowCount: 2 });
  });

  /** DuckDB's own answer, from its sniffer reading the whole file (what processing no longer asks every time). */
  async function duckDbHasHeader(content: string, delimiter = ',') {
    const path = join(dir, `h${Math.random()}.csv`);
    writeFileSync(path, content);
    return analytics.withConnection(async (connection) => {
      const reader = await connection.runAndReadAll(
        `SELECT HasHeader FROM sniff_csv('${path}', delim='${delimiter}', quote='"', escape='"', comment='', skip=0, strict_mode=false, sample_size=-1)`,
      );
      return reader.getRowObjectsJson()[0]?.HasHeader === true;
    });
  }

  it.each([
    ['names', 'city,amount\nParis,1\nLima,2\n', true, ['city', 'amount']],
    ['no header', '1,2,3\n4,5,6\n', false, ['column0', 'column1', 'column2']],
    ['no header, strings', 'Paris,x\nLima,y\n', true, ['Paris', 'x']],
    ['no header, 11 columns', `${'1,'.repeat(10)}1\n${'2,'.repeat(10)}2\n`, false, generatedColumnNames(11)],
    ['a header of empty names', ',,\n1,2,3\n4,5,6\n', true, ['column0', 'column1', 'column2']],
    ['a header of quoted empty names', '"",""\n1,2\n', true, ['column0', 'column1']],
    ["a header naming DuckDB's own names", 'column0,column1\n1,2\n3,4\n', true, ['column0', 'column1']],
    ['a header with one empty name', 'a,,c\n1,2,3\n', true, ['a', 'column1', 'c']],
    ["no header, first row like DuckDB's names", 'column0,1\ncolumn0,2\n', false, ['column0', 'column1']],
  ])('tells a header as DuckDB does: %s', async (_label, content, hasHeader, names) => {
    const { profile } = await profileOf(content);
    expect(profile.hasHeader).toBe(hasHeader);
    expect(profile.hasHeader).toBe(await duckDbHasHeader(content));
    expect(profile.columns.map((column) => column.name)).toEqual(names);
  });

  it('names generated columns as DuckDB does', () => {
    expect(generatedColumnNames(3)).toEqual(['column0', 'column1', 'column2']);
    expect(generatedColumnNames(10).at(-1)).toBe('column9');
    expect(generatedColumnNames(11).slice(0, 2)).toEqual(['column00', 'column01']);
    expect(generatedColumnNames(101).at(-1)).toBe('column100');
  });
});

/**
 * A large file's types may come from DuckDB's sniff of its first rows, when the scan's shapes confirm them
 * (`value-shapes.ts`): the table must be the one DuckDB's whole-file detection gives, value for value. Files of
 * just over the sniffer's 20,480 rows, with columns whose later values do or do not change their type.
 */
describe('a large file typed from its first rows', () => {
  const kinds = {
    integers: (i: number) => String(i * 7 - 500),
    decimals: (i: number) => (i % 3 === 0 ? '' : `${i % 50}.${i % 7}5`),
    booleans: (i: number) => (i % 2 ? 'true' : 'false'),
    dates: (i: number) => new Date(Date.UTC(2000, 0, 1) + (i % 9000) * 86_400_000).toISOString().slice(0, 10),
    words: (i: number) => `w${i % 13}`,
    quoted: (i: number) => `"${i % 17}"`,
    // Empty all through DuckDB's sample, then numbers: the sample alone would call it VARCHAR.
    lateNumbers: (i: number) => (i < 20_600 ? '' : String(i)),
  } as const;
  // What a later row may hold instead: each is read by DuckDB as another type, or as the same one.
  const late = [
    '1.5',
    'x',
    'TRUE',
    '007',
    '2024-02-30',
    '2024-02-29',
    '99',
    '',
    '1e3',
    '-0',
    't',
    '12:30:00',
  ];
  const kindNames = Object.keys(kinds) as (keyof typeof kinds)[];

  async function bothWays(content: string) {
    const path = join(dir, `big${Math.random()}.csv`);
    writeFileSync(path, content);
    const scan = await scanCsv(path);
    if (!scan.ok) throw new Error(scan.reason);
    return analytics.withConnection(async (connection) => {
      const base = { path, delimiter: scan.delimiter, firstRecord: scan.firstRecord };
      const refused = (error: unknown) => ({ refused: String(error) });
      const sampled = await writeCsvTable(connection, {
        ...base,
        tablePath: `${path}.a.parquet`,
        records: scan.records,
        shapes: scan.shapes,
        sampledValues: scan.sampledValues,
      }).catch(refused);
      const whole = await writeCsvTable(connection, { ...base, tablePath: `${path}.b.parquet` }).catch(
        refused,
      );
      // A file DuckDB's own detection cannot read (its whole-file sniff can pick a type a later value breaks)
      // must be refused both ways.
      if ('refused' in whole || 'refused' in sampled) {
        expect(sampled).toEqual(whole);
        return undefined;
      }
      const difference = await connection.runAndReadAll(
        `SELECT (SELECT count(*) FROM (FROM '${path}.a.parquet' EXCEPT ALL FROM '${path}.b.parquet')) + (SELECT count(*) FROM (FROM '${path}.b.parquet' EXCEPT ALL FROM '${path}.a.parquet')) AS rows`,
      );
      const types = async (file: string) =>
        (await connection.runAndReadAll(`DESCRIBE FROM '${file}'`))
          .getRowObjectsJson()
          .map((row) => row.column_type);
      return {
        sampled,
        whole,
        differentRows: Number(difference.getRowObjectsJson()[0]?.rows),
        types: [await types(`${path}.a.parquet`), await types(`${path}.b.parquet`)],
      };
    });
  }

  it('gives the whole-file detection’s table, and is used when it can be', async () => {
    const detections: string[] = [];
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          columns: fc.array(fc.constantFrom(...kindNames), { minLength: 1, maxLength: 4 }),
          // Mostly with a header: a file without one is always detected whole (its names are DuckDB's).
          header: fc.constantFrom(true, true, true, false),
          bom: fc.boolean(),
          crlf: fc.boolean(),
          rows: fc.integer({ min: 20_700, max: 21_500 }),
          changes: fc.array(
            // Around the end of DuckDB's sample (20,480 rows), mostly after it.
            fc.record({
              column: fc.nat(3),
              row: fc.integer({ min: 20_440, max: 20_529 }),
              value: fc.constantFrom(...late),
            }),
            { maxLength: 2 },
          ),
        }),
        async ({ columns, header, bom, crlf, rows, changes }) => {
          const lines = header ? [columns.map((kind, i) => `${kind}${i}`).join(',')] : [];
          for (let row = 0; row < rows; row++) {
            const values = columns.map((kind) => kinds[kind](row));
            for (const change of changes) {
              if (change.row === row && change.column < values.length) values[change.column] = change.value;
            }
            lines.push(values.join(','));
          }
          const end = crlf ? '\r\n' : '\n';
          const result = await bothWays(`${bom ? '\uFEFF' : ''}${lines.join(end)}${end}`);
          if (!result) return;
          detections.push(result.sampled.detection);
          expect(result.whole.detection).toBe('whole file');
          expect(result.sampled.hasHeader).toBe(result.whole.hasHeader);
          expect(result.sampled.columns).toEqual(result.whole.columns);
          expect(result.types[0]).toEqual(result.types[1]);
          expect(result.differentRows).toBe(0);
        },
      ),
      { numRuns: 30, seed: 7 },
    );
    // Both ways were exercised.
    expect(detections.filter((detection) => detection === 'sample').length).toBeGreaterThan(5);
    expect(detections).toContain('whole file');
  }, 120_000);

  // Found by attacking the sampled path: each gave another table (or an error) before it was guarded.
  it.each([
    ['a column empty all through the sample', (i: number) => `${i},${i < 20_600 ? '' : 1}`, 'a,b', 20_700],
    ['a header cell of Unicode spaces', (i: number) => `${i},2`, '\u00a0,b', 20_700],
    ['no header, a column empty in the sample', (i: number) => `x,${i < 20_600 ? '' : 7}`, 'x,5', 20_700],
    // After a first line ending in LF, DuckDB ends a row at each CR too: twice the rows, and its sample ends
    // near line 10,240, before the first value.
    [
      'one column, CRLF rows after an LF header, empty at first',
      (i: number) => `${i < 10_300 ? '' : i % 1000}\r`,
      'amount',
      31_000,
    ],
  ] as const)('%s', async (_label, row, first, rows) => {
    const lines = [first, ...Array.from({ length: rows }, (_, i) => row(i))];
    const result = await bothWays(`${lines.join('\n')}\n`);
    if (!result) throw new Error('DuckDB refused the file');
    expect(result.sampled.detection).toBe('whole file');
    expect(result.sampled.columns).toEqual(result.whole.columns);
    expect(result.sampled.hasHeader).toBe(result.whole.hasHeader);
    expect(result.differentRows).toBe(0);
  });
});
