import { isUtf8 } from 'node:buffer';
import { createReadStream } from 'node:fs';
// Not the package's index: the scan's worker thread bundles this file alone (`scan-worker.ts`).
import { DELIMITERS, type Delimiter } from '@leonidas/db/delimiters';
import { ANY_SHAPE, shapeOf } from './value-shapes.js';

export type CsvScan =
  | {
      ok: true;
      delimiter: Delimiter;
      records: number;
      fields: number;
      bytes: number;
      hasBom: boolean;
      /** The fields of the file's first line (the header, if it has one), unquoted. */
      firstRecord: string[];
      /**
       * Per column, the `Shape`s every value after the first record has (0 for a column with a quoted value,
       * and for every column of a file whose line ends are mixed).
       */
      shapes: number[];
      /**
       * Per column, whether it has a value that starts with a visible ASCII character on one of the first
       * `SAMPLED_LINES` lines, after the first record: one DuckDB's sniffer reads, so the sample's type for the
       * column is not the VARCHAR it gives a column it saw only empty.
       */
      sampledValues: boolean[];
    }
  | { ok: false; reason: string };

/** A row (record) longer than this fails: DuckDB itself stops at 2 MB, and no table needs rows this long. */
export const MAX_RECORD_BYTES = 1024 * 1024;
/** More columns than this fail: profiling computes several statistics per column, all held at once. */
export const MAX_COLUMNS = 1000;
/** Lines surely within the rows DuckDB's sniffer reads by default (20,480, from the file's start). */
export const SAMPLED_LINES = 20_000;
/** Longer than any value with a shape (`value-shapes.ts`), so a longer one stays longer when cut. */
const MAX_CARRIED_BYTES = 48;

const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;

enum State {
  FieldStart,
  Unquoted,
  Quoted,
  /** A quote inside a quoted field: an escaped quote ("") or the end of the field. */
  QuoteInQuoted,
}

/**
 * One streaming pass over a file that should be CSV: it must be UTF-8 text (a BOM is fine), and every record
 * must have as many fields as the first, with RFC 4180 quoting. Line numbers in the reasons are the ones a text
 * editor shows (the header is line 1; a record spanning lines is named by the line it starts on).
 */
export async function scanCsv(path: string): Promise<CsvScan> {
  const scanner = new CsvScanner();
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    const failure = scanner.push(chunk as Buffer);
    if (failure) return { ok: false, reason: failure };
  }
  return scanner.end();
}

/**
 * The same checks fed chunk by chunk, e.g. while the file streams in from storage. Every byte is looked at a
 * bounded number of times whatever the chunking (the first record is held until it is complete, to choose the
 * delimiter, and is limited like any record).
 */
export class CsvScanner {
  private bytes = 0;
  private line = 1;
  private utf8Carry: Buffer = Buffer.alloc(0);
  private delimiter: Delimiter | undefined;
  /** The delimiter's byte, once known (-1 matches no byte). */
  private delimiterByte = -1;
  private readonly header = new HeaderSniffer();

  private state = State.FieldStart;
  private fields = 0;
  private recordHasContent = false;
  private recordStartLine = 1;
  private recordBytes = 0;
  private quoteStartLine = 1;
  private expectedFields: number | undefined;
  private records = 0;

  /** Per column, the shapes of its values so far (from the second record on); see `value-shapes.ts`. */
  private shapes: Uint8Array | undefined;
  /** Per column, whether a value (not empty, not blank) was seen within DuckDB's sample, after the first record. */
  private sampledValues: boolean[] = [];
  private column = 0;
  private fieldQuoted = false;
  /** The start of the field being read, when it began in an earlier chunk (at most a numeric value's length). */
  private fieldCarry: Buffer | undefined;
  private crlfLines = 0;
  /**
   * CRs outside quotes: DuckDB may end a row at each (a file whose first line ends with LF is read so), so the
   * lines of its sample are counted with them, to stay within it.
   */
  private crs = 0;
  private lfLines = 0;
  private lastByte = -1;

