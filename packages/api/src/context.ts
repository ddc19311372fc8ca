import { createHmac } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import type { Db, DynamoConnection } from '@leonidas/db';
import { Analytics } from './analysis/duckdb.js';
import type { QueryLimits } from './analysis/query-engine.js';
import { MAX_KEPT_ROWS } from './analysis/query-results.js';
import { TableCache } from './analysis/table-cache.js';
import { type CookieExchange, RefreshCookie } from './auth/refresh-cookie.js';
import { SignInWatcher } from './auth/sign-ins.js';
import { TokenService } from './auth/tokens.js';
import { BackgroundTasks } from './background.js';
import { RunHub } from './chat/hub.js';
import { createProvider } from './chat/llm/index.js';
import type { LlmProvider } from './chat/llm/types.js';
import { clientAddress } from './client-address.js';
import { type Clock, systemClock } from './clock.js';
import type { ApiEnv } from './env.js';
import { type FileProcessor, FileWork, processorInLine } from './file/processing.js';
import { FileThread, type FileWorkerData } from './file/processing-thread.js';
import { type Logger, silentLogger } from './logger.js';
import { CursorCodec } from './pagination.js';
import { type QuotaSettings, quotaSettings } from './quotas.js';
import { RateLimiter } from './rate-limit.js';
import type { Storage, StorageConfig } from './storage/s3.js';
import { WorkQueue } from './work-queue.js';

export interface FileSettings {
  maxUploadBytes: number;
  uploadUrlTtlSeconds: number;
  downloadUrlTtlSeconds: number;
  confirmWaitMs: number;
  /** Starts a worker thread running `analysis/scan-worker.ts`, where large files are scanned; else inline. */
  scanWorker?: (() => Worker) | undefined;
}

/** Everything the procedures need, built once at start-up and shared by every request. */
export interface ApiDeps {
  db: Db;
  storage: Storage;
  analytics: Analytics;
  background: BackgroundTasks;
  clock: Clock;
  logger: Logger;
  tokens: TokenService;
  signIns: SignInWatcher;
  cursors: CursorCodec;
  authLimiter: RateLimiter;
  chatLimiter: RateLimiter;
  files: FileSettings;
  /** Where uploads wait their turn to be validated and profiled, and where they are. */
  fileWork: FileWork;
  fileProcessor: FileProcessor;
  /** DS Bro's SQL: the tables' local copies, the queue queries wait in, and their limits. */
  tables: TableCache;
  queryWork: WorkQueue;
  queries: QueryLimits;
  quotas: QuotaSettings;
  llm: LlmProvider;
  runs: RunHub;
  chat: { maxRunMs: number; historyTokenBudget: number };
}

export interface ApiDepsOptions {
  db: Db;
  storage: Storage;
  env: ApiEnv & { JWT_SECRET: string };
  clock?: Clock;
  logger?: Logger;
  /** Where DuckDB spills when a file does not fit its memory limit. */
  scratchDirectory?: string;
  /** Where local copies of tables are kept for queries. */
  tableCacheDirectory?: string;
  /** Where files get their work folders while they are processed. */
  workDirectory?: string;
  /** Defaults to the provider `LLM_PROVIDER` names. */
  llm?: LlmProvider;
  /** How often live streams' logins are checked for a revocation made by another instance. */
  signInCheckIntervalMs?: number;
  /** See `FileSettings.scanWorker`: the server's build has the worker's file. */
  scanWorker?: () => Worker;
  /**
   * Files are processed on a thread of their own (`FileThread`), started by `start` (the server's build has its
   * file), with clients built from this configuration; without it, on this thread.
   */
  fileWorker?: {
    start: (data: FileWorkerData) => Worker;
    dynamo: DynamoConnection;
    storage: StorageConfig;
    /** The scan's worker file, which the processing thread starts for large files. */
    scanWorkerUrl?: string | undefined;
  };
}

