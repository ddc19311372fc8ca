import { z } from 'zod';
import { protectedProcedure, router } from '../trpc.js';
import {
  createUploadInput,
  createUploadOutput,
  downloadUrlOutput,
  fileIdInput,
  fileOutput,
  filePageOutput,
  listFilesInput,
  previewInput,
  previewOutput,
  renameFileInput,
} from './schema.js';
import * as files from './service.js';

export const fileRouter = router({
  createUpload: protectedProcedure
    .input(createUploadInput)
    .output(createUploadOutput)
    .mutation(({ ctx, input }) => files.createUpload(ctx.deps, { userId: ctx.user.id, ...input })),
  confirm: protectedProcedure
    .input(fileIdInput)
    .output(fileOutput)
    .mutation(({ ctx, input }) => files.confirmFile(ctx.deps, { userId: ctx.user.id, ...input })),
  list: protectedProcedure
    .input(listFilesInput)
    .output(filePageOutput)
    .query(({ ctx, input }) => files.listFiles(ctx.deps, { userId: ctx.user.id, ...input })),
  byId: protectedProcedure
    .input(fileIdInput)
    .output(fileOutput)
    .query(({ ctx, input }) => files.getFile(ctx.deps, { userId: ctx.user.id, ...input })),
  preview: protectedProcedure
    .input(previewInput)
    .output(previewOutput)
    .query(({ ctx, input }) => files.previewFile(ctx.deps, { userId: ctx.user.id, ...input })),
  downloadUrl: protectedProcedure
    .input(fileIdInput)
    .output(downloadUrlOutput)
    .query(({ ctx, input }) => files.downloadUrl(ctx.deps, { userId: ctx.user.id, ...input })),
  rename: protectedProcedure
    .input(renameFileInput)
    .output(fileOutput)
    .mutation(({ ctx, input }) => files.renameFile(ctx.deps, { userId: ctx.user.id, ...input })),
  delete: protectedProcedure
    .input(fileIdInput)
    .output(z.object({ ok: z.literal(true) }))
    .mutation(({ ctx, input }) => files.deleteFile(ctx.deps, { userId: ctx.user.id, ...input })),
});
