import { BatchWriteCommand, QueryCommand as RawQueryCommand } from '@aws-sdk/lib-dynamodb';
import {
  $add,
  ConditionCheck,
  DeleteTransaction,
  EntityFormatter,
  executeTransactWrite,
  GetItemCommand,
  PutTransaction,
  UpdateItemCommand,
} from 'dynamodb-toolbox';
import type { Db } from './db.js';
import { tombstonePut } from './deletions.js';
import { failedConditionIndexes, isConditionFailure } from './errors.js';
import { type KeyPage, queryPage, type StartKey } from './pagination.js';
import type { SessionRecord } from './records.js';
import { countChange, withUsage } from './usage.js';

export type CreateSessionResult =
  | { outcome: 'created'; session: SessionRecord }
  | { outcome: 'limit' }
  | { outcome: 'project-gone' };

/**
 * Creates the session only while its project exists (a project being deleted takes no new children) and
 * the user has fewer than `maxSessions` sessions.
 */
export async function createSession(
  db: Db,
  input: { sessionId: string; userId: string; projectId: string; title: string; maxSessions: number },
): Promise<CreateSessionResult> {
  const { maxSessions, ...session } = input;
  try {
    const { ToolboxItems } = await withUsage(db, input.userId, () =>
      executeTransactWrite(
        countChange(db, { userId: input.userId, counter: 'sessions', by: 1, below: maxSessions }),
        db.entities.project
          .build(ConditionCheck)
          .key({ userId: input.userId, projectId: input.projectId })
          .condition({ attr: 'projectId', exists: true }),
        db.entities.session
          .build(PutTransaction)
          .item({ ...session, messageCount: 0, treeVersion: 0, version: 1 })
          .options({ condition: { attr: 'sessionId', exists: false } }),
      ),
    );
    return {
      outcome: 'created',
      session: db.entities.session.build(EntityFormatter).format(ToolboxItems[2]),
    };
  } catch (error) {
    const failed = failedConditionIndexes(error);
    if (failed.includes(1)) return { outcome: 'project-gone' };
    if (failed.includes(0)) return { outcome: 'limit' };
    throw error;
  }
}

export async function getSession(db: Db, sessionId: string): Promise<SessionRecord | null> {
  const { Item } = await db.entities.session
    .build(GetItemCommand)
    .key({ sessionId })
    .options({ consistent: true })
    .send();
  return Item ?? null;
}

export async function listSessions(
  db: Db,
  input: { projectId: string; limit: number; startKey?: StartKey | undefined },
): Promise<KeyPage<SessionRecord>> {
  const page = await queryPage(
    db,
    db.entities.session,
    { index: 'GSI1', partition: `PROJECT#${input.projectId}`, range: { beginsWith: 'SESSION#' } },
    { limit: input.limit, startKey: input.startKey, newestFirst: true },
  );
  return page;
}

/** Renames the session when given a title, and marks it changed either way. */
export async function updateSession(
  db: Db,
  input: { sessionId: string; title?: string | undefined },
): Promise<SessionRecord | null> {
  try {
    const { Attributes } = await db.entities.session
      .build(UpdateItemCommand)
      .item({
        sessionId: input.sessionId,
        ...(input.title !== undefined ? { title: input.title } : {}),
        version: $add(1),
      })
      .options({ condition: { attr: 'sessionId', exists: true }, returnValues: 'ALL_NEW' })
      .send();
    return Attributes ?? null;
  } catch (error) {
    if (isConditionFailure(error)) return null;
    throw error;
  }
}

/**
 * Deletes what a session's partition holds besides the session item: its messages and idempotency claims.
 * Used when a deleted session's tombstone is processed (nothing can be written there any more).
 */
export async function deleteSessionContents(db: Db, sessionId: string): Promise<number> {
  const keys = await sessionContentKeys(db, sessionId);
  await batchDelete(db, keys);
  return keys.length;
}

