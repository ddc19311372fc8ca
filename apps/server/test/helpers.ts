import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testConnection } from '@leonidas/db/testing';
import { startObjectStore } from '@leonidas/object-store';
import { loadServerEnv } from '../src/env.js';
import { type RunningServer, startServer } from '../src/server.js';

/** The key pair the AWS default credential chain finds in tests (see vitest.config.ts). */
export const TEST_AWS_CREDENTIALS = {
  accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? '',
  secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? '',
};

/**
 * The real server in this process, on a free port, with its own table on the shared DynamoDB Local and its own
 * object store (both reached as "cloud" services, configured the way a deployment is).
 */
export async function startTestServer(overrides: Record<string, string> = {}): Promise<RunningServer> {
  const directory = mkdtempSync(join(tmpdir(), 'leonidas-server-test-'));
  const bucket = 'leonidas-test';
  const store = await startObjectStore({
    directory: join(directory, 's3'),
    bucket,
    credentials: TEST_AWS_CREDENTIALS,
    corsOrigins: ['http://localhost:3000'],
  });
  const server = await startServer(
    loadServerEnv({
      DYNAMODB_ENDPOINT: testConnection().endpoint ?? '',
      TABLE_NAME: `test-${randomUUID()}`,
      AWS_REGION: 'us-east-1',
      S3_BUCKET: bucket,
      S3_ENDPOINT: store.endpoint,
      JWT_SECRET: randomBytes(32).toString('base64url'),
      DATA_DIR: directory,
      PORT: '0',
      LOG_LEVEL: 'silent',
      ...overrides,
    }),
  ).catch(async (error: unknown) => {
    await store.stop();
    throw error;
  });
  return {
    ...server,
    close: async () => {
      await server.close();
      await store.stop();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

let counter = 0;
export const uniqueEmail = (label = 'user') => `${label}.${Date.now()}.${counter++}@example.com`;

/** Whether a process of this id still exists (signal 0 only checks). */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
