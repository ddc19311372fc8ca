import { BatchGetCommand } from '@aws-sdk/lib-dynamodb';
import {
  $add,
  $remove,
  $set,
  type Condition,
  EntityFormatter,
  executeTransactWrite,
  UpdateItemCommand,
  UpdateTransaction,
} from 'dynamodb-toolbox';
import type { Db } from './db.js';
import { tombstonePut } from './deletions.js';
import type { LeonidasEntities } from './entities.js';
import { failedConditionIndexes, isConditionFailure } from './errors.js';
import { getMessage, MAX_ANCESTORS } from './messages.js';
import type { MessageRecord, SessionRecord } from './records.js';
import { batchDelete, getSession, listMessageIds } from './sessions.js';

/*
 * The conversation tree. Each message knows its parent, its depth, its children and up to MAX_ANCESTORS
 * ancestors; the session knows its first messages (`rootIds`) and the end of its active branch
 * (`activeLeafId`). So the active branch is read from its end: one GetItem for the message a page starts at,
 * one BatchGetItem for the ones before it. Other branches are never read, however many there are. Every
 * change of the tree goes through a transaction conditioned on the session's `treeVersion`.
 */

/** Which tree changes can fail on, so the caller can say why. */
export type TreeChangeFailure = 'busy' | 'moved' | 'gone';

const messageKey = (sessionId: string, messageId: string) => ({
  pk: `SESSION#${sessionId}`,
  sk: `MESSAGE#${messageId}`,
});

function formatMessage(db: Db, raw: Record<string, unknown>): MessageRecord {
  return db.entities.message.build(EntityFormatter).format(raw);
}

/**
 * The messages with these ids, in the order asked (missing ones left out), read consistently, 100 per
 * BatchGetItem.
 */
export async function getMessages(db: Db, sessionId: string, messageIds: string[]): Promise<MessageRecord[]> {
  const found = new Map<string, MessageRecord>();
  for (let i = 0; i < messageIds.length; i += 100) {
    let keys: Record<string, unknown>[] = messageIds.slice(i, i + 100).map((id) => messageKey(sessionId, id));
    // BatchGetItem may leave keys unprocessed under load: ask again for those.
    while (keys.length > 0) {
      const result = await db.documentClient.send(
        new BatchGetCommand({ RequestItems: { [db.tableName]: { Keys: keys, ConsistentRead: true } } }),
      );
      for (const raw of result.Responses?.[db.tableName] ?? []) {
        const message = formatMessage(db, raw);
        found.set(message.messageId, message);
      }
      keys = result.UnprocessedKeys?.[db.tableName]?.Keys ?? [];
    }
  }
  return messageIds.flatMap((id) => found.get(id) ?? []);
}

export interface BranchPage {
  /** Newest first: the message the page starts at, then the ones before it on its branch. */
  items: MessageRecord[];
  /** The parent of the oldest item, read along (its `childIds` are the oldest item's versions). */
  parentOfOldest: MessageRecord | null;
  /** Where the next page (further back) starts; null at the first message. */
  nextId: string | null;
}

/**
 * Up to `limit` (at most MAX_ANCESTORS) messages of a branch, from `from` back towards the first message:
 * one GetItem (none when `from` is given as a record) and one BatchGetItem, whatever the tree holds.
 */
export async function readBranch(
  db: Db,
  input: { sessionId: string; from: string | MessageRecord; limit: number },
): Promise<BranchPage> {
  const limit = Math.min(input.limit, MAX_ANCESTORS);
  const start =
    typeof input.from === 'string'
      ? await getMessage(db, { sessionId: input.sessionId, messageId: input.from })
      : input.from;
  if (!start) return { items: [], parentOfOldest: null, nextId: null };
  // The page's older messages and, one further, the parent of its oldest.
  const wanted = (start.ancestors ?? []).slice(0, limit);
  const older = await getMessages(db, input.sessionId, wanted);
  const items = [start];
  for (const message of older.slice(0, limit - 1)) {
    // A hole (a message deleted while this was read) ends the page.
    if (message.messageId !== items.at(-1)?.parentId) break;
    items.push(message);
  }
  const oldest = items.at(-1);
  const parentOfOldest = older.find((message) => message.messageId === oldest?.parentId) ?? null;
  return { items, parentOfOldest, nextId: items.length === limit ? (oldest?.parentId ?? null) : null };
}

/**
 * The end of the branch that runs through `message` and, below it, always through the newest reply or
 * question: one GetItem a level.
 */
