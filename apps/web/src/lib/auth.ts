import type { AppRouter } from '@leonidas/api';
import { createTRPCClient, httpBatchLink } from '@trpc/client';
import type { inferRouterOutputs } from '@trpc/server';
import { useSyncExternalStore } from 'react';
import superjson from 'superjson';

type AuthResult = inferRouterOutputs<AppRouter>['auth']['login'];
export type SignedIn = {
  user: AuthResult['user'];
  accessToken: string;
  refreshToken: string;
  /** When the access token was received (absent in sign-ins stored by older versions) and expires, epoch ms. */
  receivedAt?: number;
  expiresAt: number;
};

const STORAGE_KEY = 'leonidas.auth';
const listeners = new Set<() => void>();

function read(): SignedIn | null {
  try {
    const raw = localStorage.getItem(STORAGE_KEY);
    return raw ? (JSON.parse(raw) as SignedIn) : null;
  } catch {
    return null;
  }
}

let current: SignedIn | null = read();

function write(next: SignedIn | null): void {
  current = next;
  if (next) localStorage.setItem(STORAGE_KEY, JSON.stringify(next));
  else localStorage.removeItem(STORAGE_KEY);
  for (const listener of listeners) listener();
}

export function signIn(result: AuthResult): void {
  write({
    user: result.user,
    accessToken: result.accessToken,
    refreshToken: result.refreshToken,
    receivedAt: Date.now(),
    expiresAt: new Date(result.accessTokenExpiresAt).getTime(),
  });
}

export function signOut(): SignedIn | null {
  const previous = current;
  write(null);
  return previous;
}

export function useAuth(): SignedIn | null {
  return useSyncExternalStore(
    (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    () => current,
  );
}

// Refresh goes through its own plain client, so it never waits on the token it is renewing.
const refresher = createTRPCClient<AppRouter>({
  links: [httpBatchLink({ url: '/trpc', transformer: superjson })],
});
let refreshing: Promise<string | null> | null = null;

/**
 * The access token to send, renewed shortly before it expires (a minute before, or in the last quarter of a
 * shorter life; one refresh at a time, shared by every caller), so a user never meets an expiry. A refresh that
 * fails signs the user out.
 */
export async function getAccessToken(): Promise<string | null> {
  const auth = current;
  if (!auth) return null;
  const margin = auth.receivedAt ? Math.min(60_000, (auth.expiresAt - auth.receivedAt) / 4) : 60_000;
  if (auth.expiresAt - Date.now() > margin) return auth.accessToken;
  refreshing ??= refresher.auth.refresh
    .mutate({ refreshToken: auth.refreshToken })
    .then((result) => {
      signIn(result);
      return result.accessToken;
    })
    .catch(() => {
      write(null);
      return null;
    })
    .finally(() => {
      refreshing = null;
    });
  return refreshing;
}
