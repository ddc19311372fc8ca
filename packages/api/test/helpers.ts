import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createDb, createDocumentClient } from '@leonidas/db';
import { createTestDb, testConnection } from '@leonidas/db/testing';
import { generateCredentials, type ObjectStore, startObjectStore } from '@leonidas/object-store';
import { TRPCError } from '@trpc/server';
import { expect } from 'vitest';
import type { ChatRequest, LlmProvider, ProviderEvent } from '../src/chat/llm/types.js';
import { type ApiDeps, createApiDeps, createContext } from '../src/context.js';
import { parseApiEnv } from '../src/env.js';
import type { FileWorkerData } from '../src/file/processing-thread.js';
import type { Logger } from '../src/logger.js';
import { appRouter } from '../src/root.js';
import { Storage } from '../src/storage/s3.js';
import { createCallerFactory } from '../src/trpc.js';

/** Real time plus whatever a test has skipped ahead, so it agrees with timestamps DynamoDB items get. */
export class TestClock {
  private offset = 0;
  now = () => Date.now() + this.offset;
  advance(ms: number) {
    this.offset += ms;
  }
}

const createCaller = createCallerFactory(appRouter);

export interface TestApi {
  deps: ApiDeps;
  clock: TestClock;
  secret: string;
  /** A caller as an anonymous client, or as the holder of `accessToken`. */
  caller(accessToken?: string, clientIp?: string): ReturnType<typeof createCaller>;
  /** Its own object store, enforcing signatures and upload policies as S3 does. */
  store: ObjectStore;
  /** The store's own clock (another machine's, as S3's is): moving it ages presigned forms and URLs. */
  storeClock: TestClock;
  /**
   * Writes an object with the server's own key, past any upload policy: what a lenient S3-compatible store
   * would let a client do, for testing the server's own checks.
   */
  putObjectDirectly(key: string, body: string | Buffer): Promise<void>;
  /** Stops its object store and removes its files; waits for background work first. */
  close(): Promise<void>;
}

/** The API with its own DynamoDB table on the shared DynamoDB Local and its own object store. */
export async function createTestApi(
  env: Record<string, string> = {},
  options: {
    llm?: LlmProvider;
    signInCheckIntervalMs?: number;
    logger?: Logger;
    /** Large files are scanned in this worker (`sourceScanWorker`), as the built server does. */
    scanWorker?: () => Worker;
    /**
     * Files are processed on their own thread from its source, as the built server does. `started` collects the
     * threads; `workerData` changes what each is given (e.g. a store endpoint that never answers); `prelude` is
     * code the thread runs before its module, to make it misbehave as a bug would.
     */
    fileThread?: {
      started?: Worker[];
      workerData?: (data: FileWorkerData) => FileWorkerData;
      prelude?: string;
    };
    /**
     * Where the API reaches DynamoDB Local and its object store, given their real endpoints: for fault tests
     * that put something they can break (a proxy) in between.
     */
    routeDb?: (endpoint: string) => string;
    routeStorage?: (endpoint: string) => string;
  } = {},
): Promise<TestApi> {
  const { routeDb, routeStorage, fileThread, ...apiOptions } = options;
  const ownTable = await createTestDb();
  const direct = testConnection();
  const connection =
    routeDb && direct.endpoint ? { ...direct, endpoint: routeDb(direct.endpoint) } : undefined;
  const db = connection ? createDb(createDocumentClient(connection), ownTable.tableName) : ownTable;
  const directory = mkdtempSync(join(tmpdir(), 'leonidas-api-test-'));
  const bucket = 'leonidas-test';
  const credentials = generateCredentials();
  const clock = new TestClock();
  const storeClock = new TestClock();
  const store = await startObjectStore({
    directory: join(directory, 's3'),
    bucket,
    credentials,
    corsOrigins: ['http://localhost:3000'],
    now: storeClock.now,
  });
  const storageConfig = { bucket, region: 'us-east-1', endpoint: store.endpoint, credentials };
  const storage = new Storage({
    ...storageConfig,
    endpoint: routeStorage ? routeStorage(store.endpoint) : store.endpoint,
  });
  const secret = randomBytes(32).toString('base64url');
  const deps = createApiDeps({
    db,
    storage,
    clock,
    env: { ...parseApiEnv(env), JWT_SECRET: secret },
    scratchDirectory: join(directory, 'duckdb'),
    tableCacheDirectory: join(directory, 'tables'),
    ...(fileThread && {
      fileWorker: {
        start: (data: FileWorkerData) => {
          const worker = sourceFileWorker(fileThread.workerData?.(data) ?? data, fileThread.prelude);
          fileThread.started?.push(worker);
          return worker;
        },
        dynamo: connection ?? direct,
        storage: { ...storageConfig, endpoint: routeStorage ? routeStorage(store.endpoint) : store.endpoint },
      },
    }),
    ...apiOptions,
  });
  return {
    deps,
    clock,
    secret,
    store,
    storeClock,
    putObjectDirectly: async (key, body) => {
      const client = new S3Client({
        ...storageConfig,
        forcePathStyle: true,
        requestChecksumCalculation: 'WHEN_REQUIRED',
      });
      try {
        await client.send(
          new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'text/csv' }),
        );
      } finally {
        client.destroy();
      }
    },
    close: async () => {
      deps.runs.close();
      deps.signIns.close();
      await deps.background.drain(30_000);
      await deps.fileProcessor.close();
      await deps.analytics.close();
      storage.destroy();
      await store.stop();
      rmSync(directory, { recursive: true, force: true });
    },
    caller: (accessToken, clientIp = '127.0.0.1') =>
      createCaller(
        createContext(deps, { authorization: accessToken ? `Bearer ${accessToken}` : undefined, clientIp }),
      ),
  };
}

