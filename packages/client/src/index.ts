import type { AppRouter } from '@leonidas/api';
import {
  createTRPCClient,
  httpBatchLink,
  httpSubscriptionLink,
  splitLink,
  TRPCClientError,
} from '@trpc/client';
import { EventSource } from 'eventsource';
import superjson from 'superjson';

type MaybePromise<T> = T | Promise<T>;

export type LeonidasClientOptions = {
  /** The server's base URL, e.g. `http://localhost:3000` (the API lives under `/trpc`). */
  url: string;
} & (
  | { token: string; getToken?: never }
  | { getToken: () => MaybePromise<string | null | undefined>; token?: never }
  | { token?: never; getToken?: never }
);

/** The server accepts at most this many calls per batch (`MAX_BATCH_SIZE`, default 20). */
const MAX_BATCH_ITEMS = 20;

export function createLeonidasClient(options: LeonidasClientOptions) {
  const getToken = options.getToken ?? (() => options.token);
  const url = `${options.url.replace(/\/+$/, '')}/trpc`;
  // Tokens travel in the Authorization header only, never in URLs, subscriptions included.
  const authorization = async (): Promise<Record<string, string>> => {
    const token = await getToken();
    return token ? { authorization: `Bearer ${token}` } : {};
  };
  return createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        // The `eventsource` package can send headers, which the browser's own EventSource cannot.
        true: httpSubscriptionLink({
          url,
          transformer: superjson,
          EventSource,
          eventSourceOptions: async () => {
            const headers = await authorization();
            return {
              fetch: (input, init) => fetch(input, { ...init, headers: { ...init.headers, ...headers } }),
            };
          },
        }),
        false: httpBatchLink({
          url,
          transformer: superjson,
          maxItems: MAX_BATCH_ITEMS,
          headers: authorization,
        }),
      }),
    ],
  });
}

export type LeonidasClient = ReturnType<typeof createLeonidasClient>;
export type LeonidasClientError = TRPCClientError<AppRouter>;

/** Narrows an unknown error to one from the Leonidas API, with `data.code` and `data.zodError` typed. */
export function isLeonidasError(error: unknown): error is LeonidasClientError {
  return error instanceof TRPCClientError;
}

export type { AppRouter, RouterInputs, RouterOutputs } from '@leonidas/api';
