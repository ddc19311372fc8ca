import type { DuckDBConnection } from '@duckdb/node-api';
import type { ColumnProfile, ColumnType, CsvMetadata as CsvProfile, Delimiter } from '@leonidas/db';
import type { CellValue } from '../chat/schema.js';
import { sqlIdentifier, sqlString } from './duckdb.js';
import { confirmsType } from './value-shapes.js';

/** The profile of a CSV, as stored and sent: the shapes are `@leonidas/db`'s. */
export type { ColumnProfile, ColumnType, CsvMetadata as CsvProfile } from '@leonidas/db';

export interface CsvPreview {
  columns: string[];
  rows: CellValue[][];
}

/** Columns whose statistics are computed in one pass over the file. */
const COLUMNS_PER_PASS = 50;

/**
 * DuckDB's read buffer, per thread (its default is 32 MB, held twice per thread). A row is at most 1 MB (the
 * scanner's limit) and DuckDB's own line limit is 2 MB, which the buffer must exceed; a smaller buffer roughly
 * halved the memory a 200 MB file took to convert, at the same speed.
 */
const CSV_BUFFER_BYTES = 4 * 1024 * 1024;

/** A CSV column as its table holds it. */
export interface TableColumn {
  name: string;
  kind: ColumnType;
}

/**
 * Writes a CSV's rows to `tablePath` as Parquet, read the way DuckDB reads the file by itself (its own detection
 * of the header and of the types over the whole file, in the dialect the scanner checked), and tells whether
 * the first line is a header: DuckDB names the columns of a file without one `column0`, `column1`, ..., so
 * other names mean a header. Names of that form are also what a header of empty (or such) names gives: only
 * then is DuckDB's sniffer asked, which reads the whole file once more.
 */
export async function writeCsvTable(
  connection: DuckDBConnection,
  input: {
    path: string;
    delimiter: Delimiter;
    tablePath: string;
    firstRecord: readonly string[];
    /** The scan's rows and its shapes of the values: with them, a large file may skip the whole-file detection. */
    records?: number;
    shapes?: readonly number[];
    sampledValues?: readonly boolean[];
  },
): Promise<{ columns: TableColumn[]; hasHeader: boolean; detection: 'sample' | 'whole file' }> {
  const { shapes, sampledValues } = input;
  const sampled =
    shapes && sampledValues && (input.records ?? 0) > SNIFF_SAMPLE_ROWS
      ? await confirmedSample(connection, { ...input, shapes, sampledValues })
      : undefined;
  // A read DuckDB refuses with the types stated (none known) is left to its own detection.
  if (
    sampled &&
    (await connection.run(copyToParquet(sampled.read, input.tablePath)).then(
      () => true,
      () => false,
    ))
  ) {
    const columns = await tableColumns(connection, input.tablePath);
    return { columns, hasHeader: sampled.hasHeader, detection: 'sample' };
  }
  const detection = 'whole file';
  await writeTable(connection, input);
  const columns = await tableColumns(connection, input.tablePath);
  const generated = generatedColumnNames(columns.length);
  const names = columns.map((column) => column.name);
  if (names.some((name, i) => name !== generated[i])) return { columns, hasHeader: true, detection };
  const couldBeHeader =
    input.firstRecord.length === columns.length &&
    input.firstRecord.every((field, i) => {
      const name = field.trim().toLowerCase();
      return name === '' || name === generated[i]?.toLowerCase();
    });
  if (!couldBeHeader) return { columns, hasHeader: false, detection };
  return { columns, hasHeader: await sniffHeader(connection, input.path, input.delimiter), detection };
}

/** DuckDB's sniffer reads this many rows by default, from the file's start. */
const SNIFF_SAMPLE_ROWS = 20_480;

/**
 * DuckDB's detection over the file's first rows (its sample, which it has read as these types), when the scan's
 * shapes of the other values confirm that the whole file would be detected the same (`value-shapes.ts`): a
 * column is only ever made less specific by more rows, and every value of a confirmed column has the strict
 * form of its type. Returns the read with those types stated, or nothing when any column is not confirmed (the
 * whole file is then detected, as before). The header is told from the first rows either way. This saves
 * DuckDB's whole-file detection pass, which on a large file takes longer than the read itself and holds the
 * file in memory.
 */
