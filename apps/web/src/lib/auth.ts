import type { AppRouter } from '@leonidas/api';
import { createTRPCClient, httpLink } from '@trpc/client';
import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';
import { useSyncExternalStore } from 'react';
import superjson from 'superjson';
import { clearDrafts } from './drafts.js';

type AuthResult = inferRouterOutputs<AppRouter>['auth']['login'];
type RefreshInput = inferRouterInputs<AppRouter>['auth']['refresh'];

export type AuthState =
  /** At page load, while the refresh cookie is exchanged for an access token. */
  { status: 'restoring' } | { status: 'signed-out' } | { status: 'signed-in'; user: AuthResult['user'] };

/**
 * The refresh token lives in an HttpOnly cookie that no script can read, sent only to `auth.refresh` and
 * `auth.logout`; the access token lives here, in this tab's memory only, and a reload gets a new one with the
 * cookie. Nothing token-like goes into localStorage or sessionStorage, where any script in the page could read it.
 */
let accessToken: string | null = null;

/**
 * Whether this browser signed in (a flag, no secret), so that a page load tries the cookie only then and a
 * visitor who never signed in causes no refused refresh.
 */
const SIGNED_IN_FLAG = 'leonidas.signedIn';
/** Where earlier versions kept both tokens: moved into the cookie at the next page load, and removed. */
const STORED_TOKENS_KEY = 'leonidas.auth';

let state: AuthState =
  localStorage.getItem(SIGNED_IN_FLAG) || localStorage.getItem(STORED_TOKENS_KEY)
    ? { status: 'restoring' }
    : { status: 'signed-out' };
const listeners = new Set<() => void>();
const signOutListeners = new Set<() => void>();
/** Counts sign-outs, so that a refresh still under way at one cannot sign the tab in again. */
let signOuts = 0;

function setState(next: AuthState): void {
  state = next;
  for (const listener of listeners) listener();
}

export function useAuth(): AuthState {
  return useSyncExternalStore(
    (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    () => state,
  );
}

/** Called whenever this tab signs out, however that came about (e.g. to drop cached data). */
export function onSignOut(listener: () => void): void {
  signOutListeners.add(listener);
}

export function signIn(result: AuthResult): void {
  accessToken = result.accessToken;
  localStorage.setItem(SIGNED_IN_FLAG, 'yes');
  setState({ status: 'signed-in', user: result.user });
}

function endSession(): void {
  signOuts++;
  accessToken = null;
  localStorage.removeItem(SIGNED_IN_FLAG);
  setState({ status: 'signed-out' });
  for (const listener of signOutListeners) listener();
}

/** The other tabs of the app sign out with this one. */
const tabs = new BroadcastChannel('leonidas.auth');
tabs.addEventListener('message', (event: MessageEvent<unknown>) => {
  if (event.data === 'signed-out') endSession();
});

// Unbatched, so that each call goes to its own path (`/trpc/auth.refresh`), the only one its cookie is sent to;
// and a client of its own, so that renewal never waits on the token it is renewing.
const authCalls = createTRPCClient<AppRouter>({
  links: [httpLink({ url: '/trpc', transformer: superjson })],
});

/**
 * Tabs share the cookie, and a refresh token presented twice counts as stolen (its whole sign-in is revoked):
 * two tabs refreshing at once, as when a browser reopens them together, would sign the user out everywhere. So
 * one tab refreshes at a time (Web Locks; they exist in secure contexts only, https and localhost).
 */
async function oneTabAtATime<T>(task: () => Promise<T>): Promise<T> {
  return navigator.locks ? await navigator.locks.request('leonidas.refresh', task) : await task();
}

let renewing: Promise<AuthResult | null> | null = null;

/**
 * New tokens (the cookie rotates with them; the response carries the access token only), shared by every
 * caller; a refused refresh signs out. The SDK calls it when the access token is about to expire or was refused.
 */
export function renew(input: RefreshInput = {}): Promise<AuthResult | null> {
  const signOutsBefore = signOuts;
  renewing ??= oneTabAtATime(() => authCalls.auth.refresh.mutate(input))
    .then(
      (result) => {
        if (signOuts !== signOutsBefore) return null;
        signIn(result);
        return result;
      },
      () => {
        if (signOuts === signOutsBefore) endSession();
        return null;
      },
    )
    .finally(() => {
      renewing = null;
    });
  return renewing;
}

/** Tokens stored by an earlier version: the refresh token is moved into the cookie (and so rotated). */
function storedRefreshToken(): string | undefined {
  const stored = localStorage.getItem(STORED_TOKENS_KEY);
  localStorage.removeItem(STORED_TOKENS_KEY);
  try {
    const { refreshToken } = JSON.parse(stored ?? '{}') as { refreshToken?: unknown };
    return typeof refreshToken === 'string' ? refreshToken : undefined;
  } catch {
    return undefined;
  }
}

function restore(): Promise<unknown> {
  const refreshToken = storedRefreshToken();
  return renew(refreshToken ? { refreshToken, refreshTokenIn: 'cookie' } : {});
}

/** Settles once this page load knows whether the user is signed in. */
const restored = state.status === 'restoring' ? restore() : Promise.resolve();

/**
 * The access token to send, once this page load knows whether the user is signed in. Renewing it (before it
 * expires, and after a refusal) is the SDK's, through `renew`, as for any other client.
 */
export async function getAccessToken(): Promise<string | null> {
  await restored;
  return accessToken;
}

/**
 * Ends the sign-in: in this tab at once (the access token, cached data, drafts), in the other tabs, and on the
 * server, which revokes it and clears the cookie (only it can: the cookie is HttpOnly).
 */
export async function logOut(): Promise<void> {
  endSession();
  clearDrafts();
  tabs.postMessage('signed-out');
  await authCalls.auth.logout.mutate({}).catch(() => undefined);
}
