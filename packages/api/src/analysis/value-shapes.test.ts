import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { Analytics } from './duckdb.js';
import { ANY_SHAPE, confirmsType, Shape, shapeOf } from './value-shapes.js';

const shapeOfText = (text: string) => shapeOf(Buffer.from(text), 0, Buffer.byteLength(text));

const dir = mkdtempSync(join(tmpdir(), 'leonidas-shapes-'));
const analytics = new Analytics({ memoryLimit: '256MB', threads: 2, tempDirectory: join(dir, 'spill') });
afterAll(async () => {
  await analytics.close();
  rmSync(dir, { recursive: true, force: true });
});

const { Integer: INT, Double: DBL, Boolean: BOOL, Date: DATE } = Shape;

describe('shapeOfText', () => {
  it.each([
    ['', ANY_SHAPE],
    ['0', INT | DBL],
    ['42', INT | DBL],
    ['-7', INT | DBL],
    ['123456789012345', INT | DBL],
    ['1234567890123456', INT],
    ['123456789012345678', INT],
    ['1234567890123456789', 0],
    ['1.5', DBL],
    ['0.25', DBL],
    ['-0.5', DBL],
    ['true', BOOL],
    ['false', BOOL],
    ['2024-02-29', DATE],
    ['1999-12-31', DATE],
    ['1234567890', INT | DBL],
  ])('%j has the shapes %i', (value, shapes) => {
    expect(shapeOfText(value)).toBe(shapes);
  });

  it.each([
    // Forms DuckDB may read otherwise, or that are not the strict form of any type.
    '007',
    '-0',
    '00.5',
    '+1',
    ' 1',
    '1 ',
    '1.',
    '.5',
    '1e5',
    '1,5',
    'True',
    'TRUE',
    't',
    'yes',
    '2023-02-29',
    '2024-13-01',
    '2024-04-31',
    '0999-01-01',
    '2024-1-01',
    '2024/01/01',
    '2024-01-01 10:00:00',
    'nan',
    'inf',
    '-inf',
    '-',
    'x'.repeat(41),
  ])('%j has no shape', (value) => {
    expect(shapeOfText(value)).toBe(0);
  });
});

/**
 * The property the sampled detection rests on: a value of a shape is read as that shape's type by DuckDB's own
 * detection. Each value goes in a column beside a value that is only of that type; DuckDB must keep the type.
 */
describe('a shape is what DuckDB detects', () => {
  const partners: [number, string, string][] = [
    [INT, '1', 'BIGINT'],
    [DBL, '0.5', 'DOUBLE'],
    [BOOL, 'true', 'BOOLEAN'],
    [DATE, '2024-01-01', 'DATE'],
  ];

  async function detectedTypes(columns: [string, string][]) {
    const path = join(dir, `v${Math.random()}.csv`);
    const header = columns.map((_, i) => `c${i}`).join(',');
    const rows = [0, 1].map((row) => columns.map((column) => column[row]).join(','));
    writeFileSync(path, `${header}\n${rows.join('\n')}\n`);
    return analytics.withConnection(async (connection) => {
      const reader = await connection.runAndReadAll(
        `SELECT Columns, DateFormat FROM sniff_csv('${path}', delim=',', quote='"', escape='"', comment='', skip=0, strict_mode=false, sample_size=-1)`,
      );
      const row = reader.getRowObjectsJson()[0] as { Columns: { type: string }[]; DateFormat: string | null };
      return { types: row.Columns.map((column) => column.type), dateFormat: row.DateFormat };
    });
  }

  // Values built from the characters the shapes are made of, so that many have a shape and many nearly do.
  const valueArbitrary = fc.oneof(
    fc.stringMatching(/^-?[0-9]{1,20}(\.[0-9]{1,4})?$/),
    fc.stringMatching(/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/),
    fc
      .date({
        min: new Date('1000-01-01'),
        max: new Date('9999-12-31'),
        noInvalidDate: true,
      })
      .map((date) => date.toISOString().slice(0, 10)),
    fc.constantFrom('true', 'false', '0', '-0.0', '0.0', '1', '9007199254740993'),
  );

  it('for every generated value with a shape', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(valueArbitrary, { minLength: 20, maxLength: 40 }), async (values) => {
        const columns: [string, string][] = [];
        const expected: string[] = [];
        for (const value of values) {
          const shapes = shapeOfText(value);
          for (const [shape, partner, type] of partners) {
            if ((shapes & shape) === 0) continue;
            columns.push([value, partner]);
            expected.push(type);
          }
        }
        if (columns.length === 0) return;
        const detected = await detectedTypes(columns);
        expect(detected.types).toEqual(expected);
        // The types are confirmed from those shapes, the dates' format included.
        columns.forEach(([value], i) => {
          expect(confirmsType(expected[i] as string, shapeOfText(value), detected.dateFormat)).toBe(true);
        });
      }),
      { numRuns: 25, seed: 2026 },
    );
  });
});

describe('confirmsType', () => {
  it('confirms only a type the shapes name, and any VARCHAR', () => {
    expect(confirmsType('BIGINT', INT | DBL, null)).toBe(true);
    expect(confirmsType('BIGINT', DBL, null)).toBe(false);
    expect(confirmsType('DOUBLE', DBL, null)).toBe(true);
    expect(confirmsType('BOOLEAN', INT, null)).toBe(false);
    expect(confirmsType('DATE', DATE, '%Y-%m-%d')).toBe(true);
    expect(confirmsType('DATE', DATE, '%d-%m-%Y')).toBe(false);
    expect(confirmsType('TIMESTAMP', ANY_SHAPE, null)).toBe(false);
    expect(confirmsType('VARCHAR', 0, null)).toBe(true);
  });
});
