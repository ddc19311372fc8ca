import type { AppRouter } from '@leonidas/api';
import {
  createTRPCClient,
  httpBatchLink,
  httpSubscriptionLink,
  type Operation,
  splitLink,
  TRPCClientError,
  type TRPCLink,
} from '@trpc/client';
import type { inferRouterOutputs } from '@trpc/server';
import { observable, type Unsubscribable } from '@trpc/server/observable';
import { EventSource } from 'eventsource';
import superjson from 'superjson';
import { fetchWithinOrigin } from './redirects.js';

type MaybePromise<T> = T | Promise<T>;
export type AuthTokens = inferRouterOutputs<AppRouter>['auth']['refresh'];

export type LeonidasClientOptions = {
  /** The server's base URL, e.g. `http://localhost:3000` (the API lives under `/trpc`). */
  url: string;
} & (
  | { token: string; getToken?: never; refreshToken?: never; renew?: never; onTokens?: never }
  | {
      getToken: () => MaybePromise<string | null | undefined>;
      token?: never;
      /**
       * Lets the client renew the access token shortly before it expires, and once after a refused call (which
       * it then retries), with `auth.refresh`.
       */
      refreshToken?: string | (() => MaybePromise<string | null | undefined>);
      /**
       * How to get new tokens instead, e.g. a browser's refresh through an HttpOnly cookie: called when the
       * token is about to expire or was refused, one call at a time. Null (or a throw): there are none.
       */
      renew?: () => Promise<AuthTokens | null>;
      /** Told about every renewal (the refresh token rotates each time): store them for next time. */
      onTokens?: (tokens: AuthTokens) => void;
    }
  | { token?: never; getToken?: never; refreshToken?: never; renew?: never; onTokens?: never }
);

/**
 * Calls the SDK sends in one batch at most. A server accepts at least this many (its `MAX_BATCH_SIZE` cannot be
 * set lower, and defaults to this), so SDK batches are never refused.
 */
export const MAX_BATCH_ITEMS = 20;

export function createLeonidasClient(options: LeonidasClientOptions) {
  const url = `${options.url.replace(/\/+$/, '')}/trpc`;
  const tokens = new TokenKeeper(url, options);
  // Tokens travel in the Authorization header only, never in URLs, subscriptions included. Each operation
  // remembers the token it went out with, so a refusal can tell whether a newer one exists.
  const authorization = async (ops: readonly Operation[]): Promise<Record<string, string>> => {
    const token = await tokens.accessToken();
    for (const op of ops) tokens.sent.set(op, token);
    return token ? { authorization: `Bearer ${token}` } : {};
  };
  return createTRPCClient<AppRouter>({
    links: [
      renewOnUnauthorized(tokens),
      splitLink({
        condition: (op) => op.type === 'subscription',
        // The `eventsource` package can send headers, which the browser's own EventSource cannot.
        true: httpSubscriptionLink({
          url,
          transformer: superjson,
          EventSource,
          eventSourceOptions: async ({ op }) => {
            const headers = await authorization([op]);
            return {
              fetch: (input, init) =>
                fetchWithinOrigin(input, { ...init, headers: { ...init.headers, ...headers } }),
            };
          },
        }),
        false: httpBatchLink({
          url,
          transformer: superjson,
          fetch: fetchWithinOrigin,
          maxItems: MAX_BATCH_ITEMS,
          headers: ({ opList }) => authorization(opList),
        }),
      }),
    ],
  });
}

/** The current access token, and one shared renewal at a time when it is refused. */
class TokenKeeper {
  /** The access token each operation was sent with. */
  readonly sent = new WeakMap<Operation, string | null | undefined>();
  private renewed: AuthTokens | undefined;
  /** The app's own token (`token`/`getToken`) when the renewal above was made. */
  private renewedFrom: string | null | undefined;
  private renewing: Promise<boolean> | undefined;
  private readonly plain;

  constructor(
    url: string,
    private readonly options: LeonidasClientOptions,
  ) {
    // Renewal uses its own client: it must not go through the links that wait for it.
    this.plain = createTRPCClient<AppRouter>({
      links: [httpBatchLink({ url, transformer: superjson, fetch: fetchWithinOrigin })],
    });
  }

  private get canRenew(): boolean {
    return this.options.renew !== undefined || this.options.refreshToken !== undefined;
  }

  /** Whether an access token other than `refused` is now in hand (renewing first when it can). */
  async newerThan(refused: string | null | undefined): Promise<boolean> {
    if (this.canRenew && !(await this.renew())) return false;
    const token = await this.current();
    return Boolean(token) && token !== refused;
  }

  /** The access token to send: renewed first when it expires within a minute (or its last quarter of life). */
  async accessToken(): Promise<string | null | undefined> {
    const token = await this.current();
    if (!token || !this.canRenew || !expiresSoon(token, Date.now())) return token;
    await this.renew();
    return this.current();
  }

  /**
   * The app's token stays the source of truth: a renewal is used only while the app still gives the token it
   * replaced (or the renewed one, reported through `onTokens` or taken by its own `renew`). Once the app gives
   * another (signed out: none; signed in again: a new one), the renewal is forgotten, its refresh token with it.
   */
  private async current(): Promise<string | null | undefined> {
    const given = await this.given();
    if (this.renewed) {
      if (given === this.renewedFrom || given === this.renewed.accessToken) return this.renewed.accessToken;
      this.renewed = undefined;
    }
    return given;
  }

