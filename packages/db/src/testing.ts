import { randomUUID } from 'node:crypto';
import { ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import {
  $add,
  $remove,
  BatchPutRequest,
  BatchWriteCommand,
  DeleteItemCommand,
  executeBatchWrite,
  PutItemCommand,
  UpdateItemCommand,
} from 'dynamodb-toolbox';
import { inject } from 'vitest';
import { createDocumentClient, type DynamoConnection } from './client.js';
import { createDb, type Db } from './db.js';
import { createFileRecord } from './files.js';
import { newId } from './ids.js';
import { ensureTable } from './local/create-table.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from './local/dynamodb-local.js';
import { finishRun, getMessage, positionBelow, startRun } from './messages.js';
import { createProject } from './projects.js';
import type { FileRecord, MessageRecord } from './records.js';
import { getSession } from './sessions.js';

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

/** An upload waiting in a project (made for it when none is given), as `file.createUpload` leaves it. */
export async function createTestUpload(
  db: Db,
  input: { userId?: string; projectId?: string; size: number },
): Promise<FileRecord> {
  const userId = input.userId ?? newId();
  let projectId = input.projectId;
  if (!projectId) {
    projectId = newId();
    await createProject(db, { userId, projectId, name: 'p', description: '', maxProjects: 10 });
  }
  const fileId = newId();
  const result = await createFileRecord(db, {
    fileId,
    userId,
    projectId,
    filename: 'a.csv',
    contentType: 'text/csv',
    size: input.size,
    source: 'USER_UPLOAD',
    objectKey: `projects/${projectId}/files/${fileId}`,
    uploadExpiresAt: Date.now() + 60_000,
    limits: { maxPendingUploads: 10, maxPendingBytes: 10_000, maxStoredBytes: 100_000 },
  });
  if (result.outcome !== 'created') throw new Error(`upload refused: ${result.outcome}`);
  return result.file;
}

/**
 * Writes completed files straight into a project, 25 per request, and counts them in the owner's usage as
 * the real upload path would: for tests that need thousands of files. The usage item must exist (any
 * project created through `createProject` made it).
 */
export async function seedCompletedFiles(
  db: Db,
  input: { userId: string; projectId: string; count: number; size: number },
): Promise<string[]> {
  const fileIds = Array.from({ length: input.count }, () => newId());
  const batches: string[][] = [];
  for (let i = 0; i < fileIds.length; i += 25) batches.push(fileIds.slice(i, i + 25));
  const write = (batch: string[]) =>
    executeBatchWrite(
      { maxAttempts: 10 },
      db.table.build(BatchWriteCommand).requests(
        ...batch.map((fileId) =>
          db.entities.file.build(BatchPutRequest).item({
            fileId,
            userId: input.userId,
            projectId: input.projectId,
            filename: `${fileId}.csv`,
            contentType: 'text/csv',
            size: input.size,
            status: 'COMPLETED',
            source: 'USER_UPLOAD',
            objectKey: `projects/${input.projectId}/files/${fileId}`,
            uploadExpiresAt: 0,
            version: 1,
          }),
        ),
      ),
    );
  // A few requests at a time: DynamoDB Local is shared with other test files.
  for (let i = 0; i < batches.length; i += 8) await Promise.all(batches.slice(i, i + 8).map(write));
  await db.entities.usage
    .build(UpdateItemCommand)
    .item({ userId: input.userId, storedBytes: $add(input.count * input.size) })
    .options({ condition: { attr: 'userId', exists: true } })
    .send();
  return fileIds;
}

/** Makes a user's data look as if written before the counters existed: no usage item, no message counts. */
export async function forgetUsageCounters(
  db: Db,
  input: { userId: string; sessionIds: string[] },
): Promise<void> {
  await db.entities.usage.build(DeleteItemCommand).key({ userId: input.userId }).send();
  for (const sessionId of input.sessionIds) {
    await db.entities.session.build(UpdateItemCommand).item({ sessionId, messageCount: $remove() }).send();
  }
}

/** Every item of the table as stored, for tests that check nothing of something is left anywhere. */
export async function scanTable(db: Db): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await db.documentClient.send(
      new ScanCommand({ TableName: db.tableName, ExclusiveStartKey: startKey }),
    );
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return items;
}

/**
 * A question and its reply at the end of the session's active branch, written as a send writes them; the
 * reply is finished with `answer`, or left streaming (as a server that died would leave it) without one.
 */
export async function appendTurn(
  db: Db,
  input: { sessionId: string; question: string; answer?: string; maxMessages?: number },
): Promise<{ runId: string; userMessage: MessageRecord; assistantMessage: MessageRecord }> {
  const session = await getSession(db, input.sessionId);
  const leaf = session?.activeLeafId
    ? await getMessage(db, { sessionId: input.sessionId, messageId: session.activeLeafId })
    : null;
  const runId = newId();
  const started = await startRun(db, {
    sessionId: input.sessionId,
    runId,
    clientMessageId: newId(),
    treeVersion: session?.treeVersion ?? 0,
    position: positionBelow(leaf),
    question: { messageId: newId(), content: input.question, edited: false },
    assistantMessageId: newId(),
    provider: 'offline',
    model: 'test',
    maxMessages: input.maxMessages ?? 10_000,
  });
  if (started.outcome !== 'started' || !started.userMessage)
    throw new Error(`not started: ${started.outcome}`);
  const { userMessage, assistantMessage } = started;
  if (input.answer === undefined) return { runId, userMessage, assistantMessage };
  const finished = await finishRun(db, {
    sessionId: input.sessionId,
    messageId: assistantMessage.messageId,
    runId,
    status: 'complete',
    content: input.answer,
    toolCalls: [],
  });
  return { runId, userMessage, assistantMessage: finished ?? assistantMessage };
}

/**
 * Makes a session look as written before the conversation tree: these messages, in order, with no parent,
 * depth, ancestors or children, and a session with no tree. Returns their ids.
 */
export async function writePreTreeConversation(
  db: Db,
  input: { sessionId: string; contents: string[] },
): Promise<string[]> {
  const ids = input.contents.map(() => newId());
  for (const [index, messageId] of ids.entries()) {
    await db.entities.message
      .build(PutItemCommand)
      .item({
        sessionId: input.sessionId,
        messageId,
        role: index % 2 === 0 ? 'user' : 'assistant',
        content: input.contents[index] ?? '',
        status: 'complete',
        runId: ids[index - (index % 2)],
      })
      .send();
  }
  await db.entities.session
    .build(UpdateItemCommand)
    .item({
      sessionId: input.sessionId,
      treeVersion: $remove(),
      rootIds: $remove(),
      activeLeafId: $remove(),
      messageCount: ids.length,
    })
    .send();
  return ids;
}

/** Puts a file in the pending-upload index as expired, as a lagging index can still show a confirmed upload. */
export async function showAsExpiredUpload(db: Db, fileId: string): Promise<void> {
  await db.documentClient.send(
    new UpdateCommand({
      TableName: db.tableName,
      Key: { pk: `FILE#${fileId}`, sk: 'FILE' },
      UpdateExpression: 'SET gsi3pk = :pending, gsi3sk = :expired',
      ExpressionAttributeValues: { ':pending': 'PENDING_UPLOAD', ':expired': new Date(0).toISOString() },
    }),
  );
}
