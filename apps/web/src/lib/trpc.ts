import type { AppRouter } from '@leonidas/api';
import { createLeonidasClient } from '@leonidas/client';
import { QueryClient } from '@tanstack/react-query';
import { createTRPCContext } from '@trpc/tanstack-react-query';
import { getAccessToken, onSignOut, renew } from './auth.js';

export const { TRPCProvider, useTRPC } = createTRPCContext<AppRouter>();

export const queryClient = new QueryClient({
  defaultOptions: { queries: { staleTime: 5_000, retry: 1, refetchOnWindowFocus: false } },
});
// Nothing of a signed-out user stays in memory for whoever signs in next.
onSignOut(() => queryClient.clear());

/**
 * The same SDK other services use: batched HTTP, SSE subscriptions with the Authorization header, and its token
 * handling (renewed shortly before expiry and after a refused call, one renewal at a time), renewing through
 * the HttpOnly cookie.
 */
export const trpcClient = createLeonidasClient({
  url: window.location.origin,
  getToken: getAccessToken,
  renew: () => renew(),
});
