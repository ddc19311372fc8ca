import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';
import type { AppRouter } from './root.js';

export type { User } from './auth/schema.js';
export type { ChatRequest, LlmProvider, ProviderEvent } from './chat/llm/types.js';
export type {
  CellValue,
  ChatEvent,
  MakeChartOutput,
  Message,
  NumberCheck,
  RunSqlOutput,
  SaveTableOutput,
  ToolError,
} from './chat/schema.js';
export { recoverInterruptedRuns } from './chat/service.js';
export type { Clock } from './clock.js';
export {
  type ApiDeps,
  type ApiDepsOptions,
  type Context,
  createApiDeps,
  createContext,
  type FileSettings,
} from './context.js';
export { finishAbandonedDeletions } from './deletion/service.js';
export { type ApiEnv, apiEnvProblems, apiEnvSchema, parseApiEnv } from './env.js';
export { retryAfterSecondsOf } from './errors.js';
export type { FileWorkerData } from './file/processing-thread.js';
export type { File, FilePreview, FileSource, FileStatus, Provenance } from './file/schema.js';
export { sweepExpiredUploads } from './file/sweep.js';
export type { Logger } from './logger.js';
export type { Project } from './project/schema.js';
export { type AppRouter, appRouter } from './root.js';
export type { Session } from './session/schema.js';
export { Storage, type StorageConfig, UPLOAD_STATE_TAG } from './storage/s3.js';
export { createCallerFactory } from './trpc.js';

export type RouterInputs = inferRouterInputs<AppRouter>;
export type RouterOutputs = inferRouterOutputs<AppRouter>;