export async function newestLeafBelow(db: Db, message: MessageRecord): Promise<MessageRecord> {
  let leaf = message;
  for (;;) {
    const newest = leaf.childIds?.at(-1);
    if (!newest) return leaf;
    const child = await getMessage(db, { sessionId: leaf.sessionId, messageId: newest });
    if (!child) return leaf;
    leaf = child;
  }
}

const treeCondition = (treeVersion: number): Condition<LeonidasEntities['session']> => ({
  and: [
    { attr: 'sessionId', exists: true },
    { attr: 'activeRunId', exists: false },
    { attr: 'treeVersion', eq: treeVersion },
  ],
});

async function treeChangeFailure(db: Db, sessionId: string): Promise<TreeChangeFailure> {
  const session = await getSession(db, sessionId);
  if (!session) return 'gone';
  return session.activeRunId ? 'busy' : 'moved';
}

/**
 * Starts the conversation over, in one transaction: if the tree is still at the version read and no reply is
 * being written, it is emptied (no first messages, no active branch, no messages counted) and one tombstone
 * takes every first message, from which `deleteDetachedMessages` deletes them with everything below them in
 * the background (a crash leaves the tombstone for housekeeping). Every send and tree change moves
 * `treeVersion`, so what is written after this (the new conversation) is never among what is deleted.
 */
export async function clearConversation(
  db: Db,
  input: { session: SessionRecord; leaseUntil: number },
): Promise<true | TreeChangeFailure> {
  const { session } = input;
  const [first, ...others] = session.rootIds ?? [];
  try {
    await executeTransactWrite(
      db.entities.session
        .build(UpdateTransaction)
        .item({
          sessionId: session.sessionId,
          rootIds: $set([]),
          activeLeafId: $remove(),
          messageCount: 0,
          treeVersion: $add(1),
          version: $add(1),
        })
        .options({ condition: treeCondition(session.treeVersion ?? 0) }),
      ...(first
        ? [
            tombstonePut(db, {
              kind: 'MESSAGE',
              targetId: first,
              messageIds: [first, ...others],
              sessionId: session.sessionId,
              userId: session.userId,
              projectId: session.projectId,
              leaseUntil: input.leaseUntil,
            }),
          ]
        : []),
    );
    return true;
  } catch (error) {
    const failed = failedConditionIndexes(error);
    if (failed.length === 0) throw error;
    return failed.includes(0) ? treeChangeFailure(db, session.sessionId) : 'moved';
  }
}

/** Makes the branch ending at `leafId` the active one, if the tree is still at `treeVersion`. */
export async function setActiveLeaf(
  db: Db,
  input: { sessionId: string; leafId: string; treeVersion: number },
): Promise<SessionRecord | TreeChangeFailure> {
  try {
    const { Attributes } = await db.entities.session
      .build(UpdateItemCommand)
      .item({ sessionId: input.sessionId, activeLeafId: input.leafId, treeVersion: $add(1) })
      .options({ condition: treeCondition(input.treeVersion), returnValues: 'ALL_NEW' })
      .send();
    if (!Attributes) return 'gone';
    return Attributes;
  } catch (error) {
    if (isConditionFailure(error)) return treeChangeFailure(db, input.sessionId);
    throw error;
  }
}

/** Whether `message` is on the branch that ends at `leaf` (one GetItem per MAX_ANCESTORS levels between them). */
export async function isOnBranch(db: Db, leaf: MessageRecord, message: MessageRecord): Promise<boolean> {
  const depth = message.depth ?? 0;
  let current: MessageRecord | null = leaf;
  while (current && (current.depth ?? 0) - depth > MAX_ANCESTORS) {
    const farthest: string | undefined = current.ancestors?.at(-1);
    current = farthest ? await getMessage(db, { sessionId: leaf.sessionId, messageId: farthest }) : null;
  }
  if (!current) return false;
  const distance = (current.depth ?? 0) - depth;
  if (distance === 0) return current.messageId === message.messageId;
  return distance > 0 && current.ancestors?.[distance - 1] === message.messageId;
}

/** `root` and every message below it on every branch, level by level (root first): one BatchGetItem a level. */
export async function collectSubtree(db: Db, root: MessageRecord): Promise<MessageRecord[]> {
  const all = [root];
  let level = [root];
  while (level.length > 0) {
    const childIds = level.flatMap((message) => message.childIds ?? []);
    level = childIds.length > 0 ? await getMessages(db, root.sessionId, childIds) : [];
    all.push(...level);
  }
  return all;
}

/**
 * Takes `message` and everything below it out of the conversation, in one transaction: its parent (or the
 * session, for a first message) forgets it, the session's message count drops by `removed`, the active branch
 * ends at `newLeafId` (none: the conversation is empty), and a tombstone is written, from which
 * `deleteDetachedMessages` deletes the items in the background. Nothing detached is ever read again.
 */
