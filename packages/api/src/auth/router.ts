import { z } from 'zod';
import { authProcedure, protectedProcedure, publicProcedure, router } from '../trpc.js';
import { authResultOutput, loginInput, refreshTokenInput, registerInput, userOutput } from './schema.js';
import * as auth from './service.js';

export const authRouter = router({
  register: authProcedure
    .input(registerInput)
    .output(authResultOutput)
    .mutation(({ ctx, input }) => auth.register(ctx.deps, input)),
  login: authProcedure
    .input(loginInput)
    .output(authResultOutput)
    .mutation(({ ctx, input }) => auth.login(ctx.deps, { ...input, clientAddress: ctx.clientAddress })),
  // Refresh and logout present a 256-bit secret, which no rate of guessing finds; counting them against the
  // address would let anyone sharing it (every local process, on a default install) starve real sign-ins.
  refresh: publicProcedure
    .input(refreshTokenInput)
    .output(authResultOutput)
    .mutation(({ ctx, input }) => auth.refresh(ctx.deps, input)),
  logout: publicProcedure
    .input(refreshTokenInput)
    .output(z.object({ ok: z.literal(true) }))
    .mutation(({ ctx, input }) => auth.logout(ctx.deps, input)),
  me: protectedProcedure.output(userOutput).query(({ ctx }) => auth.me(ctx.deps, ctx.user.id)),
});
