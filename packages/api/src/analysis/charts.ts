import { compile, type TopLevelSpec } from 'vega-lite';
import type { ToolError } from '../chat/schema.js';
import { columnType } from './profile.js';
import type { KeptResult } from './query-results.js';

export const CHART_MARKS = ['bar', 'line', 'point', 'area', 'arc'] as const;
export type ChartMark = (typeof CHART_MARKS)[number];

export interface ChartRequest {
  mark: ChartMark;
  x: string;
  y: string;
  color?: string | undefined;
  title: string;
}

/** A Vega-Lite v5 specification, with its data inline. */
export type ChartSpec = TopLevelSpec;

/**
 * The chart of a kept result, built by the server from the mark and the fields the model chose: the model
 * never writes the data (which could then differ from what the query computed), only names the columns.
 * The specification must compile with Vega-Lite's own compiler.
 */
export function buildChart(result: KeptResult, request: ChartRequest): ChartSpec | ToolError {
  const columns = new Map(result.columns.map((column) => [column.name, column.type]));
  const fields = [request.x, request.y, ...(request.color === undefined ? [] : [request.color])];
  const missing = fields.filter((field) => !columns.has(field));
  if (missing.length > 0) {
    return {
      error: `${missing.map((field) => `"${field}"`).join(' and ')} ${missing.length === 1 ? 'is not a column' : 'are not columns'} of ${result.queryId}.`,
      hint: `Its columns: ${result.columns.map((column) => column.name).join(', ')}.`,
    };
  }
  const encode = (field: string) => ({ field, type: encodingType(columns.get(field) ?? ''), title: field });
  const encoding =
    request.mark === 'arc'
      ? // A pie: the values make the angles, the categories the colours.
        { theta: { ...encode(request.y), stack: true }, color: encode(request.x) }
      : {
          x: encode(request.x),
          y: encode(request.y),
          ...(request.color === undefined ? {} : { color: encode(request.color) }),
        };
  const spec: ChartSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: request.title,
    description: `${request.title} (from ${result.queryId}: ${result.sql})`,
    data: {
      values: result.rows.map((row) =>
        Object.fromEntries(result.columns.map((column, i) => [column.name, row[i]])),
      ),
    },
    mark: { type: request.mark, tooltip: true },
    encoding,
  };
  try {
    compile(spec);
  } catch (error) {
    return { error: `This chart cannot be drawn: ${error instanceof Error ? error.message : String(error)}` };
  }
  return spec;
}

/** How Vega-Lite should read a column of this SQL type. */
function encodingType(sqlType: string): 'quantitative' | 'temporal' | 'nominal' {
  const kind = columnType(sqlType);
  if (kind === 'integer' || kind === 'number') return 'quantitative';
  if (kind === 'date' || kind === 'datetime') return 'temporal';
  return 'nominal';
}