/** The keys of what a session's partition holds besides the session item, read consistently, page by page. */
async function sessionContentKeys(db: Db, sessionId: string): Promise<{ pk: string; sk: string }[]> {
  const keys: { pk: string; sk: string }[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const { Items = [], LastEvaluatedKey } = await db.documentClient.send(
      new RawQueryCommand({
        TableName: db.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': `SESSION#${sessionId}` },
        ProjectionExpression: 'pk, sk',
        ConsistentRead: true,
        Limit: 1000,
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of Items) {
      if (item.sk !== 'SESSION') keys.push({ pk: String(item.pk), sk: String(item.sk) });
    }
    startKey = LastEvaluatedKey;
  } while (startKey);
  return keys;
}

/** Deletes these keys, 25 a request. */
export async function batchDelete(db: Db, keys: { pk: string; sk: string }[]): Promise<void> {
  for (let i = 0; i < keys.length; i += 25) {
    let requests = keys.slice(i, i + 25).map((Key) => ({ DeleteRequest: { Key } }));
    // BatchWrite may leave some requests unprocessed under load: retry them until none remain.
    while (requests.length > 0) {
      const result = await db.documentClient.send(
        new BatchWriteCommand({ RequestItems: { [db.tableName]: requests } }),
      );
      requests = (result.UnprocessedItems?.[db.tableName] ?? []) as typeof requests;
    }
  }
}

/**
 * The session disappears and a tombstone takes its place, in one transaction that also frees its slot in
 * the user's quota; its messages are then deleted in the background. Deleting the session item first also
 * stops new sends (they need it), so no message can be written behind the cascade. Returns false when
 * there was no such session.
 */
export async function startSessionDeletion(
  db: Db,
  input: { sessionId: string; userId: string; projectId: string; leaseUntil: number },
): Promise<boolean> {
  const { sessionId, userId, projectId } = input;
  try {
    await withUsage(db, userId, () =>
      executeTransactWrite(
        countChange(db, { userId, counter: 'sessions', by: -1 }),
        db.entities.session
          .build(DeleteTransaction)
          .key({ sessionId })
          .options({ condition: { attr: 'sessionId', exists: true } }),
        tombstonePut(db, {
          kind: 'SESSION',
          targetId: sessionId,
          userId,
          projectId,
          leaseUntil: input.leaseUntil,
        }),
      ),
    );
    return true;
  } catch (error) {
    if (failedConditionIndexes(error).includes(1)) return false;
    throw error;
  }
}

/** The ids of the session's messages, oldest first, read from its partition (keys only). */
export async function listMessageIds(db: Db, sessionId: string): Promise<string[]> {
  const ids: string[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await db.documentClient.send(
      new RawQueryCommand({
        TableName: db.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': `SESSION#${sessionId}`, ':prefix': 'MESSAGE#' },
        ProjectionExpression: 'sk',
        ConsistentRead: true,
        ExclusiveStartKey: startKey,
      }),
    );
    ids.push(...(page.Items ?? []).map((item) => String(item.sk).slice('MESSAGE#'.length)));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return ids;
}

/** How many messages the session holds, counted from its partition. */
export async function countMessages(db: Db, sessionId: string): Promise<number> {
  return (await listMessageIds(db, sessionId)).length;
}

/**
 * Counts the messages of a session older than the count, if it has none yet (sends need it, so none can land
 * meanwhile).
 */
export async function countUncountedMessages(db: Db, sessionId: string): Promise<void> {
  const messageCount = await countMessages(db, sessionId);
  try {
    await db.entities.session
      .build(UpdateItemCommand)
      .item({ sessionId, messageCount })
      .options({ condition: { attr: 'messageCount', exists: false } })
      .send();
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
  }
}

/**
 * The number of the session's next query, counted atomically (every query counts, failed ones too), or null
 * when the session is gone.
 */
export async function nextQueryNumber(db: Db, sessionId: string): Promise<number | null> {
  try {
    const { Attributes } = await db.entities.session
      .build(UpdateItemCommand)
      .item({ sessionId, queryCount: $add(1) })
      .options({ condition: { attr: 'sessionId', exists: true }, returnValues: 'UPDATED_NEW' })
      .send();
    return Attributes?.queryCount ?? null;
  } catch (error) {
    if (isConditionFailure(error)) return null;
    throw error;
  }
}
