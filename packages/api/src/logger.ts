/** The slice of pino the API uses; the server passes its pino logger, tests a silent one. */
export interface Logger {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

export const silentLogger: Logger = { info: () => {}, warn: () => {}, error: () => {} };

/**
 * What may be logged of an error that can quote user data (DuckDB's errors quote the offending row, a cell
 * or the temp file's path): its kind, its code, and the line it points at. Never its message.
 */
export function errorSummary(error: unknown): { errorType: string; errorCode?: string; line?: number } {
  const errorType = error instanceof Error ? error.name : typeof error;
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message.slice(0, 500) : '';
  const line = /\bline:?\s*(\d{1,9})\b/i.exec(message)?.[1];
  return {
    errorType,
    ...(typeof code === 'string' ? { errorCode: code } : {}),
    ...(line ? { line: Number(line) } : {}),
  };
}
