import type { AppRouter } from '@leonidas/api';
import { createLeonidasClient } from '@leonidas/client';
import { QueryClient } from '@tanstack/react-query';
import { createTRPCContext } from '@trpc/tanstack-react-query';
import { getAccessToken, onSignOut } from './auth.js';

export const { TRPCProvider, useTRPC } = createTRPCContext<AppRouter>();

export const queryClient = new QueryClient({
  defaultOptions: { queries: { staleTime: 5_000, retry: 1, refetchOnWindowFocus: false } },
});
// Nothing of a signed-out user stays in memory for whoever signs in next.
onSignOut(() => queryClient.clear());

/** The same SDK other services use: batched HTTP, SSE subscriptions with the Authorization header. */
export const trpcClient = createLeonidasClient({ url: window.location.origin, getToken: getAccessToken });
