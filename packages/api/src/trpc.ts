import { isDatabaseUnavailable } from '@leonidas/db';
import { initTRPC, TRPCError } from '@trpc/server';
import superjson from 'superjson';
import { ZodError, z } from 'zod';
import type { Context } from './context.js';
import { AppError, tooManyRequests } from './errors.js';
import { StorageUnavailableError } from './storage/s3.js';

const t = initTRPC.context<Context>().create({
  transformer: superjson,
  // Stack traces never leave the server, whatever NODE_ENV says; the server logs them instead.
  isDev: false,
  sse: {
    // Keeps idle chat streams alive through proxies; clients reconnect (with lastEventId) if pings stop.
    ping: { enabled: true, intervalMs: 15_000 },
    client: { reconnectAfterInactivityMs: 30_000 },
  },
  errorFormatter({ shape, error }) {
    // Field errors describe the caller's input only: a failed output check is our bug, and its details stay here.
    const zodError =
      error.code === 'BAD_REQUEST' && error.cause instanceof ZodError
        ? z.flattenError(error.cause)
        : error.cause instanceof AppError && error.cause.fieldErrors
          ? { formErrors: [], fieldErrors: error.cause.fieldErrors }
          : null;
    const retryAfterSeconds = error.cause instanceof AppError ? error.cause.retryAfterSeconds : undefined;
    return {
      ...shape,
      message: publicMessage(error, zodError),
      data: {
        code: shape.data.code,
        httpStatus: shape.data.httpStatus,
        path: shape.data.path,
        zodError,
        ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
      },
    };
  },
});

function publicMessage(error: TRPCError, zodError: z.core.$ZodFlattenedError<unknown> | null): string {
  if (error.code === 'INTERNAL_SERVER_ERROR') return 'Something went wrong on our side. Please try again.';
  if (error.cause instanceof ZodError && zodError) {
    const [field, messages] =
      Object.entries(zodError.fieldErrors as Record<string, string[] | undefined>)[0] ?? [];
    const first = messages?.[0] ?? zodError.formErrors[0];
    return field && first ? `Invalid input: ${field}: ${first}` : `Invalid input${first ? `: ${first}` : ''}`;
  }
  return error.message;
}

const toTrpcError = (cause: AppError) => new TRPCError({ code: cause.code, message: cause.message, cause });

/** A part could not be reached: the caller may try again soon, and is told so rather than "our side". */
const unavailable = (part: 'database' | 'file storage', cause: unknown) =>
  new TRPCError({
    code: 'SERVICE_UNAVAILABLE',
    message: `Leonidas cannot reach its ${part} right now. Try again in a moment.`,
    cause,
  });

/** What the client is told of an error a procedure (or its stream) threw, if it is an expected one. */
function expectedError(error: unknown): TRPCError | undefined {
  if (error instanceof AppError) return toTrpcError(error);
  // Before the database check, whose network error codes an unreachable store's errors also carry.
  if (error instanceof StorageUnavailableError) return unavailable('file storage', error);
  if (isDatabaseUnavailable(error)) return unavailable('database', error);
  return undefined;
}

/**
 * Domain code throws `AppError`; this turns it into the matching tRPC error, keeping the message, also when a
 * subscription's stream throws it part-way (tRPC would otherwise report it as an internal error). A database
 * that cannot be reached is SERVICE_UNAVAILABLE, wherever the call failed.
 */
const appErrors = t.middleware(async ({ next }) => {
  const result = await next();
  const expected = result.ok ? undefined : expectedError(result.error.cause);
  if (expected) throw expected;
  if (result.ok && isAsyncIterable(result.data)) return { ...result, data: mapStreamErrors(result.data) };
  return result;
});

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

async function* mapStreamErrors<T>(stream: AsyncIterable<T>): AsyncGenerator<T> {
  try {
    yield* stream;
  } catch (error) {
    throw expectedError(error) ?? error;
  }
}

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;
export const publicProcedure = t.procedure.use(appErrors);

/** Verifies the bearer token and narrows the context to the signed-in user and their sign-in. */
export const protectedProcedure = publicProcedure.use(({ ctx, next }) => {
  const signIn = ctx.accessToken ? ctx.deps.tokens.verifyAccessToken(ctx.accessToken) : null;
  if (!signIn || ctx.deps.signIns.isRevokedHere(signIn.loginId)) {
    throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Sign in to continue.' });
  }
  return next({ ctx: { ...ctx, user: { id: signIn.userId }, signIn } });
});

/** Sign-up and sign-in, limited per client address against credential stuffing and mass sign-ups. */
export const authProcedure = publicProcedure.use(({ ctx, next }) => {
  const decision = ctx.deps.authLimiter.hit(ctx.clientAddress);
  if (!decision.allowed)
    throw tooManyRequests('Too many sign-in attempts from your address.', decision.retryAfterMs);
  return next();
});
