import { z } from 'zod';
import { startOver } from '../chat/service.js';
import { protectedProcedure, router } from '../trpc.js';
import {
  createSessionInput,
  listSessionsInput,
  sessionIdInput,
  sessionOutput,
  sessionPageOutput,
  updateSessionInput,
} from './schema.js';
import * as sessions from './service.js';

export const sessionRouter = router({
  list: protectedProcedure
    .input(listSessionsInput)
    .output(sessionPageOutput)
    .query(({ ctx, input }) => sessions.listSessions(ctx.deps, { userId: ctx.user.id, ...input })),
  create: protectedProcedure
    .input(createSessionInput)
    .output(sessionOutput)
    .mutation(({ ctx, input }) => sessions.createSession(ctx.deps, { userId: ctx.user.id, ...input })),
  byId: protectedProcedure
    .input(sessionIdInput)
    .output(sessionOutput)
    .query(({ ctx, input }) => sessions.getSessionById(ctx.deps, { userId: ctx.user.id, ...input })),
  update: protectedProcedure
    .input(updateSessionInput)
    .output(sessionOutput)
    .mutation(({ ctx, input }) => sessions.updateSession(ctx.deps, { userId: ctx.user.id, ...input })),
  refresh: protectedProcedure
    .input(sessionIdInput)
    .output(sessionOutput)
    .mutation(({ ctx, input }) => startOver(ctx.deps, { userId: ctx.user.id, ...input })),
  delete: protectedProcedure
    .input(sessionIdInput)
    .output(z.object({ ok: z.literal(true) }))
    .mutation(({ ctx, input }) => sessions.deleteSession(ctx.deps, { userId: ctx.user.id, ...input })),
});
