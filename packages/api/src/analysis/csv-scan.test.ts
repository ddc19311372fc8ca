import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CsvScanner, MAX_COLUMNS, MAX_RECORD_BYTES, SAMPLED_LINES, scanCsv } from './csv-scan.js';
import { ANY_SHAPE, Shape } from './value-shapes.js';

const dir = mkdtempSync(join(tmpdir(), 'leonidas-scan-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const scan = (content: string | Buffer) => {
  const path = join(dir, `f${n++}.csv`);
  writeFileSync(path, content);
  return scanCsv(path);
};

describe('scanCsv accepts', () => {
  it.each([
    ['commas', 'a,b\n1,2\n', ',', 2],
    ['a BOM and CRLF line ends', '\uFEFFa,b\r\n1,2\r\n3,4', ',', 3],
    ['quoted commas, quotes and newlines', 'name,note\n"Smith, J","said ""hi""\nand left"\nx,y\n', ',', 3],
    ['semicolons', 'a;b;c\n1;2,5;3\n', ';', 2],
    ['tabs', 'a\tb\n1\t2\n', '\t', 2],
    ['pipes', 'a|b\n1|2\n', '|', 2],
    ['one column', 'value\n1\n2\n', ',', 3],
    ['non-ASCII names and values', 'prénom,città\nZoë,Zürich\n日本,東京\n', ',', 3],
    ['blank lines', 'a,b\n\n1,2\n\n', ',', 2],
    ['empty fields', 'a,b,c\n,,\n1,,3\n', ',', 3],
  ])('%s', async (_label, content, delimiter, records) => {
    const result = await scan(content);
    expect(result).toMatchObject({ ok: true, delimiter, records });
  });

  it('a multi-byte character split across read chunks', async () => {
    const row = 'é,ü\n';
    // 1 MiB chunks: put a 2-byte character right on the boundary.
    const header = 'a,b\n';
    const filler = 'x'.repeat((1 << 20) - header.length - 1);
    const result = await scan(`${header}${filler},é\n${row.repeat(10)}`);
    expect(result).toMatchObject({ ok: true, records: 12 });
  });
});

describe('scanCsv refuses, saying why', () => {
  it.each([
    ['an empty file', '', 'The file is empty.'],
    ['only blank lines', '\n\r\n\n', 'The file is empty.'],
    ['a header without rows', 'a,b,c\n', 'The file has a header row but no data rows.'],
    ['binary data', Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x00, 0x01]), /not look like a text file/],
    [
      'Latin-1 text',
      Buffer.concat([Buffer.from('a,b\n1,2\n3,'), Buffer.from([0xe9]), Buffer.from('t\n')]),
      /not UTF-8 text \(the first byte that is not valid UTF-8 is on line 3\)/,
    ],
    [
      'UTF-16 (LE) text',
      Buffer.from('\uFEFFa,b\n1,2\n', 'utf16le'),
      /^The file is UTF-16 text\. Save it as UTF-8/,
    ],
    [
      'UTF-16 (BE) text',
      Buffer.from('\uFEFFa,b\n1,2\n', 'utf16le').swap16(),
      /^The file is UTF-16 text\. Save it as UTF-8/,
    ],
    ['a short row', 'a,b,c\n1,2,3\n4,5\n', /^Line 3 has 2 fields, but the header \(line 1\) has 3/],
    ['a long row after a multi-line field', 'a,b\n"x\ny",1\n1,2,3\n', /^Line 4 has 3 fields/],
    ['an unclosed quote', 'a,b\n1,"open\n2,3\n', /quoted field that starts on line 2 is never closed/],
    ['text after a closing quote', 'a,b\n"x"y,1\n', /^Line 2 has text right after a closing double quote/],
    [
      'a quote inside an unquoted field',
      'a,b\n1,2\nab"c,3\n',
      /^Line 3 has a double quote inside a field that is not quoted/,
    ],
  ])('%s', async (_label, content, reason) => {
    const result = await scan(content);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(reason);
  });
});