  private async given(): Promise<string | null | undefined> {
    return this.options.token ?? (await this.options.getToken?.());
  }

  /** One renewal at a time, shared by every caller; true when a new access token is in hand. */
  private renew(): Promise<boolean> {
    this.renewing ??= this.refresh().finally(() => {
      this.renewing = undefined;
    });
    return this.renewing;
  }

  private async refresh(): Promise<boolean> {
    // Forgets a renewal the app has moved on from (see current) before choosing how to renew.
    await this.current();
    const given = await this.given();
    const renewed = await (this.options.renew ?? (() => this.refreshWithToken()))().catch(() => null);
    if (!renewed) return false;
    this.renewed = renewed;
    this.renewedFrom = given;
    this.options.onTokens?.(renewed);
    return true;
  }

  /** The default renewal: `auth.refresh` with the latest refresh token (the rotated one after a renewal). */
  private async refreshWithToken(): Promise<AuthTokens | null> {
    const source = this.options.refreshToken;
    const refreshToken =
      this.renewed?.refreshToken ?? (typeof source === 'function' ? await source() : source);
    return refreshToken ? this.plain.auth.refresh.mutate({ refreshToken }) : null;
  }
}

/**
 * Whether a JWT access token expires within a minute, or within the last quarter of its life when that is
 * shorter, read from its own `exp` and `iat` claims (not verified: the server does that). Anything that is not
 * such a token is left to the server to refuse.
 */
export function expiresSoon(token: string, now: number): boolean {
  const payload = token.split('.')[1];
  if (!payload) return false;
  try {
    const claims = JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/'))) as {
      exp?: unknown;
      iat?: unknown;
    };
    if (typeof claims.exp !== 'number') return false;
    const life = typeof claims.iat === 'number' ? claims.exp - claims.iat : 3600;
    return claims.exp * 1000 - now <= Math.min(60, life / 4) * 1000;
  } catch {
    return false;
  }
}

/**
 * On UNAUTHORIZED, gets a newer access token (renewed with the refresh token when there is one, else asked for
 * again) and repeats the operation, auth calls excepted. A query or mutation is repeated once. A subscription is
 * resumed every time the server ends it because its token expired, as long as a newer token is in hand: it picks
 * up after the last event it delivered, and its consumer sees one unbroken stream (one `started`, no gap, no
 * duplicate).
 */
function renewOnUnauthorized(tokens: TokenKeeper): TRPCLink<AppRouter> {
  return () =>
    ({ op, next }) =>
      observable((observer) => {
        let subscription: Unsubscribable | undefined;
        let disposed = false;
        let retried = false;
        let started = false;
        let lastEventId: string | undefined;
        const attempt = () => {
          const attemptOp: Operation =
            lastEventId === undefined ? op : { ...op, input: { ...(op.input as object), lastEventId } };
          subscription = next(attemptOp).subscribe({
            next: (envelope) => {
              const { result } = envelope;
              if (result.type === 'started') {
                if (started) return;
                started = true;
              }
              if ((result.type === undefined || result.type === 'data') && 'id' in result && result.id) {
                lastEventId = result.id;
              }
              observer.next(envelope);
            },
            complete: () => observer.complete(),
            error: (error) => {
              const renewable =
                errorCode(error) === 'UNAUTHORIZED' &&
                !op.path.startsWith('auth.') &&
                (op.type === 'subscription' || !retried);
              if (!renewable) return observer.error(error);
              retried = true;
              tokens.newerThan(tokens.sent.get(attemptOp)).then(
                (newer) => {
                  if (disposed) return;
                  if (newer) attempt();
                  else observer.error(error);
                },
                () => observer.error(error),
              );
            },
          });
        };
        attempt();
        return () => {
          disposed = true;
          subscription?.unsubscribe();
        };
      });
}

export type LeonidasClient = ReturnType<typeof createLeonidasClient>;
export type LeonidasClientError = TRPCClientError<AppRouter>;

/** Narrows an unknown error to one from the Leonidas API, with `data.code` and `data.zodError` typed. */
export function isLeonidasError(error: unknown): error is LeonidasClientError {
  return error instanceof TRPCClientError;
}

/** The API's error code (`NOT_FOUND`, `CONFLICT`, `BAD_REQUEST`, ...), or undefined for other errors. */
export function errorCode(error: unknown): string | undefined {
  return isLeonidasError(error) ? error.data?.code : undefined;
}

/** Per-field messages of a BAD_REQUEST, e.g. `{ password: ['Password must be at least 8 characters'] }`. */
export function fieldErrors(error: unknown): Record<string, string[] | undefined> {
  return (isLeonidasError(error) ? error.data?.zodError?.fieldErrors : undefined) ?? {};
}

export type {
  AppRouter,
  CellValue,
  ChatEvent,
  MakeChartOutput,
  Message,
  NumberCheck,
  RouterInputs,
  RouterOutputs,
  RunSqlOutput,
  SaveTableOutput,
  ToolError,
} from '@leonidas/api';
export { type AskInput, ask, type UploadInput, uploadFile, uploadForm } from './helpers.js';
export { RedirectRefusedError } from './redirects.js';
