import { type QueryCommandInput, QueryCommand as RawQueryCommand } from '@aws-sdk/lib-dynamodb';
import { $add, GetItemCommand, PutItemCommand, UpdateTransaction } from 'dynamodb-toolbox';
import type { Db } from './db.js';
import { failedConditionIndexes, isConditionFailure, isTransactionConflictOnly } from './errors.js';
import type { UsageRecord } from './records.js';

/**
 * The usage half of a transaction that creates (`by: 1`, only while the count is below `below`) or deletes
 * (`by: -1`) one project or session. It goes first in the transaction, as `withUsage` expects.
 */
export function countChange(
  db: Db,
  input: { userId: string; counter: 'projects' | 'sessions'; by: 1 | -1; below?: number },
) {
  const { userId, counter, by, below } = input;
  const exists = { attr: 'userId', exists: true } as const;
  return db.entities.usage
    .build(UpdateTransaction)
    .item(counter === 'projects' ? { userId, projects: $add(by) } : { userId, sessions: $add(by) })
    .options({
      condition:
        below === undefined
          ? exists
          : counter === 'projects'
            ? { and: [exists, { attr: 'projects', lt: below }] }
            : { and: [exists, { attr: 'sessions', lt: below }] },
    });
}

/** The usage of a user who holds nothing yet: what a new account starts with. */
export function emptyUsage(userId: string): Omit<UsageRecord, 'createdAt' | 'updatedAt'> {
  return { userId, projects: 0, sessions: 0, storedBytes: 0, pendingBytes: 0, pendingUploads: {} };
}

export async function getUsage(db: Db, userId: string): Promise<UsageRecord | null> {
  const { Item } = await db.entities.usage
    .build(GetItemCommand)
    .key({ userId })
    .options({ consistent: true })
    .send();
  return Item ?? null;
}

/**
 * The user's usage item, made on first need by counting what the user already holds (data written before
 * the counters existed): lazily, so no migration has to run before a deploy. The count is exact because
 * every write it covers is a transaction that needs the usage item to exist: none can land between the
 * reads and the conditional put. Concurrent first needs count alike; one put wins and the others read it.
 */
export async function ensureUsage(db: Db, userId: string): Promise<UsageRecord> {
  const existing = await getUsage(db, userId);
  if (existing) return existing;
  const counted = await countUsage(db, userId);
  try {
    const { ToolboxItem } = await db.entities.usage
      .build(PutItemCommand)
      .item(counted)
      .options({ condition: { attr: 'userId', exists: false } })
      .send();
    return ToolboxItem;
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    const winner = await getUsage(db, userId);
    if (!winner) throw error;
    return winner;
  }
}

/**
 * Runs a write whose transaction updates the user's usage item first (position 0, conditioned on its
 * existence and on the quota). If that item does not exist yet, it is counted and the write runs again.
 */
export async function withUsage<RESULT>(
  db: Db,
  userId: string,
  write: () => Promise<RESULT>,
): Promise<RESULT> {
  try {
    return await retryConflicts(write);
  } catch (error) {
    if (!failedConditionIndexes(error).includes(0)) throw error;
    // The usage item may not have existed when the write ran, even if it does now (a concurrent first write
    // made it): make sure it does and write once more. A quota really reached fails the same way again.
    await ensureUsage(db, userId);
    return retryConflicts(write);
  }
}

const CONFLICT_RETRIES = 12;

/**
 * Retries a transaction while DynamoDB cancels it only for a conflict with another transaction on the same
 * item (a user's concurrent creates all update one usage item). The conditions decide the outcome; this only
 * waits for the other writer, with a jittered, growing pause.
 */
async function retryConflicts<RESULT>(write: () => Promise<RESULT>): Promise<RESULT> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (error) {
      if (!isTransactionConflictOnly(error) || attempt >= CONFLICT_RETRIES) throw error;
      const pause = Math.min(500, 5 * 2 ** attempt) * (0.5 + Math.random());
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
}

/** What the usage item says, counted from the items themselves. */
async function countUsage(db: Db, userId: string): Promise<Omit<UsageRecord, 'createdAt' | 'updatedAt'>> {
  const projectIds = (
    await queryAll(db, {
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': `USER#${userId}`, ':prefix': 'PROJECT#' },
      ProjectionExpression: 'projectId',
      ConsistentRead: true,
    })
  ).map((item) => item.projectId as string);
  const usage = { ...emptyUsage(userId), projects: projectIds.length };
  for (const projectId of projectIds) {
    const children = await queryAll(db, {
      IndexName: 'GSI1',
      KeyConditionExpression: 'gsi1pk = :pk',
      ExpressionAttributeValues: { ':pk': `PROJECT#${projectId}` },
      ProjectionExpression: '#et, fileId, #size, #status, uploadExpiresAt',
      ExpressionAttributeNames: { '#et': '_et', '#size': 'size', '#status': 'status' },
    });
    for (const child of children) {
      if (child._et === 'SESSION') usage.sessions++;
      if (child._et !== 'FILE') continue;
      const size = child.size as number;
      usage.storedBytes += size;
      if (child.status === 'UPLOADING') {
        usage.pendingBytes += size;
        usage.pendingUploads[child.fileId as string] = child.uploadExpiresAt as number;
      }
    }
  }
  return usage;
}

async function queryAll(
  db: Db,
  input: Omit<QueryCommandInput, 'TableName' | 'ExclusiveStartKey'>,
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await db.documentClient.send(
      new RawQueryCommand({ ...input, TableName: db.tableName, ExclusiveStartKey: startKey }),
    );
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return items;
}
