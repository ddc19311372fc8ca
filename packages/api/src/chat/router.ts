import { z } from 'zod';
import { sessionOutput } from '../session/schema.js';
import { protectedProcedure, router } from '../trpc.js';
import {
  cancelInput,
  deleteMessageInput,
  editInput,
  historyInput,
  messagePageOutput,
  onEventsInput,
  regenerateInput,
  regenerateOutput,
  selectBranchInput,
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
  edit: protectedProcedure
    .input(editInput)
    .output(sendOutput)
    .mutation(({ ctx, input }) => chat.edit(ctx.deps, { userId: ctx.user.id, ...input })),
  regenerate: protectedProcedure
    .input(regenerateInput)
    .output(regenerateOutput)
    .mutation(({ ctx, input }) => chat.regenerate(ctx.deps, { userId: ctx.user.id, ...input })),
  selectBranch: protectedProcedure
    .input(selectBranchInput)
    .output(sessionOutput)
    .mutation(({ ctx, input }) => chat.selectBranch(ctx.deps, { userId: ctx.user.id, ...input })),
  deleteMessage: protectedProcedure
    .input(deleteMessageInput)
    .output(z.object({ ok: z.literal(true) }))
    .mutation(({ ctx, input }) => chat.deleteMessage(ctx.deps, { userId: ctx.user.id, ...input })),
});
