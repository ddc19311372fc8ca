import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DynamoConnection } from '@leonidas/db';
import { type DynamoDbLocal, LOCAL_CREDENTIALS, LOCAL_REGION, startDynamoDbLocal } from '@leonidas/db/local';

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

export async function startEmbeddedDynamo(
  dataDir: string,
): Promise<{ dynamo: DynamoDbLocal; connection: DynamoConnection }> {
  const dynamo = await startDynamoDbLocal({ dbPath: join(dataDir, 'dynamodb') });
  return {
    dynamo,
    connection: { region: LOCAL_REGION, endpoint: dynamo.endpoint, credentials: LOCAL_CREDENTIALS },
  };
}