  /**
   * Scans the next chunk: the first failure's reason, if any. Nothing of the chunk is kept once this returns (a
   * worker hands the chunk's memory back for the next one).
   */
  push(chunk: Buffer): string | undefined {
    // A UTF-16 byte order mark: text, just not UTF-8 (its NUL bytes would otherwise read as binary data).
    const start = this.bytes === 0 ? chunk.subarray(0, 2).toString('hex') : '';
    if (start === 'fffe' || start === 'feff') {
      return 'The file is UTF-16 text. Save it as UTF-8 (in Excel: "CSV UTF-8") and upload it again.';
    }
    this.bytes += chunk.length;
    if (chunk.includes(0)) {
      return 'This does not look like a text file (it contains binary data). Upload a CSV or TSV text file.';
    }
    const utf8Problem = this.checkUtf8(chunk);
    if (utf8Problem) return utf8Problem;

    if (this.delimiter !== undefined) return this.tokenize(chunk);
    // The delimiter is chosen from the first record, so its bytes are held until it is complete.
    const delimiter = this.header.push(chunk);
    if (delimiter === undefined) {
      return this.header.bytes > MAX_RECORD_BYTES ? firstRowTooLong() : undefined;
    }
    return this.startWith(delimiter);
  }
  end(): CsvScan {
    const delimiter = this.delimiter ?? this.header.choose();
    if (this.delimiter === undefined) {
      const failure = this.startWith(delimiter);
      if (failure) return { ok: false, reason: failure };
    }
    if (this.utf8Carry.length > 0) return { ok: false, reason: this.notUtf8(this.line) };
    if (this.state === State.Quoted) {
      return {
        ok: false,
        reason: `The quoted field that starts on line ${this.quoteStartLine} is never closed: a closing double quote is missing.`,
      };
    }
    // The last value, when the file does not end with a line end.
    if (this.fieldCarry !== undefined) {
      const sampled = this.line + this.crs <= SAMPLED_LINES && this.sampledValues[this.column] === false;
      this.endCarriedValue(Buffer.alloc(0), 0, this.column, this.fieldQuoted, sampled);
    }
    const failure = this.endRecord(this.fields + 1, this.recordHasContent);
    if (failure) return { ok: false, reason: failure };
    if (this.records === 0) return { ok: false, reason: 'The file is empty.' };
    if (this.records === 1) return { ok: false, reason: 'The file has a header row but no data rows.' };
    return {
      ok: true,
      delimiter,
      records: this.records,
      fields: this.expectedFields ?? 0,
      bytes: this.bytes,
      hasBom: this.header.hasBom,
      firstRecord: splitRecord(this.header.firstLine(), delimiter),
      // With both line ends, which one DuckDB takes for the line end (and so what ends a value) is its guess.
      shapes: Array.from(this.shapes ?? [], (shape) => (this.crlfLines > 0 && this.lfLines > 0 ? 0 : shape)),
      sampledValues: this.sampledValues.slice(0, this.expectedFields ?? 0),
    };
  }

  /** The delimiter is known: the held first record and what came with it are tokenized, once. */
  private startWith(delimiter: Delimiter): string | undefined {
    this.delimiter = delimiter;
    this.delimiterByte = delimiter.charCodeAt(0);
    return this.tokenize(this.header.take());
  }

