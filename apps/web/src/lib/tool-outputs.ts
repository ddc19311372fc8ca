import type { MakeChartOutput, RunSqlOutput, SaveTableOutput, ToolError } from '@leonidas/api';

/**
 * Tool results arrive as `unknown` (events and stored messages carry any tool's output), so each view checks
 * the shape it draws before drawing it; anything else is shown as JSON.
 */
const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null;

export function isToolError(output: unknown): output is ToolError {
  return isObject(output) && typeof output.error === 'string';
}

export function isRunSqlOutput(output: unknown): output is RunSqlOutput {
  return (
    isObject(output) &&
    typeof output.queryId === 'string' &&
    Array.isArray(output.columns) &&
    Array.isArray(output.rows) &&
    typeof output.rowCount === 'number'
  );
}

export function isMakeChartOutput(output: unknown): output is MakeChartOutput {
  return isObject(output) && typeof output.fileId === 'string' && typeof output.filename === 'string';
}

export function isSaveTableOutput(output: unknown): output is SaveTableOutput {
  return isMakeChartOutput(output) && typeof (output as { table?: unknown }).table === 'string';
}

/** A string field of a tool's input, if the model gave one. */
export function inputText(input: unknown, field: string): string | undefined {
  const value = isObject(input) ? input[field] : undefined;
  return typeof value === 'string' ? value : undefined;
}