export async function detachMessage(
  db: Db,
  input: {
    session: SessionRecord;
    message: MessageRecord;
    /** The message's parent as read with the session; null for a first message. */
    parent: MessageRecord | null;
    removed: number;
    newLeafId: string | null;
    leaseUntil: number;
  },
): Promise<true | TreeChangeFailure> {
  const { session, message, parent } = input;
  const sessionId = session.sessionId;
  const without = (ids: string[] | undefined) => (ids ?? []).filter((id) => id !== message.messageId);
  try {
    await executeTransactWrite(
      db.entities.session
        .build(UpdateTransaction)
        .item({
          sessionId,
          treeVersion: $add(1),
          messageCount: $add(-input.removed),
          activeLeafId: input.newLeafId ?? $remove(),
          ...(parent ? {} : { rootIds: $set(without(session.rootIds)) }),
        })
        .options({ condition: treeCondition(session.treeVersion ?? 0) }),
      tombstonePut(db, {
        kind: 'MESSAGE',
        targetId: message.messageId,
        sessionId,
        userId: session.userId,
        projectId: session.projectId,
        leaseUntil: input.leaseUntil,
      }),
      ...(parent
        ? [
            db.entities.message
              .build(UpdateTransaction)
              .item({ sessionId, messageId: parent.messageId, childIds: $set(without(parent.childIds)) })
              .options({ condition: { attr: 'messageId', exists: true } }),
          ]
        : []),
    );
    return true;
  } catch (error) {
    const failed = failedConditionIndexes(error);
    if (failed.length === 0) throw error;
    // The tombstone and the parent fail only when a change of the tree got there first.
    return failed.includes(0) ? treeChangeFailure(db, sessionId) : 'moved';
  }
}

/**
 * Deletes detached messages (as `collectSubtree` lists them) and their idempotency claims, deepest first and
 * 25 a request, so that a crash half-way leaves every remaining message still reachable from `root` for the
 * next attempt.
 */
export async function deleteDetachedMessages(
  db: Db,
  subtree: MessageRecord[],
  afterBatch: () => Promise<void>,
): Promise<void> {
  const deepestFirst = [...subtree].reverse();
  for (let i = 0; i < deepestFirst.length; i += 100) {
    const keys = deepestFirst
      .slice(i, i + 100)
      .flatMap((message) => [
        ...(message.clientMessageId
          ? [{ pk: `SESSION#${message.sessionId}`, sk: `CLIENT_MESSAGE#${message.clientMessageId}` }]
          : []),
        messageKey(message.sessionId, message.messageId),
      ]);
    await batchDelete(db, keys);
    await afterBatch();
  }
}

/**
 * Gives a session from before the tree its tree: its messages, in time order, become one branch (each one's
 * parent the one before it). Run once, on the first use of such a session; running it twice, or at once on
 * two servers, writes the same values.
 */
export async function adoptStraightHistory(db: Db, sessionId: string): Promise<void> {
  const ids = await listMessageIds(db, sessionId);
  const place = async (index: number) => {
    const messageId = ids[index] as string;
    const parentId = ids[index - 1];
    const childId = ids[index + 1];
    try {
      await db.entities.message
        .build(UpdateItemCommand)
        .item({
          sessionId,
          messageId,
          depth: index,
          // Lists are set whole ($set): a plain array would update them index by index.
          ancestors: $set(ids.slice(Math.max(0, index - MAX_ANCESTORS), index).reverse()),
          ...(parentId ? { parentId } : {}),
          ...(childId ? { childIds: $set([childId]) } : {}),
        })
        // Written with the tree already (by a send after an adoption that ran at the same time): kept.
        .options({
          condition: {
            and: [
              { attr: 'messageId', exists: true },
              { attr: 'depth', exists: false },
            ],
          },
        })
        .send();
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  };
  for (let i = 0; i < ids.length; i += 10) {
    await Promise.all(ids.slice(i, i + 10).map((_, offset) => place(i + offset)));
  }
  try {
    await db.entities.session
      .build(UpdateItemCommand)
      .item({
        sessionId,
        treeVersion: 0,
        rootIds: $set(ids.slice(0, 1)),
        ...(ids.length > 0 ? { activeLeafId: ids.at(-1) } : {}),
      })
      .options({
        condition: {
          and: [
            { attr: 'sessionId', exists: true },
            { attr: 'treeVersion', exists: false },
          ],
        },
      })
      .send();
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
  }
}