  /**
   * The hot loop: it runs once per byte of every upload, so its state lives in locals (V8 keeps them in
   * registers; object fields written per byte made this loop the server's busiest frame) and goes back to the
   * scanner when the chunk ends or a record does.
   */
  private tokenize(data: Buffer): string | undefined {
    const delimiter = this.delimiterByte;
    const length = data.length;
    let state = this.state;
    let fields = this.fields;
    let hasContent = this.recordHasContent;
    let recordBytes = this.recordBytes;
    let line = this.line;
    let shapes = this.shapes;
    let column = this.column;
    let quoted = this.fieldQuoted;
    let fieldStart = 0;
    let carried = this.fieldCarry !== undefined;
    let crlfLines = this.crlfLines;
    let crs = this.crs;
    let lfLines = this.lfLines;
    let failure: string | undefined;
    for (let i = 0; i < length; i++) {
      const byte = data[i] as number;
      if (++recordBytes > MAX_RECORD_BYTES) {
        failure = this.rowTooLong();
        break;
      }
      if (state === State.Quoted) {
        if (byte === QUOTE) {
          state = State.QuoteInQuoted;
          continue;
        }
        if (byte === LF) line++;
        // The rest of the quoted value up to its next quote, counting its lines.
        let next = i + 1;
        while (next < length) {
          const following = data[next] as number;
          if (following === QUOTE) break;
          if (following === LF) line++;
          next++;
        }
        // Past the row limit, the next byte's check (or the one after the loop) says so.
        recordBytes += next - i - 1;
        i = next - 1;
        continue;
      }
      if (state === State.QuoteInQuoted) {
        if (byte === QUOTE) {
          state = State.Quoted;
          continue;
        }
        if (byte !== delimiter && byte !== LF && byte !== CR) {
          failure = `Line ${line} has text right after a closing double quote. Quote the whole field, and write a quote inside it as two quotes ("").`;
          break;
        }
      } else if (byte === QUOTE) {
        if (state === State.Unquoted) {
          failure = `Line ${line} has a double quote inside a field that is not quoted. Quote the whole field, and write the quote as two quotes ("").`;
          break;
        }
        state = State.Quoted;
        this.quoteStartLine = line;
        hasContent = true;
        quoted = true;
        continue;
      }
      if (byte === delimiter || byte === LF) {
        const lineEnd = byte === LF;
        let end = i;
        if (lineEnd) {
          const crlf = (i > 0 ? data[i - 1] : this.lastByte) === CR;
          if (crlf) crlfLines++;
          else lfLines++;
          if (crlf && i > fieldStart) end = i - 1;
        }
        // What the value tells of its column's type (from the second record on, once `shapes` exists).
        if (shapes !== undefined) {
          const wantsShape = shapes[column] !== 0;
          const wantsSample = line + crs <= SAMPLED_LINES && this.sampledValues[column] === false;
          if (carried) {
            this.endCarriedValue(data, end, column, quoted, wantsSample);
            carried = false;
          } else {
            if (wantsShape) {
              shapes[column] = quoted ? 0 : (shapes[column] as number) & shapeOf(data, fieldStart, end);
            }
            if (wantsSample && startsVisibly(data, fieldStart, end)) this.sampledValues[column] = true;
          }
        }
        fieldStart = i + 1;
        quoted = false;
        if (!lineEnd) {
          column++;
          fields++;
          hasContent = true;
          state = State.FieldStart;
          continue;
        }
        column = 0;
        failure = this.endRecord(fields + 1, hasContent);
        shapes = this.shapes;
        fields = 0;
        hasContent = false;
        recordBytes = 0;
        state = State.FieldStart;
        if (failure) break;
        line++;
        this.recordStartLine = line;
      } else if (byte === CR) {
        crs++;
      } else {
        state = State.Unquoted;
        hasContent = true;
        // The rest of an unquoted value in a tight loop: only the bytes that end it (or a stray quote) matter.
        let next = i + 1;
        while (next < length) {
          const following = data[next] as number;
          if (following === delimiter || following === LF || following === QUOTE || following === CR) break;
          next++;
        }
        recordBytes += next - i - 1;
        i = next - 1;
      }
    }
    // A tight loop that ran past the row limit to the chunk's end.
    if (failure === undefined && recordBytes > MAX_RECORD_BYTES) failure = this.rowTooLong();
    this.state = state;
    this.fields = fields;
    this.recordHasContent = hasContent;
    this.recordBytes = recordBytes;
    this.line = line;
    this.column = column;
    this.fieldQuoted = quoted;
    this.crlfLines = crlfLines;
    this.crs = crs;
    this.lfLines = lfLines;
    this.lastByte = data[length - 1] ?? this.lastByte;
    // A value cut by the chunk's end: its start is kept (no more than a shaped value's length) for its end.
    if (
      shapes !== undefined &&
      fieldStart < length &&
      ((shapes[column] !== 0 && !quoted) ||
        (line + crs <= SAMPLED_LINES && this.sampledValues[column] === false))
    ) {
      const start = data.subarray(fieldStart, fieldStart + MAX_CARRIED_BYTES);
      this.fieldCarry = (
        this.fieldCarry ? Buffer.concat([this.fieldCarry, start]) : Buffer.from(start)
      ).subarray(0, MAX_CARRIED_BYTES);
    }
    return failure;
  }

