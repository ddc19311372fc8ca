import { DeleteItemCommand, PutTransaction, QueryCommand, UpdateItemCommand } from 'dynamodb-toolbox';
import type { Db } from './db.js';
import { isConditionFailure } from './errors.js';
import type { DeletionRecord } from './records.js';

export type DeletionKind = 'PROJECT' | 'SESSION' | 'MESSAGE';

const PENDING_DELETION = 'PENDING_DELETION';

/** The tombstone's put, for the transaction that makes its project or session disappear. */
export function tombstonePut(
  db: Db,
  input: {
    kind: DeletionKind;
    targetId: string;
    userId: string;
    projectId: string;
    sessionId?: string;
    messageIds?: string[];
    leaseUntil: number;
  },
) {
  return db.entities.deletion
    .build(PutTransaction)
    .item({
      ...input,
      gsi3pk: PENDING_DELETION,
      // Oldest first, so housekeeping finishes the longest-waiting cascades first.
      gsi3sk: `${new Date().toISOString()}#${input.kind}#${input.targetId}`,
    })
    .options({ condition: { attr: 'targetId', exists: false } });
}

/**
 * Tombstones whose lease has run out (their server died or gave up), oldest first. The partition holds only
 * cascades in progress, so it is read whole.
 */
export async function listAbandonedDeletions(db: Db, now: number): Promise<DeletionRecord[]> {
  const { Items = [] } = await db.table
    .build(QueryCommand)
    .entities(db.entities.deletion)
    .query({ index: 'GSI3', partition: PENDING_DELETION })
    .options({ maxPages: 10, filters: { DELETION: { attr: 'leaseUntil', lt: now } } })
    .send();
  return Items;
}

/** Takes over a tombstone whose lease has run out; null when another server holds it or it is done. */
export async function claimDeletion(
  db: Db,
  input: { kind: DeletionKind; targetId: string; now: number; leaseUntil: number },
): Promise<DeletionRecord | null> {
  try {
    const { Attributes } = await db.entities.deletion
      .build(UpdateItemCommand)
      .item({ kind: input.kind, targetId: input.targetId, leaseUntil: input.leaseUntil })
      .options({ condition: { attr: 'leaseUntil', lt: input.now }, returnValues: 'ALL_NEW' })
      .send();
    return Attributes ?? null;
  } catch (error) {
    if (isConditionFailure(error)) return null;
    throw error;
  }
}

/** Keeps the lease while a long cascade is still making progress (never re-creates a finished tombstone). */
export async function extendDeletionLease(
  db: Db,
  input: { kind: DeletionKind; targetId: string; leaseUntil: number },
): Promise<void> {
  try {
    await db.entities.deletion
      .build(UpdateItemCommand)
      .item(input)
      .options({ condition: { attr: 'targetId', exists: true } })
      .send();
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
  }
}

/** The cascade is complete: nothing of the project or session remains but this tombstone. */
export async function finishDeletion(db: Db, key: { kind: DeletionKind; targetId: string }): Promise<void> {
  await db.entities.deletion.build(DeleteItemCommand).key(key).send();
}
