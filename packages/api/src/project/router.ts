import { z } from 'zod';
import { protectedProcedure, router } from '../trpc.js';
import {
  createProjectInput,
  listProjectsInput,
  projectIdInput,
  projectOutput,
  projectPageOutput,
  updateProjectInput,
} from './schema.js';
import * as projects from './service.js';

export const projectRouter = router({
  list: protectedProcedure
    .input(listProjectsInput)
    .output(projectPageOutput)
    .query(({ ctx, input }) => projects.listProjects(ctx.deps, { userId: ctx.user.id, ...input })),
  create: protectedProcedure
    .input(createProjectInput)
    .output(projectOutput)
    .mutation(({ ctx, input }) => projects.createProject(ctx.deps, { userId: ctx.user.id, ...input })),
  byId: protectedProcedure
    .input(projectIdInput)
    .output(projectOutput)
    .query(({ ctx, input }) => projects.getProject(ctx.deps, { userId: ctx.user.id, ...input })),
  update: protectedProcedure
    .input(updateProjectInput)
    .output(projectOutput)
    .mutation(({ ctx, input }) => projects.updateProject(ctx.deps, { userId: ctx.user.id, ...input })),
  delete: protectedProcedure
    .input(projectIdInput)
    .output(z.object({ ok: z.literal(true) }))
    .mutation(({ ctx, input }) => projects.deleteProject(ctx.deps, { userId: ctx.user.id, ...input })),
});
