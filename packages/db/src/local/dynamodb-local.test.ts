import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createDocumentClient } from '../client.js';
import { createDb } from '../db.js';
import { createProject, getProject } from '../projects.js';
import { ensureTable } from './create-table.js';
import { JavaMissingError, LOCAL_CREDENTIALS, LOCAL_REGION, startDynamoDbLocal } from './dynamodb-local.js';

describe('DynamoDB Local launcher', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'leonidas-ddb-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('keeps data on disk across a restart and creates the table only once', async () => {
    const key = { userId: 'u1', projectId: 'p1' };
    const first = await startDynamoDbLocal({ dbPath: dataDir });
    try {
      const connection = { region: LOCAL_REGION, endpoint: first.endpoint, credentials: LOCAL_CREDENTIALS };
      expect(await ensureTable(connection, 'leonidas')).toBe('created');
      expect(await ensureTable(connection, 'leonidas')).toBe('existed');
      const db = createDb(createDocumentClient(connection), 'leonidas');
      await createProject(db, { ...key, name: 'kept', description: '' });
    } finally {
      await first.stop();
    }

    const second = await startDynamoDbLocal({ dbPath: dataDir });
    try {
      const connection = { region: LOCAL_REGION, endpoint: second.endpoint, credentials: LOCAL_CREDENTIALS };
      expect(await ensureTable(connection, 'leonidas')).toBe('existed');
      const db = createDb(createDocumentClient(connection), 'leonidas');
      expect((await getProject(db, key))?.name).toBe('kept');
    } finally {
      await second.stop();
    }
    // Stopped means nothing answers on that port any more.
    const stopped = { region: LOCAL_REGION, endpoint: second.endpoint, credentials: LOCAL_CREDENTIALS };
    await expect(ensureTable(stopped, 'leonidas')).rejects.toThrow();
  }, 120_000); // two JVM starts, which take far longer on a loaded machine

  it('says plainly that Java is missing', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      await expect(startDynamoDbLocal()).rejects.toBeInstanceOf(JavaMissingError);
      await expect(startDynamoDbLocal()).rejects.toThrow(/Java 17 or newer/);
    } finally {
      process.env.PATH = path;
    }
  });
});
