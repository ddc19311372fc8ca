import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { createDocumentClient, type DynamoConnection } from './client.js';
import { createDb, type Db } from './db.js';
import { ensureTable } from './local/create-table.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from './local/dynamodb-local.js';

declare module 'vitest' {
  export interface ProvidedContext {
    dynamoEndpoint: string;
  }
}

/** The DynamoDB Local started once per test run by `test-global-setup.ts`. */
export function testConnection(): DynamoConnection {
  return { region: LOCAL_REGION, endpoint: inject('dynamoEndpoint'), credentials: LOCAL_CREDENTIALS };
}

/** A fresh table of its own for one test file, on the shared DynamoDB Local. */
export async function createTestDb(): Promise<Db> {
  const connection = testConnection();
  const tableName = `test-${randomUUID()}`;
  await ensureTable(connection, tableName);
  return createDb(createDocumentClient(connection), tableName);
}