  /**
   * The end of a value cut by a chunk's end, read from its carried start: it narrows its column's shapes and may
   * be the column's value in DuckDB's sample.
   */
  private endCarriedValue(
    data: Buffer,
    end: number,
    column: number,
    quoted: boolean,
    sampled: boolean,
  ): void {
    const shapes = this.shapes as Uint8Array;
    let value = Buffer.concat([
      this.fieldCarry ?? Buffer.alloc(0),
      data.subarray(0, Math.min(end, MAX_CARRIED_BYTES)),
    ]);
    this.fieldCarry = undefined;
    // The line end's CR was the carried part's last byte.
    if (end === 0 && data[0] === LF && value.at(-1) === CR) value = value.subarray(0, -1);
    if (shapes[column] !== 0) {
      shapes[column] = quoted ? 0 : (shapes[column] as number) & shapeOf(value, 0, value.length);
    }
    if (sampled && startsVisibly(value, 0, value.length)) this.sampledValues[column] = true;
  }

  private rowTooLong(): string {
    return `The row that starts on line ${this.recordStartLine} is longer than 1 MB; a row can be at most 1 MB (${MAX_RECORD_BYTES} bytes).`;
  }

  /** Blank lines are skipped, as DuckDB does; any other record must match the first one's field count. */
  private endRecord(fields: number, hadContent: boolean): string | undefined {
    if (!hadContent) return undefined;
    this.records++;
    if (this.expectedFields === undefined) {
      if (fields > MAX_COLUMNS) return tooManyColumns(fields);
      this.expectedFields = fields;
      this.shapes = new Uint8Array(fields).fill(ANY_SHAPE);
      this.sampledValues = new Array<boolean>(fields).fill(false);
      return undefined;
    }
    if (fields !== this.expectedFields) {
      return `Line ${this.recordStartLine} has ${fields} field${fields === 1 ? '' : 's'}, but the header (line 1) has ${this.expectedFields}. Every row needs the same number of fields.`;
    }
    return undefined;
  }

  /** Validates UTF-8 across chunk boundaries: an incomplete sequence at the end waits for the next chunk. */
  private checkUtf8(chunk: Buffer): string | undefined {
    const data = this.utf8Carry.length > 0 ? Buffer.concat([this.utf8Carry, chunk]) : chunk;
    const complete = completeUtf8Length(data);
    this.utf8Carry = Buffer.from(data.subarray(complete));
    const body = data.subarray(0, complete);
    if (isUtf8(body)) return undefined;
    const offset = firstInvalidUtf8Offset(body);
    let line = this.line;
    for (let i = 0; i < offset; i++) if (body[i] === LF) line++;
    return this.notUtf8(line);
  }

  private notUtf8(line: number): string {
    return `The file is not UTF-8 text (the first byte that is not valid UTF-8 is on line ${line}). Save it as UTF-8 (in Excel: "CSV UTF-8") and upload it again.`;
  }
}

/**
 * Whether the value in `bytes[start, end)` (as written: quoted or not) starts with a printable ASCII character
 * other than a space or a quote: surely not empty, whatever DuckDB trims.
 */
function startsVisibly(bytes: Uint8Array, start: number, end: number): boolean {
  const first = bytes[start] === QUOTE ? start + 1 : start;
  const byte = bytes[first];
  return first < end && byte !== undefined && byte > 0x20 && byte < 0x7f && byte !== QUOTE;
}

const firstRowTooLong = () =>
  `The first row is longer than 1 MB, so this does not look like a CSV file (or a quote in its first row is never closed). A row can be at most 1 MB (${MAX_RECORD_BYTES} bytes).`;