async function confirmedSample(
  connection: DuckDBConnection,
  input: {
    path: string;
    delimiter: Delimiter;
    shapes: readonly number[];
    sampledValues: readonly boolean[];
  },
): Promise<{ read: string; hasHeader: boolean } | undefined> {
  const reader = await connection.runAndReadAll(
    `SELECT HasHeader, Columns, DateFormat FROM sniff_csv(${sqlString(input.path)}, ${dialect(input.delimiter)})`,
  );
  const sniffed = reader.getRowObjectsJson()[0];
  const columns = sniffed?.Columns as { name: string; type: string }[] | undefined;
  if (!sniffed || !Array.isArray(columns) || columns.length !== input.shapes.length) return undefined;
  // Names DuckDB generated (no header, or a header of empty names) are the cases the whole-file path tells a
  // header from with care; an empty name (a header cell of Unicode spaces) cannot be stated as a column.
  const generated = generatedColumnNames(columns.length);
  if (columns.every((column, i) => column.name === generated[i]) || columns.some((column) => !column.name)) {
    return undefined;
  }
  const hasHeader = sniffed.HasHeader === true;
  const dateFormat = typeof sniffed.DateFormat === 'string' ? sniffed.DateFormat : null;
  // The first record is left out of the shapes: a header, or else a row of the sample, read as its types. A
  // column the sample saw only empty is VARCHAR there whatever follows, so it needs a value in the sample.
  const confirmed = columns.every(
    (column, i) =>
      input.sampledValues[i] === true && confirmsType(column.type, input.shapes[i] ?? 0, dateFormat),
  );
  if (!confirmed) return undefined;
  const types = columns.map((column) => `${sqlString(column.name)}: ${sqlString(column.type)}`);
  const options = [
    dialect(input.delimiter),
    `header=${hasHeader}`,
    `columns={${types.join(', ')}}`,
    'null_padding=false',
    `buffer_size=${CSV_BUFFER_BYTES}`,
  ];
  return { read: `read_csv(${sqlString(input.path)}, ${options.join(', ')})`, hasHeader };
}

/**
 * The profile (column types, nulls, exact distinct counts, min/max/mean) and the preview of a table just written
 * by `writeCsvTable`: they, and every later query, read the Parquet copy, not the CSV.
 */
export async function profileTable(
  connection: DuckDBConnection,
  input: {
    tablePath: string;
    delimiter: Delimiter;
    previewRows: number;
    columns: TableColumn[];
    hasHeader: boolean;
  },
): Promise<{ profile: CsvProfile; preview: CsvPreview }> {
  const { columns } = input;
  const source = `read_parquet(${sqlString(input.tablePath)})`;
  const aggregates = columns.map((column, i) => {
    const id = sqlIdentifier(column.name);
    const base = [`count(DISTINCT ${id}) AS d${i}`, `count(*) - count(${id}) AS n${i}`];
    if (column.kind === 'integer' || column.kind === 'number') {
      // As text: a BIGINT beyond 2^53 stays exact, and nan/inf keep DuckDB's own spelling.
      return [
        ...base,
        `CAST(min(${id}) AS VARCHAR) AS lo${i}`,
        `CAST(max(${id}) AS VARCHAR) AS hi${i}`,
        `avg(${id}) AS mean${i}`,
      ];
    }
    if (column.kind === 'date' || column.kind === 'datetime') {
      return [...base, `CAST(min(${id}) AS VARCHAR) AS lo${i}`, `CAST(max(${id}) AS VARCHAR) AS hi${i}`];
    }
    return base;
  });
  // Exact distinct counts keep a hash table per column: a few columns per pass keep memory bounded on wide
  // files (1,000 columns at once needed more than 1 GB); each pass reads only its columns of the Parquet copy.
  const stats: Record<string, unknown> = {};
  for (let start = 0; start < aggregates.length; start += COLUMNS_PER_PASS) {
    const batch = aggregates.slice(start, start + COLUMNS_PER_PASS).flat();
    const reader = await connection.runAndReadAll(
      `SELECT count(*) AS rows${batch.map((aggregate) => `, ${aggregate}`).join('')} FROM ${source}`,
    );
    Object.assign(stats, reader.getRowObjectsJson()[0] ?? {});
  }

  const profileColumns = columns.map((column, i): ColumnProfile => {
    const profile: ColumnProfile = {
      name: column.name,
      type: column.kind,
      nullCount: Number(stats[`n${i}`]),
      distinctCount: Number(stats[`d${i}`]),
    };
    const low = stats[`lo${i}`];
    const high = stats[`hi${i}`];
    if (column.kind === 'integer' || column.kind === 'number') {
      if (typeof low === 'string') profile.min = numericStatistic(low);
      if (typeof high === 'string') profile.max = numericStatistic(high);
      // A mean that is not a plain number (nan, inf, an overflowed sum, past 2^53) is left out; -0 is 0.
      const mean = Number(stats[`mean${i}`] ?? Number.NaN);
      if (isPlainNumber(mean)) profile.mean = mean === 0 ? 0 : mean;
    } else if (column.kind === 'date' || column.kind === 'datetime') {
      if (typeof low === 'string') profile.min = isoValue(low, column.kind);
      if (typeof high === 'string') profile.max = isoValue(high, column.kind);
    }
    return profile;
  });

  const previewReader = await connection.runAndReadAll(previewQuery(columns, source, input.previewRows));
  const rows = previewReader.getRowsJson().map((row) => previewRow(row, columns));

  return {
    profile: {
      rowCount: Number(stats.rows),
      columns: profileColumns,
      delimiter: input.delimiter,
      hasHeader: input.hasHeader,
      encoding: 'utf-8',
    },
    preview: { columns: columns.map((column) => column.name), rows },
  };
}

