/**
 * What domain code throws. The tRPC layer maps each code to its tRPC error code, so services never depend on
 * the transport and every expected failure reaches the client with a short, human message.
 */
export type AppErrorCode =
  | 'BAD_REQUEST'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'TOO_MANY_REQUESTS'
  | 'PAYLOAD_TOO_LARGE';

export class AppError extends Error {
  readonly code: AppErrorCode;
  /** For TOO_MANY_REQUESTS: when the caller may try again. */
  readonly retryAfterSeconds: number | undefined;
  /** For BAD_REQUEST found past the input schema (e.g. against configured limits): the field at fault. */
  readonly fieldErrors: Record<string, string[]> | undefined;

  constructor(
    code: AppErrorCode,
    message: string,
    options: { retryAfterSeconds?: number; fieldErrors?: Record<string, string[]>; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.fieldErrors = options.fieldErrors;
  }
}

export const notFound = (what: string) => new AppError('NOT_FOUND', `${what} not found.`);

/** A quota that only deleting something frees: waiting would not help, so no retry time. */
export const quotaReached = (message: string) => new AppError('FORBIDDEN', message);

export const invalidField = (field: string, message: string) =>
  new AppError('BAD_REQUEST', `Invalid input: ${field}: ${message}`, { fieldErrors: { [field]: [message] } });

export function tooManyRequests(message: string, retryAfterMs: number): AppError {
  const retryAfterSeconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return new AppError('TOO_MANY_REQUESTS', `${message} Try again in ${describeWait(retryAfterSeconds)}.`, {
    retryAfterSeconds,
  });
}

function describeWait(seconds: number): string {
  if (seconds < 60) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} minute${minutes === 1 ? '' : 's'}`;
}

/** For the HTTP layer's `Retry-After` header: the wait an error asks for, if any. */
export function retryAfterSecondsOf(error: unknown): number | undefined {
  const cause = error instanceof Error ? error.cause : undefined;
  return cause instanceof AppError ? cause.retryAfterSeconds : undefined;
}