export function createApiDeps({
  db,
  storage,
  env,
  clock = systemClock,
  logger = silentLogger,
  scratchDirectory = join(tmpdir(), 'leonidas-duckdb'),
  tableCacheDirectory = join(tmpdir(), 'leonidas-tables'),
  workDirectory = tmpdir(),
  llm = createProvider(env),
  signInCheckIntervalMs = 10_000,
  scanWorker,
  fileWorker,
}: ApiDepsOptions): ApiDeps {
  const secret = Buffer.from(env.JWT_SECRET);
  const duckdb = {
    memoryLimit: env.DUCKDB_MEMORY_LIMIT,
    threads: env.DUCKDB_THREADS,
    tempDirectory: scratchDirectory,
  };
  const analytics = new Analytics(duckdb);
  const files: FileSettings = {
    maxUploadBytes: env.MAX_UPLOAD_BYTES,
    uploadUrlTtlSeconds: env.UPLOAD_URL_TTL_SECONDS,
    downloadUrlTtlSeconds: env.DOWNLOAD_URL_TTL_SECONDS,
    confirmWaitMs: env.CONFIRM_WAIT_MS,
    scanWorker,
  };
  const tables: TableCache = new TableCache({
    directory: tableCacheDirectory,
    maxBytes: env.TABLE_CACHE_BYTES,
    storage,
    // Where files are profiled: that DuckDB's memory limit is the one budget for both.
    buildFromCsv: (file, csvPath, tablePath) => fileProcessor.buildTable(file.delimiter, csvPath, tablePath),
  });
  const fileProcessor: FileProcessor = fileWorker
    ? new FileThread(
        fileWorker.start,
        {
          dynamo: fileWorker.dynamo,
          tableName: db.tableName,
          storage: fileWorker.storage,
          duckdb,
          maxUploadBytes: env.MAX_UPLOAD_BYTES,
          scanWorkerUrl: fileWorker.scanWorkerUrl,
        },
        { db, storage, tables, logger, workDirectory },
      )
    : processorInLine({ db, storage, analytics, logger, files, tables, workDirectory });
  return {
    db,
    storage,
    analytics,
    background: new BackgroundTasks(),
    clock,
    logger,
    tokens: new TokenService({
      signingKey: secret,
      issuer: env.JWT_ISSUER,
      audience: env.JWT_AUDIENCE,
      accessTokenTtlSeconds: env.ACCESS_TOKEN_TTL_SECONDS,
      refreshTokenTtlDays: env.REFRESH_TOKEN_TTL_DAYS,
      clock,
    }),
    signIns: new SignInWatcher({
      db,
      clock,
      logger,
      checkIntervalMs: signInCheckIntervalMs,
      accessTokenTtlMs: env.ACCESS_TOKEN_TTL_SECONDS * 1000,
    }),
    // Its own key, derived from the configured secret, so a cursor can never pass as a token or vice versa.
    cursors: new CursorCodec(createHmac('sha256', secret).update('leonidas cursors').digest()),
    authLimiter: new RateLimiter({ limit: env.AUTH_RATE_LIMIT_PER_MINUTE, windowMs: 60_000, clock }),
    chatLimiter: new RateLimiter({ limit: env.CHAT_SEND_PER_MINUTE, windowMs: 60_000, clock }),
    llm,
    runs: new RunHub(env.CHAT_RUN_RETAIN_SECONDS * 1000),
    chat: { maxRunMs: env.CHAT_MAX_RUN_SECONDS * 1000, historyTokenBudget: env.CHAT_HISTORY_TOKEN_BUDGET },
    tables,
    queryWork: new WorkQueue({ perServer: env.QUERY_CONCURRENCY, perKey: 1 }),
    queries: {
      timeoutMs: env.QUERY_TIMEOUT_SECONDS * 1000,
      memoryLimit: env.QUERY_MEMORY_LIMIT,
      threads: env.DUCKDB_THREADS,
      maxRows: MAX_KEPT_ROWS,
    },
    fileWork: new FileWork({
      perServer: env.FILE_PROCESSING_CONCURRENCY,
      perUser: env.FILE_PROCESSING_PER_USER,
    }),
    fileProcessor,
    files,
    quotas: quotaSettings(env),
  };
}

export interface Context {
  deps: ApiDeps;
  /** The bearer token from the Authorization header, not yet verified. */
  accessToken: string | null;
  /** Who is calling, for rate limits and sign-in lockouts (see `clientAddress`). */
  clientAddress: string;
  /** A browser's refresh token, read from and written to its cookie (only `auth.*` procedures use it). */
  refreshCookie: RefreshCookie;
}

export function createContext(
  deps: ApiDeps,
  request: {
    authorization?: string | undefined;
    clientIp?: string | undefined;
    /** The HTTP exchange, for the refresh cookie; in-process callers have none. */
    cookies?: CookieExchange;
  },
): Context {
  const match = /^Bearer ([^\s]+)$/i.exec(request.authorization?.trim() ?? '');
  return {
    deps,
    accessToken: match?.[1] ?? null,
    clientAddress: clientAddress(request.clientIp),
    refreshCookie: new RefreshCookie(deps.tokens.refreshTokenTtlSeconds, request.cookies),
  };
}