/**
 * The query of a preview's first rows, and `previewRow` its values: at processing, and again when a stored preview
 * has to be read anew from the table (`readPreview`), so both give the same values.
 * Dates as DuckDB writes them, as in min/max: its JSON rows give `infinity` as a date millions of years away.
 */
export function previewQuery(columns: TableColumn[], source: string, rows: number): string {
  const selected = columns.map((column) =>
    column.kind === 'date' || column.kind === 'datetime'
      ? `CAST(${sqlIdentifier(column.name)} AS VARCHAR)`
      : sqlIdentifier(column.name),
  );
  return `SELECT ${selected.join(', ')} FROM ${source} LIMIT ${rows}`;
}

export function previewRow(row: readonly unknown[], columns: TableColumn[]): CellValue[] {
  return row.map((value, i) => cellValue(value, columns[i]?.kind ?? 'string'));
}

/** The table's own types: what every later query sees. */
async function tableColumns(connection: DuckDBConnection, tablePath: string): Promise<TableColumn[]> {
  const described = await connection.runAndReadAll(
    `DESCRIBE SELECT * FROM read_parquet(${sqlString(tablePath)})`,
  );
  return described.getRowObjectsJson().map((row) => ({
    name: String(row.column_name),
    kind: columnType(String(row.column_type)),
  }));
}

/** The names DuckDB gives the columns of a file without a header: `column0`, or `column00` from 11 columns on. */
export function generatedColumnNames(count: number): string[] {
  const digits = String(Math.max(count - 1, 0)).length;
  return Array.from({ length: count }, (_, i) => `column${String(i).padStart(digits, '0')}`);
}

/**
 * Writes a CSV's rows to `tablePath` as Parquet, read the way DuckDB reads the file by itself: its own
 * detection of the header and of the types over the whole file, in the dialect the scanner checked.
 */
export async function writeTable(
  connection: DuckDBConnection,
  input: { path: string; delimiter: Delimiter; tablePath: string },
): Promise<void> {
  await connection.run(copyToParquet(readCsvSql(input.path, input.delimiter), input.tablePath));
}

/**
 * zstd at level 1 rather than its default 3: the copy of a 200 MB file takes about 10% less (1,133 vs 1,253 ms,
 * median of 6) for a file about 20% larger (11 vs 9 MB, against the CSV's 200 MB beside it).
 */
const copyToParquet = (read: string, tablePath: string) =>
  `COPY (SELECT * FROM ${read}) TO ${sqlString(tablePath)} (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1)`;

/**
 * The dialect the scanner checked, stated rather than guessed: DuckDB would otherwise take a data row that
 * starts with `#` for a comment and drop it, or skip leading rows the scanner counted. The scanner has also
 * checked the structure (quoting, the same number of fields in every row), so DuckDB's strict mode is off: it
 * refuses valid files it cannot sniff, such as a line break (CR) inside a quoted field or mixed line ends.
 */