describe('scanCsv bounds its work', () => {
  /** Feeds `content` in chunks of `size` bytes, as storage may deliver it. */
  const scanInChunks = (content: Buffer, size: number) => {
    const scanner = new CsvScanner();
    for (let offset = 0; offset < content.length; offset += size) {
      const failure = scanner.push(content.subarray(offset, offset + size));
      if (failure) return { ok: false as const, reason: failure, readBytes: offset + size };
    }
    return { ...scanner.end(), readBytes: content.length };
  };

  it('stops at 1 MB a first row that never ends, however small the chunks', () => {
    const oneLine = Buffer.alloc(16 * 1024 * 1024, 'a');
    const started = performance.now();
    const result = scanInChunks(oneLine, 4096);
    expect(result).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^The first row is longer than 1 MB/),
    });
    expect(result.readBytes).toBeLessThanOrEqual(MAX_RECORD_BYTES + 4096);
    // Linear: about 1 MB looked at once, not 16 MB re-read at every chunk (which took 39 s).
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('stops at 1 MB a header whose quote never closes', () => {
    const unclosed = Buffer.from(`"a,b\n${'1,2\n'.repeat(4 * 1024 * 1024)}`);
    const result = scanInChunks(unclosed, 64 * 1024);
    expect(result).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/quote in its first row is never closed/),
    });
    expect(result.readBytes).toBeLessThanOrEqual(MAX_RECORD_BYTES + 64 * 1024);
  });

  it.each([
    ['quoted', (long: string) => `"${long}"`],
    ['unquoted', (long: string) => long],
    ['quoted over lines', (long: string) => `"l1\nl2\n${long}"`],
  ])('refuses a later row longer than 1 MB, naming its line: %s', async (_label, field) => {
    const result = await scan(`a,b\n"x\ny",2\n3,${field('x'.repeat(MAX_RECORD_BYTES))}\n5,6\n`);
    expect(result).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^The row that starts on line 4 is longer than 1 MB/),
    });
  });

  it('refuses a last row longer than 1 MB that has no line end, in one chunk', () => {
    const scanner = new CsvScanner();
    const failure = scanner.push(Buffer.from(`a,b\n1,2\n3,${'x'.repeat(MAX_RECORD_BYTES)}`));
    const result = failure === undefined ? scanner.end() : { ok: false, reason: failure };
    expect(result).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^The row that starts on line 3 is longer than 1 MB/),
    });
  });

  it('counts the lines inside quoted values when naming a later line', async () => {
    const result = await scan('a,b\n"one\ntwo\nthree",2\n3,4,5\n');
    expect(result).toMatchObject({ ok: false, reason: expect.stringMatching(/^Line 5 has 3 fields/) });
  });

  it('refuses more columns than the limit, saying how many', async () => {
    const header = Array.from({ length: 100_000 }, (_, i) => `c${i}`).join(',');
    const result = await scan(`${header}\n${'1,'.repeat(99_999)}1\n`);
    expect(result).toMatchObject({ ok: false, reason: 'This file has 100,000 columns; the limit is 1,000.' });
    expect(
      await scan(
        `${Array.from({ length: MAX_COLUMNS }, (_, i) => `c${i}`).join(',')}\n${'1,'.repeat(MAX_COLUMNS - 1)}1\n`,
      ),
    ).toMatchObject({ ok: true, fields: MAX_COLUMNS });
  });

  it('chooses the same delimiter whatever the chunking', () => {
    const content = Buffer.from('a;b;"c,d"\n1;2;3\n4;5;6\n');
    for (const size of [1, 2, 3, 7, content.length]) {
      expect(scanInChunks(content, size)).toMatchObject({ ok: true, delimiter: ';', records: 3, fields: 3 });
    }
  });
});