let counter = 0;
export const uniqueEmail = (label = 'user') => `${label}.${Date.now()}.${counter++}@example.com`;

export async function signUp(api: TestApi, label?: string) {
  const email = uniqueEmail(label);
  const password = 'correct horse battery';
  const { refreshToken, ...result } = await api.caller().auth.register({ email, password });
  // Asked for in the body (as services do), it is always there.
  if (refreshToken === undefined) throw new Error('register answered without the refresh token');
  return { ...result, refreshToken, email, password, as: api.caller(result.accessToken) };
}

/** Awaits a call that must fail and returns the TRPCError, asserting its code. */
export async function expectTrpcError(call: Promise<unknown>, code: TRPCError['code']): Promise<TRPCError> {
  const error = await call.then(
    () => {
      throw new Error(`expected ${code}, but the call succeeded`);
    },
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(TRPCError);
  expect((error as TRPCError).code).toBe(code);
  return error as TRPCError;
}

/** A file of `content` uploaded into the project by presigned POST, as a browser does (not yet confirmed). */
export async function uploadFile(
  account: Awaited<ReturnType<typeof signUp>>,
  projectId: string,
  content: string | Buffer,
  options: { filename?: string; declaredSize?: number; contentType?: string } = {},
) {
  const bytes = Buffer.from(content);
  const { file, upload } = await account.as.file.createUpload({
    projectId,
    filename: options.filename ?? 'data.csv',
    size: options.declaredSize ?? Math.max(bytes.length, 1),
    contentType: options.contentType ?? 'text/csv',
  });
  expect(await postToPresignedUrl(upload, bytes)).toBe(204);
  return { file, upload };
}

/** Uploads like a browser form does: the presigned fields first, then the file. */
export async function postToPresignedUrl(
  upload: { url: string; fields: Record<string, string> },
  content: string | Buffer,
  filename = 'upload.csv',
): Promise<number> {
  const form = new FormData();
  for (const [name, value] of Object.entries(upload.fields)) form.append(name, value);
  form.append('file', new Blob([content]), filename);
  const response = await fetch(upload.url, { method: 'POST', body: form });
  return response.status;
}

export type ScriptStep =
  | ProviderEvent
  | { type: 'wait'; ms: number }
  /** Holds the reply until the test lets it go: for runs that must still be going, however slow the machine. */
  | { type: 'until'; released: Promise<void> }
  | { type: 'fail'; message: string };

/**
 * A model that plays a script, one per turn (the last one repeats): for runs whose timing or failure a test
 * controls. The real providers are tested against local servers speaking their wire protocols.
 */
export class ScriptedProvider implements LlmProvider {
  readonly name = 'openai' as const;
  readonly model = 'scripted';
  readonly requests: ChatRequest[] = [];

  constructor(private readonly turns: ScriptStep[][]) {}

  async *stream(request: ChatRequest): AsyncIterable<ProviderEvent> {
    this.requests.push(request);
    const script = this.turns[Math.min(this.requests.length - 1, this.turns.length - 1)] ?? [];
    for (const step of script) {
      if (request.signal.aborted) return;
      if (step.type === 'wait') await new Promise((resolve) => setTimeout(resolve, step.ms));
      else if (step.type === 'until') await step.released;
      else if (step.type === 'fail') throw new Error(step.message);
      else yield step;
    }
  }
}

export const words = (text: string, delayMs = 0): ScriptStep[] =>
  (text.match(/\S+\s*/g) ?? []).flatMap((word) => [
    ...(delayMs > 0 ? [{ type: 'wait' as const, ms: delayMs }] : []),
    { type: 'text' as const, text: word },
  ]);

/** Collects a session's events until `until` says stop (or the timeout passes). */
export async function collectEvents(
  iterable: AsyncIterable<unknown>,
  until: (events: { id: string; data: { type: string } & Record<string, unknown> }[]) => boolean,
  timeoutMs = 10_000,
) {
  const events: { id: string; data: { type: string } & Record<string, unknown> }[] = [];
  const iterator = iterable[Symbol.asyncIterator]();
  const deadline = Date.now() + timeoutMs;
  try {
    while (!until(events)) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`timed out; got ${events.map((e) => e.data.type).join(', ')}`);
      const next = await Promise.race([
        iterator.next(),
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error('timed out waiting for an event')), remaining),
        ),
      ]);
      if (next.done) break;
      // In process a tracked event is the envelope tuple [id, data]; over SSE the client hands { id, data }.
      const value = next.value as unknown;
      events.push(
        (Array.isArray(value) ? { id: value[0], data: value[1] } : value) as (typeof events)[number],
      );
    }
  } finally {
    await iterator.return?.();
  }
  return events;
}

