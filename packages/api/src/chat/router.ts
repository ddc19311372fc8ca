import { z } from 'zod';
import { protectedProcedure, router } from '../trpc.js';
import {
  cancelInput,
  historyInput,
  messagePageOutput,
  onEventsInput,
  sendInput,
  sendOutput,
} from './schema.js';
import * as chat from './service.js';

export const chatRouter = router({
  send: protectedProcedure
    .input(sendInput)
    .output(sendOutput)
    .mutation(({ ctx, input }) => chat.send(ctx.deps, { userId: ctx.user.id, ...input })),
  onEvents: protectedProcedure
    .input(onEventsInput)
    .subscription(({ ctx, input, signal }) =>
      chat.subscribe(ctx.deps, { userId: ctx.user.id, signIn: ctx.signIn, ...input }, signal),
    ),
  cancel: protectedProcedure
    .input(cancelInput)
    .output(z.object({ ok: z.literal(true) }))
    .mutation(({ ctx, input }) => chat.cancel(ctx.deps, { userId: ctx.user.id, ...input })),
  history: protectedProcedure
    .input(historyInput)
    .output(messagePageOutput)
    .query(({ ctx, input }) => chat.history(ctx.deps, { userId: ctx.user.id, ...input })),
});
