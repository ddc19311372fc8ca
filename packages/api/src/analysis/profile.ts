import type { DuckDBConnection } from '@duckdb/node-api';
import type { Delimiter } from './csv-scan.js';
import { sqlIdentifier, sqlString } from './duckdb.js';

export type ColumnType = 'integer' | 'number' | 'boolean' | 'date' | 'datetime' | 'string';
export type CellValue = string | number | boolean | null;

export interface ColumnProfile {
  name: string;
  type: ColumnType;
  nullCount: number;
  distinctCount: number;
  min?: number | string;
  max?: number | string;
  mean?: number;
}

export interface CsvProfile {
  rowCount: number;
  columns: ColumnProfile[];
  delimiter: Delimiter;
  hasHeader: boolean;
  encoding: 'utf-8';
}

export interface CsvPreview {
  columns: string[];
  rows: CellValue[][];
}

/** Columns whose statistics are computed in one pass over the file. */
const COLUMNS_PER_PASS = 50;

interface SniffedColumn {
  name: string;
  type: string;
}

/**
 * Profiles a CSV the scanner has validated (column types, nulls, exact distinct counts, min/max/mean) and
 * writes its rows to `tablePath` as Parquet: the CSV is parsed once, strictly, with the types the sniffer
 * found over the whole file; the statistics, the preview and every later query read the Parquet copy.
 */
export async function profileCsv(
  connection: DuckDBConnection,
  input: { path: string; delimiter: Delimiter; previewRows: number; tablePath: string },
): Promise<{ profile: CsvProfile; preview: CsvPreview }> {
  const sniffed = await writeTable(connection, input);
  const source = `read_parquet(${sqlString(input.tablePath)})`;
  const columns = sniffed.columns.map((column) => ({ ...column, kind: columnType(column.type) }));

  const aggregates = columns.map((column, i) => {
    const id = sqlIdentifier(column.name);
    const base = [`count(DISTINCT ${id}) AS d${i}`, `count(*) - count(${id}) AS n${i}`];
    if (column.kind === 'integer' || column.kind === 'number') {
      return [...base, `min(${id}) AS lo${i}`, `max(${id}) AS hi${i}`, `avg(${id}) AS mean${i}`];
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
      if (low !== null && low !== undefined) profile.min = Number(low);
      if (high !== null && high !== undefined) profile.max = Number(high);
      const mean = stats[`mean${i}`];
      if (mean !== null && mean !== undefined) profile.mean = Number(mean);
    } else if (column.kind === 'date' || column.kind === 'datetime') {
      if (typeof low === 'string') profile.min = isoValue(low, column.kind);
      if (typeof high === 'string') profile.max = isoValue(high, column.kind);
    }
    return profile;
  });

  const previewReader = await connection.runAndReadAll(`SELECT * FROM ${source} LIMIT ${input.previewRows}`);
  const rows = previewReader
    .getRowsJson()
    .map((row) => row.map((value, i) => cellValue(value, columns[i]?.kind ?? 'string')));

  return {
    profile: {
      rowCount: Number(stats.rows),
      columns: profileColumns,
      delimiter: input.delimiter,
      hasHeader: sniffed.hasHeader,
      encoding: 'utf-8',
    },
    preview: { columns: columns.map((column) => column.name), rows },
  };
}

/**
 * Writes a CSV's rows to `tablePath` as Parquet, parsed once, strictly, with the types the sniffer found over
 * the whole file. Returns what the sniffer found.
 */
export async function writeTable(
  connection: DuckDBConnection,
  input: { path: string; delimiter: Delimiter; tablePath: string },
) {
  const sniffed = await sniff(connection, input.path, input.delimiter);
  await connection.run(
    `COPY (SELECT * FROM ${readCsvSql(input.path, input.delimiter, sniffed)}) TO ${sqlString(input.tablePath)} (FORMAT parquet, COMPRESSION zstd)`,
  );
  return sniffed;
}

async function sniff(connection: DuckDBConnection, path: string, delimiter: Delimiter) {
  const reader = await connection.runAndReadAll(
    `SELECT HasHeader, Columns, DateFormat, TimestampFormat FROM sniff_csv(${sqlString(path)}, delim=${sqlString(delimiter)}, quote='"', escape='"', sample_size=-1)`,
  );
  const row = reader.getRowObjectsJson()[0];
  if (!row) throw new Error('DuckDB could not sniff the file');
  return {
    hasHeader: row.HasHeader === true,
    columns: row.Columns as unknown as SniffedColumn[],
    dateFormat: typeof row.DateFormat === 'string' ? row.DateFormat : undefined,
    timestampFormat: typeof row.TimestampFormat === 'string' ? row.TimestampFormat : undefined,
  };
}

/** A strict, fully specified read: the types the sniffer found over the whole file, nothing re-guessed. */
function readCsvSql(
  path: string,
  delimiter: Delimiter,
  sniffed: {
    hasHeader: boolean;
    columns: SniffedColumn[];
    dateFormat?: string | undefined;
    timestampFormat?: string | undefined;
  },
): string {
  const columns = sniffed.columns
    .map((column) => `${sqlString(column.name)}: ${sqlString(column.type)}`)
    .join(', ');
  const options = [
    `delim=${sqlString(delimiter)}`,
    `quote='"'`,
    `escape='"'`,
    `header=${sniffed.hasHeader}`,
    'auto_detect=false',
    'strict_mode=true',
    'null_padding=false',
    `columns={${columns}}`,
    ...(sniffed.dateFormat ? [`dateformat=${sqlString(sniffed.dateFormat)}`] : []),
    ...(sniffed.timestampFormat ? [`timestampformat=${sqlString(sniffed.timestampFormat)}`] : []),
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

/** DuckDB's JSON rows carry 64-bit integers as strings; numbers within the safe range become numbers again. */
export function cellValue(value: unknown, kind: ColumnType): CellValue {
  if (value === null || value === undefined) return null;
  if (kind === 'integer') {
    const number = Number(value);
    return Number.isSafeInteger(number) ? number : String(value);
  }
  if (kind === 'number') return typeof value === 'number' ? value : Number(value);
  if (kind === 'boolean') return value === true;
  if (kind === 'datetime') return isoValue(String(value), kind);
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
    ? value
    : String(value);
}