/** A logger that keeps what it is given, as the lines a JSON logger would write. */
export function capturingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const write = (level: string) => (details: object, message: string) => {
    lines.push(
      JSON.stringify({ level, ...details, message }, (_key, value) =>
        value instanceof Error ? { name: value.name, message: value.message, stack: value.stack } : value,
      ),
    );
  };
  return { lines, info: write('info'), warn: write('warn'), error: write('error') };
}

/**
 * A worker thread from its TypeScript source, loaded through tsx: the server starts its bundled copy
 * (`apps/server`'s `dist/*-worker.js`), which tests of this package do not have.
 */
function sourceWorker(path: string, workerData?: unknown, prelude = ''): Worker {
  const url = JSON.stringify(new URL(path, import.meta.url).href);
  return new Worker(`${prelude}\nimport('tsx/esm/api').then(({ tsImport }) => tsImport(${url}, ${url}));`, {
    eval: true,
    workerData,
  });
}

/** The scan's worker thread (large files are scanned in it). */
export function sourceScanWorker(): Worker {
  return sourceWorker('../src/analysis/scan-worker.ts');
}

/** The file processing thread. */
export function sourceFileWorker(data: FileWorkerData, prelude?: string): Worker {
  return sourceWorker('../src/file/processing-worker.ts', data, prelude);
}
