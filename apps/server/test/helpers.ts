import { randomBytes, randomUUID } from 'node:crypto';
import { testConnection } from '@leonidas/db/testing';
import { loadServerEnv } from '../src/env.js';
import { type RunningServer, startServer } from '../src/server.js';

/** The real server in this process, on a free port, with its own table on the shared DynamoDB Local. */
export function startTestServer(overrides: Record<string, string> = {}): Promise<RunningServer> {
  return startServer(
    loadServerEnv({
      DYNAMODB_ENDPOINT: testConnection().endpoint ?? '',
      TABLE_NAME: `test-${randomUUID()}`,
      AWS_REGION: 'local',
      JWT_SECRET: randomBytes(32).toString('base64url'),
      PORT: '0',
      LOG_LEVEL: 'silent',
      ...overrides,
    }),
  );
}

let counter = 0;
export const uniqueEmail = (label = 'user') => `${label}.${Date.now()}.${counter++}@example.com`;
