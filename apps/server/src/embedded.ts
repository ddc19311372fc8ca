import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StorageConfig } from '@leonidas/api';
import { S3RVER_CREDENTIALS, startLocalS3 } from '@leonidas/api/local';
import type { DynamoConnection } from '@leonidas/db';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startDynamoDbLocal } from '@leonidas/db/local';

export const EMBEDDED_TABLE_NAME = 'leonidas';
export const EMBEDDED_BUCKET = 'leonidas';

/**
 * The secret that signs access tokens in embedded mode: generated once and kept in the data folder, so
 * sign-ins survive a restart without anyone configuring a secret.
 */
export function loadOrCreateSecret(dataDir: string): string {
  const file = join(dataDir, 'jwt-secret');
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(48).toString('base64url');
  writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  return secret;
}

export interface EmbeddedStack {
  dynamo: DynamoConnection;
  storage: StorageConfig;
  stop(): Promise<void>;
}

/** DynamoDB Local and s3rver, both on loopback with their data under `dataDir`. */
export async function startEmbeddedStack(dataDir: string, corsOrigins: string[]): Promise<EmbeddedStack> {
  const dynamo = await startDynamoDbLocal({ dbPath: join(dataDir, 'dynamodb') });
  try {
    const s3 = await startLocalS3({ directory: join(dataDir, 's3'), bucket: EMBEDDED_BUCKET, corsOrigins });
    return {
      dynamo: { region: LOCAL_REGION, endpoint: dynamo.endpoint, credentials: LOCAL_CREDENTIALS },
      storage: {
        bucket: EMBEDDED_BUCKET,
        region: 'us-east-1',
        endpoint: s3.endpoint,
        credentials: S3RVER_CREDENTIALS,
      },
      stop: async () => {
        await s3.stop();
        await dynamo.stop();
      },
    };
  } catch (error) {
    await dynamo.stop();
    throw error;
  }
}
