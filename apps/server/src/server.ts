import { existsSync, mkdirSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import {
  createApiDeps,
  type FileWorkerData,
  finishAbandonedDeletions,
  recoverInterruptedRuns,
  Storage,
  type StorageConfig,
  sweepExpiredUploads,
} from '@leonidas/api';
import { createDb, createDocumentClient, type DynamoConnection } from '@leonidas/db';
import { ensureTable } from '@leonidas/db/local';
import type { Express } from 'express';
import { type Logger, pino } from 'pino';
import { createApp } from './app.js';
import {
  assertEmbeddedStackInstalled,
  EMBEDDED_TABLE_NAME,
  type EmbeddedStack,
  loadOrCreateSecrets,
  startEmbeddedStack,
} from './embedded.js';
import { fileThreadEnv, isEmbedded, type ServerEnv } from './env.js';

export interface RunningServer {
  url: string;
  port: number;
  logger: Logger;
  /** Settles if the embedded stack stops by itself; the process should then shut down. */
  failed: Promise<Error>;
  /**
   * Stops accepting, lets in-flight requests and background work finish (up to the timeout), then stops the
   * embedded stack.
   */
  close(): Promise<void>;
}

export function createLogger(env: ServerEnv): Logger {
  return pino(
    { level: env.LOG_LEVEL, base: { service: 'leonidas' }, serializers: { err: boundedError } },
    // Written in the background: a busy server's lines go out together instead of one blocking write each
    // (pino flushes what is left when the process exits).
    pino.destination({ sync: false }),
  );
}

/**
 * An error as the log keeps it: kind, code, the first line of its message (at most 200 characters) and where
 * it was thrown. Messages of libraries can quote data (a row, a cell, a prompt); code that handles such errors
 * logs a summary instead (`errorSummary`), and this keeps a slip from copying a whole row into the log.
 */
function boundedError(error: unknown, depth = 0): Record<string, unknown> {
  if (!(error instanceof Error)) return { type: typeof error };
  const code = (error as { code?: unknown }).code;
  return {
    // What it wraps (e.g. the error that ended the object store's thread), two levels at most.
    ...(error.cause !== undefined && depth < 2 ? { cause: boundedError(error.cause, depth + 1) } : {}),
    type: error.name,
    ...(typeof code === 'string' ? { code } : {}),
    message: (error.message.split('\n', 1)[0] ?? '').slice(0, 200),
    stack: (error.stack ?? '')
      .split('\n')
      .filter((line) => /^\s+at /.test(line))
      .slice(0, 10)
      .join('\n'),
  };
}

export async function startServer(
  env: ServerEnv,
  logger: Logger = createLogger(env),
): Promise<RunningServer> {
  if (isEmbedded(env)) assertEmbeddedStackInstalled();
  const secrets = isEmbedded(env) ? loadOrCreateSecrets(env.DATA_DIR) : undefined;
  // Outside embedded mode the configuration must name it (checked by loadServerEnv).
  const jwtSecret = env.JWT_SECRET ?? secrets?.jwtSecret;
  if (!jwtSecret) throw new Error('JWT_SECRET is required outside embedded mode');
  const embedded: EmbeddedStack | undefined = secrets
    ? await startEmbeddedStack(
        env.DATA_DIR,
        secrets,
        env.CORS_ORIGINS,
        {
          down: () =>
            logger.error(
              'DynamoDB Local stopped unexpectedly; starting it again (database calls fail meanwhile)',
            ),
          restarted: (attempt) =>
            logger.warn({ attempt }, 'DynamoDB Local started again; database calls resume'),
        },
        storeWorker(),
      )
    : undefined;
  if (embedded) {
    logger.info(
      { dataDir: env.DATA_DIR, storeThread: embedded.storeThread },
      'embedded DynamoDB Local and object store started',
    );
    if (!embedded.loopbackOnly) {
      logger.warn(
        'DynamoDB Local listens on every network interface (binding it to loopback needs a JDK, not only a JRE); its data stays private to this install, but anyone who reaches the port can make it write empty databases of their own',
      );
    }
  }
  const dynamo: DynamoConnection = embedded?.dynamo ?? {
    region: env.AWS_REGION ?? '',
    endpoint: env.DYNAMODB_ENDPOINT,
  };

  try {
    const tableName = env.TABLE_NAME ?? EMBEDDED_TABLE_NAME;
    if (env.CREATE_TABLE ?? (embedded !== undefined || env.DYNAMODB_ENDPOINT !== undefined)) {
      const outcome = await ensureTable(dynamo, tableName);
      logger.info({ tableName, outcome }, 'table ready');
    }
    const db = createDb(createDocumentClient(dynamo), tableName);
    const storageConfig: StorageConfig = embedded?.storage ?? {
      bucket: env.S3_BUCKET ?? '',
      region: env.AWS_REGION ?? '',
      endpoint: env.S3_ENDPOINT,
      publicEndpoint: env.S3_PUBLIC_ENDPOINT,
    };
    const storage = new Storage(storageConfig);
    // Files' work folders (their uploads, their tables being written). What a server that died left there goes:
    // only this server uses the data folder.
    const workDirectory = join(env.DATA_DIR, 'tmp', 'files');
    rmSync(workDirectory, { recursive: true, force: true });
    mkdirSync(workDirectory, { recursive: true, mode: 0o700 });
    const fileWorker = bundledFile('file-worker.js');
    const scanWorker = bundledFile('scan-worker.js');
    const deps = createApiDeps({
      db,
      storage,
      env: { ...env, JWT_SECRET: jwtSecret },
      logger,
      scratchDirectory: join(env.DATA_DIR, 'tmp', 'duckdb'),
      tableCacheDirectory: join(env.DATA_DIR, 'cache', 'tables'),
      workDirectory,
      scanWorker: scanWorker && (() => new Worker(scanWorker)),
      ...(fileWorker && {
        fileWorker: {
          start: (workerData: FileWorkerData) => new Worker(fileWorker, { workerData, env: fileThreadEnv() }),
          dynamo,
          storage: storageConfig,
          scanWorkerUrl: scanWorker?.href,
        },
      }),
    });
    const app = createApp({ env, deps, db, logger, storageOrigins: storageOrigins(storageConfig) });

    // Replies a dead server left half-written are marked interrupted: now, and now and then for other instances.
    // Those of other instances are left until they have not been saved for a minute; in embedded mode this is
    // the only server, so at start every reply still being written is one it wrote before it died.
    const recover = (staleAfterMs?: number) =>
      recoverInterruptedRuns(deps, staleAfterMs).then(
        (recovered) => recovered > 0 && logger.warn({ recovered }, 'marked interrupted replies'),
        (error: unknown) => logger.error({ err: error }, 'recovering interrupted replies failed'),
      );
    await recover(embedded ? 0 : undefined);
    // Deletions a dead server left half-way (tombstones whose lease ran out) are finished in the background.
    const finishDeletions = () =>
      deps.background.run(
        finishAbandonedDeletions(deps).then(
          (finished) => finished > 0 && logger.info({ finished }, 'finished interrupted deletions'),
          (error: unknown) => logger.error({ err: error }, 'finishing interrupted deletions failed'),
        ),
      );
    void finishDeletions();
    const housekeeping = setInterval(() => {
      void recover();
      sweepExpiredUploads(deps).then(
        (swept) => swept > 0 && logger.info({ swept }, 'removed expired unconfirmed uploads'),
        (error: unknown) => logger.error({ err: error }, 'upload sweep failed'),
      );
      void finishDeletions();
    }, env.SWEEP_INTERVAL_SECONDS * 1000);
    housekeeping.unref();

    const server = await listen(app, env);
    // Loading the thread takes a third of a second at rest and seconds under load: not on the first upload.
    deps.fileProcessor.warm();
    const { port } = server.address() as AddressInfo;
    const host = env.HOST === '0.0.0.0' ? 'localhost' : env.HOST;
    const url = `http://${host}:${port}`;
    logger.info(
      { url, mode: embedded ? 'embedded' : 'cloud', fileThread: deps.fileProcessor.thread },
      'Leonidas is listening',
    );

    return {
      url,
      port,
      logger,
      failed: embedded?.failed ?? new Promise<Error>(() => {}),
      close: async () => {
        clearInterval(housekeeping);
        // No new connections. Replies being written get the grace period to finish, then stop (their text is
        // kept); then open event streams end, so clients get the end of their stream rather than a cut
        // connection; whatever is still open after that is closed.
        const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        await deps.background.drain(env.SHUTDOWN_TIMEOUT_MS);
        for (const run of deps.runs.activeRuns()) run.abort.abort('shutdown');
        await deps.background.drain(5_000);
        deps.runs.close();
        deps.signIns.close();
        const force = setTimeout(() => server.closeAllConnections(), STREAMS_END_MS);
        await serverClosed;
        clearTimeout(force);
        await deps.fileProcessor.close();
        await deps.analytics.close();
        storage.destroy();
        db.documentClient.destroy();
        await embedded?.stop();
      },
    };
  } catch (error) {
    await embedded?.stop();
    throw error;
  }
}

function listen(app: Express, env: ServerEnv): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(env.PORT, env.HOST, (error?: Error) =>
      error ? reject(error) : resolve(server),
    );
    // Set before the first connection arrives (listening completes on a later tick).
    server.keepAliveTimeout = env.KEEP_ALIVE_TIMEOUT_SECONDS * 1000;
    server.headersTimeout = env.HEADERS_TIMEOUT_SECONDS * 1000;
  });
}

/** How long ended event streams get to reach their clients before the last connections are closed. */
const STREAMS_END_MS = 1000;

/** Where browsers send uploads: the public endpoint if set, else the endpoint, else the bucket on AWS S3. */
function storageOrigins(config: StorageConfig): string[] {
  const endpoint = config.publicEndpoint ?? config.endpoint;
  if (endpoint) return [new URL(endpoint).origin];
  return [
    `https://${config.bucket}.s3.${config.region}.amazonaws.com`,
    `https://${config.bucket}.s3.amazonaws.com`,
  ];
}

/**
 * The file of one of the server's worker threads (`file-worker.js`: files are processed in it; `scan-worker.js`:
 * large uploads are scanned in it; `store-worker.js`: the embedded object store), which the build writes beside
 * the server's bundle. Run from its sources (`pnpm dev`, tests), the server has none and does that work on its
 * own thread.
 */
function bundledFile(name: 'file-worker.js' | 'scan-worker.js' | 'store-worker.js'): URL | undefined {
  const file = new URL(`./${name}`, import.meta.url);
  return existsSync(file) ? file : undefined;
}

function storeWorker(): (() => Worker) | undefined {
  const file = bundledFile('store-worker.js');
  return file && (() => new Worker(file));
}