const dialect = (delimiter: Delimiter) =>
  [
    `delim=${sqlString(delimiter)}`,
    `quote='"'`,
    `escape='"'`,
    `comment=''`,
    'skip=0',
    'strict_mode=false',
  ].join(', ');

async function sniffHeader(connection: DuckDBConnection, path: string, delimiter: Delimiter) {
  const reader = await connection.runAndReadAll(
    `SELECT HasHeader FROM sniff_csv(${sqlString(path)}, ${dialect(delimiter)}, sample_size=-1)`,
  );
  const row = reader.getRowObjectsJson()[0];
  if (!row) throw new Error('DuckDB could not sniff the file');
  return row.HasHeader === true;
}

/**
 * A read with the header and the types DuckDB detects over the whole file (one sniffing pass, then the parse).
 * The sniffer's date and timestamp formats are not passed back in: as explicit formats they refuse values its
 * detection accepted (`-inf` as a DATE).
 */
function readCsvSql(path: string, delimiter: Delimiter): string {
  const options = [
    dialect(delimiter),
    'sample_size=-1',
    'null_padding=false',
    `buffer_size=${CSV_BUFFER_BYTES}`,
  ];
  return `read_csv(${sqlString(path)}, ${options.join(', ')})`;
}

export function columnType(duckDbType: string): ColumnType {
  if (duckDbType === 'BOOLEAN') return 'boolean';
  if (/^U?(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT)$/.test(duckDbType)) return 'integer';
  if (/^(FLOAT|DOUBLE|REAL|DECIMAL)/.test(duckDbType)) return 'number';
  if (duckDbType === 'DATE') return 'date';
  if (duckDbType.startsWith('TIMESTAMP')) return 'datetime';
  return 'string';
}

function isoValue(value: string, kind: 'date' | 'datetime'): string {
  return kind === 'datetime' ? value.replace(' ', 'T') : value;
}

/**
 * Whether a statistic can be given as a JSON number: finite (JSON has no NaN or Infinity), within ±(2^53 - 1)
 * (beyond it a double no longer names one integer, and the DynamoDB SDK refuses to store it), and 0 or at
 * least 1e-130 in magnitude (DynamoDB's smallest number).
 */
function isPlainNumber(value: number): boolean {
  const magnitude = Math.abs(value);
  return magnitude === 0 || (magnitude >= 1e-130 && magnitude <= Number.MAX_SAFE_INTEGER);
}

/**
 * A numeric min/max from DuckDB's text of it: a number when it is a plain one, else that text as is. -0 is 0, as
 * JSON and DynamoDB give it back.
 */
function numericStatistic(text: string): number | string {
  const value = Number(text);
  if (!isPlainNumber(value)) return text;
  return value === 0 ? 0 : value;
}

/** DuckDB's spelling of the values JSON cannot carry (its JSON rows give JavaScript's). */
function nonFiniteText(value: number): string {
  if (Number.isNaN(value)) return 'nan';
  return value > 0 ? 'inf' : '-inf';
}

/**
 * DuckDB's JSON rows carry 64-bit integers as strings; numbers within the safe range become numbers again.
 * nan and ±inf, which JSON would turn into null, are given as DuckDB writes them.
 */
export function cellValue(value: unknown, kind: ColumnType): CellValue {
  if (value === null || value === undefined) return null;
  if (kind === 'integer') {
    const number = Number(value);
    return Number.isSafeInteger(number) ? number : String(value);
  }
  if (kind === 'number') {
    // A value given already (a query's, read again as a preview's by `previewRow`) stays: Number('inf') is NaN.
    if (value === 'nan' || value === 'inf' || value === '-inf') return value;
    const number = typeof value === 'number' ? value : Number(value);
    // -0 is 0, as JSON (and so a stored preview) has it.
    if (number === 0) return 0;
    return Number.isFinite(number) ? number : nonFiniteText(number);
  }
  if (kind === 'boolean') return value === true;
  if (kind === 'datetime') return isoValue(String(value), kind);
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  // Structs, lists, maps and intervals come as objects and arrays: as JSON text, not "[object Object]".
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}
