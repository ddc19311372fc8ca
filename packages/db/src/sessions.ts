import { BatchWriteCommand, QueryCommand as RawQueryCommand } from '@aws-sdk/lib-dynamodb';
import { $add, DeleteItemCommand, GetItemCommand, PutItemCommand, UpdateItemCommand } from 'dynamodb-toolbox';
import type { Db } from './db.js';
import { isConditionFailure } from './errors.js';
import { type KeyPage, queryPage, type StartKey } from './pagination.js';

export interface SessionRecord {
  sessionId: string;
  userId: string;
  projectId: string;
  title: string;
  activeRunId?: string | undefined;
  version: number;
  createdAt: string;
  updatedAt: string;
}

const strip = <T extends SessionRecord>({
  gsi1pk: _1,
  gsi1sk: _2,
  ...record
}: T & { gsi1pk?: string; gsi1sk?: string }) => record as SessionRecord;

export async function createSession(
  db: Db,
  input: { sessionId: string; userId: string; projectId: string; title: string },
): Promise<SessionRecord> {
  const { ToolboxItem } = await db.entities.session
    .build(PutItemCommand)
    .item({ ...input, version: 1 })
    .options({ condition: { attr: 'sessionId', exists: false } })
    .send();
  return strip(ToolboxItem);
}

export async function getSession(db: Db, sessionId: string): Promise<SessionRecord | null> {
  const { Item } = await db.entities.session
    .build(GetItemCommand)
    .key({ sessionId })
    .options({ consistent: true })
    .send();
  return Item ? strip(Item) : null;
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
  return { items: page.items.map(strip), nextKey: page.nextKey };
}

/** Sessions of a project for a cascade: every id, page after page. */
export async function listAllSessionIds(db: Db, projectId: string): Promise<string[]> {
  const ids: string[] = [];
  let startKey: StartKey | undefined;
  do {
    const page = await listSessions(db, { projectId, limit: 100, startKey });
    ids.push(...page.items.map((session) => session.sessionId));
    startKey = page.nextKey ?? undefined;
  } while (startKey);
  return ids;
}

/** Renames the session when given a title, and marks it changed either way (e.g. after it was cleared). */
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
    return Attributes ? strip(Attributes) : null;
  } catch (error) {
    if (isConditionFailure(error)) return null;
    throw error;
  }
}

/**
 * Deletes the items of a session's partition: its messages and idempotency claims, and the session itself
 * unless `keepSession`. The session item goes last, so a failure half-way leaves a session that can be
 * deleted again.
 */
export async function deleteSessionItems(
  db: Db,
  input: { sessionId: string; keepSession: boolean },
): Promise<number> {
  const pk = `SESSION#${input.sessionId}`;
  let deleted = 0;
  for (;;) {
    const { Items = [] } = await db.documentClient.send(
      new RawQueryCommand({
        TableName: db.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': pk },
        ProjectionExpression: 'pk, sk',
        ConsistentRead: true,
        Limit: 250,
      }),
    );
    const keys = Items.map((item) => ({ pk: item.pk as string, sk: item.sk as string })).filter(
      (key) => key.sk !== 'SESSION',
    );
    if (keys.length === 0) break;
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
    deleted += keys.length;
  }
  if (!input.keepSession) {
    await db.entities.session.build(DeleteItemCommand).key({ sessionId: input.sessionId }).send();
  }
  return deleted;
}