const tooManyColumns = (columns: number) =>
  `This file has ${columns.toLocaleString('en-US')} columns; the limit is ${MAX_COLUMNS.toLocaleString('en-US')}.`;

/**
 * Holds the start of the file until its first record is complete and counts, outside quotes, the candidate
 * delimiters in it: the one that occurs most often is the file's (none: one column of CSV). State is carried
 * across chunks, so each byte is looked at once.
 */
class HeaderSniffer {
  private readonly held: Buffer[] = [];
  private readonly counts = new Map<number, number>();
  private quoted = false;
  /** Where the first line ends in what is held, once seen. */
  private firstLineEnd: number | undefined;
  private firstLineText = '';
  hasBom = false;
  bytes = 0;

  /** The delimiter, once the first record is complete. */
  push(data: Buffer): Delimiter | undefined {
    // A copy: the chunk's memory may be used again once the scanner's `push` returns.
    this.held.push(Buffer.from(data));
    this.bytes += data.length;
    for (let i = 0; i < data.length; i++) {
      const byte = data[i] as number;
      if (byte === QUOTE) this.quoted = !this.quoted;
      else if (this.quoted) continue;
      else if (byte === LF) {
        this.firstLineEnd = this.bytes - data.length + i;
        return this.choose();
      } else this.counts.set(byte, (this.counts.get(byte) ?? 0) + 1);
    }
    return undefined;
  }

  /** The first line's text without the BOM and the LF (all of the file when it has one line), once taken. */
  firstLine(): string {
    return this.firstLineText;
  }

  /** The delimiter from what was seen (also when the file ended inside its first record). */
  choose(): Delimiter {
    let best: Delimiter = ',';
    let bestCount = 0;
    for (const candidate of DELIMITERS) {
      const count = this.counts.get(candidate.charCodeAt(0)) ?? 0;
      if (count > bestCount) {
        best = candidate;
        bestCount = count;
      }
    }
    return best;
  }

  /** Everything held, once: the first record and whatever followed it in the same chunk. */
  take(): Buffer {
    const data = Buffer.concat(this.held);
    this.held.length = 0;
    // Looked for here, where the file's start is whole however small its first chunks were.
    const start = data.length >= 3 && data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf ? 3 : 0;
    this.hasBom = start === 3;
    this.firstLineText = data.toString('utf8', start, Math.max(start, this.firstLineEnd ?? data.length));
    return data.subarray(start);
  }
}

/**
 * A record's fields as DuckDB reads them (RFC 4180 quoting, a quote inside a quoted field written twice); the
 * line end's CR, if any, stays on the last field.
 */
function splitRecord(text: string, delimiter: Delimiter): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (quoted) {
      if (char !== '"') field += char;
      else if (text[i + 1] === '"') {
        field += '"';
        i++;
      } else quoted = false;
    } else if (char === '"') quoted = true;
    else if (char === delimiter) {
      fields.push(field);
      field = '';
    } else field += char;
  }
  fields.push(field);
  return fields;
}

/** Length of the prefix that ends on a UTF-8 sequence boundary (at most 3 trailing bytes are held back). */
function completeUtf8Length(data: Buffer): number {
  for (let back = 1; back <= Math.min(3, data.length); back++) {
    const byte = data[data.length - back] as number;
    if ((byte & 0xc0) !== 0x80) {
      const needed = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
      return needed > back ? data.length - back : data.length;
    }
  }
  return data.length;
}

function firstInvalidUtf8Offset(data: Buffer): number {
  let i = 0;
  while (i < data.length) {
    const byte = data[i] as number;
    const length =
      byte < 0x80
        ? 1
        : byte >= 0xc2 && byte < 0xe0
          ? 2
          : byte >= 0xe0 && byte < 0xf0
            ? 3
            : byte >= 0xf0 && byte < 0xf5
              ? 4
              : 0;
    if (length === 0) return i;
    for (let k = 1; k < length; k++) {
      if (((data[i + k] ?? 0) & 0xc0) !== 0x80) return i;
    }
    if (length > 1 && !isUtf8(data.subarray(i, i + length))) return i;
    i += length;
  }
  return data.length;
}
