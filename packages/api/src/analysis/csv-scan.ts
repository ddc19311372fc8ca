import { isUtf8 } from 'node:buffer';
import { createReadStream } from 'node:fs';

export type Delimiter = ',' | ';' | '\t' | '|';
const DELIMITERS: Delimiter[] = [',', ';', '\t', '|'];

export type CsvScan =
  | { ok: true; delimiter: Delimiter; records: number; fields: number; bytes: number; hasBom: boolean }
  | { ok: false; reason: string };

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

/** The same checks fed chunk by chunk, e.g. while the file streams in from storage. */
export class CsvScanner {
  private bytes = 0;
  private line = 1;
  private utf8Carry: Buffer = Buffer.alloc(0);
  private delimiter: number | undefined;
  private headerBytes: Buffer[] = [];
  private hasBom = false;
  private started = false;

  private state = State.FieldStart;
  private fields = 0;
  private recordHasContent = false;
  private recordStartLine = 1;
  private quoteStartLine = 1;
  private expectedFields: number | undefined;
  private records = 0;

  push(chunk: Buffer): string | undefined {
    this.bytes += chunk.length;
    if (chunk.includes(0)) {
      return 'This does not look like a text file (it contains binary data). Upload a CSV or TSV text file.';
    }
    const utf8Problem = this.checkUtf8(chunk);
    if (utf8Problem) return utf8Problem;

    let data = chunk;
    if (!this.started) {
      this.started = true;
      if (data.length >= 3 && data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf) {
        this.hasBom = true;
        data = data.subarray(3);
      }
    }
    if (this.delimiter === undefined) {
      // The delimiter is chosen from the first record, so hold bytes until it is complete.
      this.headerBytes.push(data);
      const buffered = Buffer.concat(this.headerBytes);
      const delimiter = detectDelimiter(buffered, false);
      if (delimiter === undefined) return undefined;
      this.delimiter = delimiter.charCodeAt(0);
      this.headerBytes = [];
      return this.tokenize(buffered);
    }
    return this.tokenize(data);
  }

  end(): CsvScan {
    if (this.delimiter === undefined) {
      const buffered = Buffer.concat(this.headerBytes);
      this.delimiter = (detectDelimiter(buffered, true) ?? ',').charCodeAt(0);
      const failure = this.tokenize(buffered);
      if (failure) return { ok: false, reason: failure };
    }
    if (this.utf8Carry.length > 0) return { ok: false, reason: this.notUtf8(this.line) };
    if (this.state === State.Quoted) {
      return {
        ok: false,
        reason: `The quoted field that starts on line ${this.quoteStartLine} is never closed: a closing double quote is missing.`,
      };
    }
    const failure = this.endRecord();
    if (failure) return { ok: false, reason: failure };
    if (this.records === 0) return { ok: false, reason: 'The file is empty.' };
    if (this.records === 1) return { ok: false, reason: 'The file has a header row but no data rows.' };
    return {
      ok: true,
      delimiter: String.fromCharCode(this.delimiter) as Delimiter,
      records: this.records,
      fields: this.expectedFields ?? 0,
      bytes: this.bytes,
      hasBom: this.hasBom,
    };
  }

  private tokenize(data: Buffer): string | undefined {
    const delimiter = this.delimiter;
    for (let i = 0; i < data.length; i++) {
      const byte = data[i] as number;
      switch (this.state) {
        case State.Quoted:
          if (byte === QUOTE) this.state = State.QuoteInQuoted;
          else if (byte === LF) this.line++;
          continue;
        case State.QuoteInQuoted:
          if (byte === QUOTE) {
            this.state = State.Quoted;
            continue;
          }
          if (byte !== delimiter && byte !== LF && byte !== CR) {
            return `Line ${this.line} has text right after a closing double quote. Quote the whole field, and write a quote inside it as two quotes ("").`;
          }
          break;
        case State.FieldStart:
          if (byte === QUOTE) {
            this.state = State.Quoted;
            this.quoteStartLine = this.line;
            this.recordHasContent = true;
            continue;
          }
          break;
        case State.Unquoted:
          if (byte === QUOTE) {
            return `Line ${this.line} has a double quote inside a field that is not quoted. Quote the whole field, and write the quote as two quotes ("").`;
          }
          break;
      }
      if (byte === delimiter) {
        this.fields++;
        this.recordHasContent = true;
        this.state = State.FieldStart;
      } else if (byte === LF) {
        const failure = this.endRecord();
        if (failure) return failure;
        this.line++;
        this.recordStartLine = this.line;
      } else if (byte !== CR) {
        this.state = State.Unquoted;
        this.recordHasContent = true;
      }
    }
    return undefined;
  }

  /** Blank lines are skipped, as DuckDB does; any other record must match the first one's field count. */
  private endRecord(): string | undefined {
    const hadContent = this.recordHasContent;
    const fields = this.fields + 1;
    this.fields = 0;
    this.recordHasContent = false;
    this.state = State.FieldStart;
    if (!hadContent) return undefined;
    this.records++;
    if (this.expectedFields === undefined) {
      this.expectedFields = fields;
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
 * The candidate that occurs most often, outside quotes, in the first record. Returns undefined while the
 * first record may still be incomplete (unless `final`); a file without any candidate is one column of CSV.
 */
export function detectDelimiter(data: Buffer, final: boolean): Delimiter | undefined {
  const counts = new Map<number, number>();
  let quoted = false;
  let complete = false;
  for (const byte of data) {
    if (byte === QUOTE) quoted = !quoted;
    else if (!quoted && byte === LF) {
      complete = true;
      break;
    } else if (!quoted) counts.set(byte, (counts.get(byte) ?? 0) + 1);
  }
  if (!complete && !final) return undefined;
  let best: Delimiter = ',';
  let bestCount = 0;
  for (const candidate of DELIMITERS) {
    const count = counts.get(candidate.charCodeAt(0)) ?? 0;
    if (count > bestCount) {
      best = candidate;
      bestCount = count;
    }
  }
  return best;
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
