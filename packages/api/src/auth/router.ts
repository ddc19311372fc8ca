import { z } from 'zod';
import type { Context } from '../context.js';
import { authProcedure, protectedProcedure, publicProcedure, router } from '../trpc.js';
import {
  type AuthResult,
  authResultOutput,
  type IssuedTokens,
  loginInput,
  logoutInput,
  refreshInput,
  registerInput,
  userOutput,
} from './schema.js';
import * as auth from './service.js';

/** In the body, as services take it, or in the browser's HttpOnly cookie and not in the body. */
function handOver(ctx: Context, refreshTokenIn: 'cookie' | undefined, issued: IssuedTokens): AuthResult {
  return refreshTokenIn === 'cookie' ? ctx.refreshCookie.deliver(issued) : issued;
}

export const authRouter = router({
  register: authProcedure
    .input(registerInput)
    .output(authResultOutput)
    .mutation(async ({ ctx, input: { refreshTokenIn, ...account } }) =>
      handOver(ctx, refreshTokenIn, await auth.register(ctx.deps, account)),
    ),
  login: authProcedure
    .input(loginInput)
    .output(authResultOutput)
    .mutation(async ({ ctx, input: { refreshTokenIn, ...credentials } }) =>
      handOver(
        ctx,
        refreshTokenIn,
        await auth.login(ctx.deps, { ...credentials, clientAddress: ctx.clientAddress }),
      ),
    ),
  // Refresh and logout present a 256-bit secret, which no rate of guessing finds; counting them against the
  // address would let anyone sharing it (every local process, on a default install) starve real sign-ins.
  refresh: publicProcedure
    .input(refreshInput)
    .output(authResultOutput)
    .mutation(async ({ ctx, input: { refreshToken, refreshTokenIn } }) => {
      // A token that came in the cookie only ever goes back into it: a script never gets to see it.
      const fromCookie = refreshToken === undefined;
      const issued = await auth.refresh(ctx.deps, { refreshToken: refreshToken ?? ctx.refreshCookie.token });
      return handOver(ctx, fromCookie ? 'cookie' : refreshTokenIn, issued);
    }),
  logout: publicProcedure
    .input(logoutInput)
    .output(z.object({ ok: z.literal(true) }))
    .mutation(({ ctx, input: { refreshToken } }) => {
      if (refreshToken !== undefined) return auth.logout(ctx.deps, { refreshToken });
      // Cleared first: even if revoking fails, this browser no longer holds the sign-in.
      ctx.refreshCookie.clear();
      return auth.logout(ctx.deps, { refreshToken: ctx.refreshCookie.token });
    }),
  me: protectedProcedure.output(userOutput).query(({ ctx }) => auth.me(ctx.deps, ctx.user.id)),
});