describe('scanCsv keeps the first line, for telling a header', () => {
  it.each([
    ['plain names', 'a,b\n1,2\n', ['a', 'b']],
    ['a BOM and CRLF', '\uFEFFa;b\r\n1;2\r\n', ['a', 'b\r']],
    [
      'quoted names with quotes, delimiters and a newline',
      '"x ""y""","p,q","l1\nl2"\n1,2,3\n',
      ['x "y"', 'p,q', 'l1\nl2'],
    ],
    ['empty names', ',,\n1,2,3\n', ['', '', '']],
    ['a file without a final line end', 'a,b\n1,2', ['a', 'b']],
    ['a file of one line and no line end', 'a,b', ['a', 'b']],
    ['non-ASCII names', 'prénom,東京\nx,y\n', ['prénom', '東京']],
  ])('%s', (_label, content, firstRecord) => {
    const bytes = Buffer.from(content);
    const whole = new CsvScanner();
    expect(whole.push(bytes)).toBeUndefined();
    const result = whole.end();
    if (result.ok) expect(result.firstRecord).toEqual(firstRecord);
    else expect(result.reason).toBe('The file has a header row but no data rows.');
    // The same whatever the chunking, a multi-byte character split included.
    for (const size of [1, 2, 5]) {
      const chunked = new CsvScanner();
      for (let offset = 0; offset < bytes.length; offset += size) {
        expect(chunked.push(bytes.subarray(offset, offset + size))).toBeUndefined();
      }
      expect(chunked.end()).toEqual(result);
    }
  });
});

describe('scanCsv tells the shapes of each column’s values, and which have a value early on', () => {
  const { Integer: INT, Double: DBL, Boolean: BOOL, Date: DATE } = Shape;
  const scanInChunks = (bytes: Buffer, size: number) => {
    const scanner = new CsvScanner();
    for (let offset = 0; offset < bytes.length; offset += size) {
      expect(scanner.push(bytes.subarray(offset, offset + size))).toBeUndefined();
    }
    const result = scanner.end();
    if (!result.ok) throw new Error(result.reason);
    return { shapes: result.shapes, sampledValues: result.sampledValues };
  };

  it.each([
    [
      'LF line ends, the header left out',
      'id,amount,flag,day,name\n1,1.5,true,2024-01-31,x\n22,,false,2024-02-29,"7"\n',
      [INT | DBL, DBL, BOOL, DATE, 0],
      [true, true, true, true, true],
    ],
    ['CRLF line ends', 'a,b\r\n1,2\r\n3,true\r\n', [INT | DBL, 0], [true, true]],
    ['no final line end', 'a,b\n1,2\n3,4.25', [INT | DBL, DBL], [true, true]],
    ['an empty last value', 'a,b\n1,2\n3,\n', [INT | DBL, INT | DBL], [true, true]],
    ['blank lines', 'a,b\n\n1,2\n\n', [INT | DBL, INT | DBL], [true, true]],
    ['a quoted number', 'a,b\n"1",2\n', [0, INT | DBL], [true, true]],
    ['mixed line ends', 'a,b\n1,2\r\n3,4\n', [0, 0], [true, true]],
    ['a value too long to be a number', `a\n${'1'.repeat(60)}\n`, [0], [true]],
    // Empty, quoted empty and blank-first values are no sign of a value; a header's names are not either.
    ['only empty values', 'a,b,c\n,"", x\n,,\n', [ANY_SHAPE, 0, 0], [false, false, false]],
    ['quoted text', 'a,b\n"x, y",""""\n', [0, 0], [true, false]],
  ])('%s, whatever the chunking', (_label, content, shapes, sampledValues) => {
    const bytes = Buffer.from(content);
    for (const size of [bytes.length, 1, 2, 3, 7]) {
      expect(scanInChunks(bytes, size)).toEqual({ shapes, sampledValues });
    }
  });

  it('looks for early values on the first lines only', () => {
    const late = `a,b\n${'1,\n'.repeat(SAMPLED_LINES)}2,3\n`;
    expect(scanInChunks(Buffer.from(late), 64 * 1024).sampledValues).toEqual([true, false]);
    const early = `a,b\n${'1,\n'.repeat(SAMPLED_LINES - 2)}2,3\n`;
    expect(scanInChunks(Buffer.from(early), 64 * 1024).sampledValues).toEqual([true, true]);
  });
});
