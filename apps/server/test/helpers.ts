import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalS3 } from '@leonidas/api/local';
import { testConnection } from '@leonidas/db/testing';
import { loadServerEnv } from '../src/env.js';
import { type RunningServer, startServer } from '../src/server.js';

/**
 * The real server in this process, on a free port, with its own table on the shared DynamoDB Local and its own
 * s3rver (both reached as "cloud" services, configured the way a deployment is).
 */
export async function startTestServer(overrides: Record<string, string> = {}): Promise<RunningServer> {
  const directory = mkdtempSync(join(tmpdir(), 'leonidas-server-test-'));
  const bucket = 'leonidas-test';
  const s3 = await startLocalS3({ directory, bucket, corsOrigins: ['http://localhost:3000'] });
  const server = await startServer(
    loadServerEnv({
      DYNAMODB_ENDPOINT: testConnection().endpoint ?? '',
      TABLE_NAME: `test-${randomUUID()}`,
      AWS_REGION: 'us-east-1',
      S3_BUCKET: bucket,
      S3_ENDPOINT: s3.endpoint,
      JWT_SECRET: randomBytes(32).toString('base64url'),
      DATA_DIR: directory,
      PORT: '0',
      LOG_LEVEL: 'silent',
      ...overrides,
    }),
  ).catch(async (error: unknown) => {
    await s3.stop();
    throw error;
  });
  return {
    ...server,
    close: async () => {
      await server.close();
      await s3.stop();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

let counter = 0;
export const uniqueEmail = (label = 'user') => `${label}.${Date.now()}.${counter++}@example.com`;
