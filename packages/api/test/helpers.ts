import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDb } from '@leonidas/db/testing';
import { TRPCError } from '@trpc/server';
import { expect } from 'vitest';
import { type ApiDeps, createApiDeps, createContext } from '../src/context.js';
import { parseApiEnv } from '../src/env.js';
import { appRouter } from '../src/root.js';
import { S3RVER_CREDENTIALS, startLocalS3 } from '../src/storage/local.js';
import { Storage } from '../src/storage/s3.js';
import { createCallerFactory } from '../src/trpc.js';

export class TestClock {
  constructor(public current = Date.now()) {}
  now = () => this.current;
  advance(ms: number) {
    this.current += ms;
  }
}

const createCaller = createCallerFactory(appRouter);

export interface TestApi {
  deps: ApiDeps;
  clock: TestClock;
  secret: string;
  /** A caller as an anonymous client, or as the holder of `accessToken`. */
  caller(accessToken?: string, clientIp?: string): ReturnType<typeof createCaller>;
  /** Stops its s3rver and removes its files; waits for background work first. */
  close(): Promise<void>;
}

/** The API with its own DynamoDB table on the shared DynamoDB Local and its own s3rver. */
export async function createTestApi(env: Record<string, string> = {}): Promise<TestApi> {
  const db = await createTestDb();
  const directory = mkdtempSync(join(tmpdir(), 'leonidas-api-test-'));
  const bucket = 'leonidas-test';
  const s3 = await startLocalS3({ directory, bucket, corsOrigins: ['http://localhost:3000'] });
  const storage = new Storage({
    bucket,
    region: 'us-east-1',
    endpoint: s3.endpoint,
    credentials: S3RVER_CREDENTIALS,
  });
  const clock = new TestClock();
  const secret = randomBytes(32).toString('base64url');
  const deps = createApiDeps({
    db,
    storage,
    clock,
    env: { ...parseApiEnv(env), JWT_SECRET: secret },
    scratchDirectory: join(directory, 'duckdb'),
  });
  return {
    deps,
    clock,
    secret,
    close: async () => {
      await deps.background.drain(30_000);
      await deps.analytics.close();
      storage.destroy();
      await s3.stop();
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
  const result = await api.caller().auth.register({ email, password });
  return { ...result, email, password, as: api.caller(result.accessToken) };
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
