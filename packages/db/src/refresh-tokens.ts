import {
  executeTransactWrite,
  GetItemCommand,
  PutTransaction,
  UpdateItemCommand,
  UpdateTransaction,
} from 'dynamodb-toolbox';
import type { Db } from './db.js';
import { isConditionFailure, isTransactionConditionFailure } from './errors.js';
import type { RefreshFamilyRecord, RefreshTokenRecord } from './records.js';

const epochSeconds = (ms: number) => Math.ceil(ms / 1000);

export async function startRefreshFamily(
  db: Db,
  input: { familyId: string; userId: string; tokenHash: string; expiresAt: number },
): Promise<void> {
  const { refreshFamily, refreshToken } = db.entities;
  await executeTransactWrite(
    refreshFamily
      .build(PutTransaction)
      .item({ familyId: input.familyId, userId: input.userId, ttl: epochSeconds(input.expiresAt) })
      .options({ condition: { attr: 'familyId', exists: false } }),
    refreshToken
      .build(PutTransaction)
      .item({
        tokenHash: input.tokenHash,
        familyId: input.familyId,
        userId: input.userId,
        expiresAt: input.expiresAt,
        ttl: epochSeconds(input.expiresAt),
      })
      .options({ condition: { attr: 'tokenHash', exists: false } }),
  );
}

export async function getRefreshToken(db: Db, tokenHash: string): Promise<RefreshTokenRecord | null> {
  const { Item } = await db.entities.refreshToken
    .build(GetItemCommand)
    .key({ tokenHash })
    .options({ consistent: true })
    .send();
  return Item ?? null;
}

export async function getRefreshFamily(db: Db, familyId: string): Promise<RefreshFamilyRecord | null> {
  const { Item } = await db.entities.refreshFamily
    .build(GetItemCommand)
    .key({ familyId })
    .options({ consistent: true })
    .send();
  return Item ?? null;
}

/**
 * Marks the presented token used and issues its successor in one transaction, only if the token was not
 * used before and its family is not revoked. Returns false when either condition failed (a replay or a race).
 */
export async function rotateRefreshToken(
  db: Db,
  input: { current: RefreshTokenRecord; nextTokenHash: string; nextExpiresAt: number; rotatedAt: string },
): Promise<boolean> {
  const { refreshFamily, refreshToken } = db.entities;
  const { current } = input;
  try {
    await executeTransactWrite(
      refreshToken
        .build(UpdateTransaction)
        .item({ tokenHash: current.tokenHash, rotatedAt: input.rotatedAt })
        .options({
          condition: {
            and: [
              { attr: 'tokenHash', exists: true },
              { attr: 'rotatedAt', exists: false },
            ],
          },
        }),
      // The family lives as long as its newest token.
      refreshFamily
        .build(UpdateTransaction)
        .item({ familyId: current.familyId, ttl: epochSeconds(input.nextExpiresAt) })
        .options({
          condition: {
            and: [
              { attr: 'familyId', exists: true },
              { attr: 'revokedAt', exists: false },
            ],
          },
        }),
      refreshToken
        .build(PutTransaction)
        .item({
          tokenHash: input.nextTokenHash,
          familyId: current.familyId,
          userId: current.userId,
          expiresAt: input.nextExpiresAt,
          ttl: epochSeconds(input.nextExpiresAt),
        })
        .options({ condition: { attr: 'tokenHash', exists: false } }),
    );
    return true;
  } catch (error) {
    if (isTransactionConditionFailure(error)) return false;
    throw error;
  }
}

/** Revoking the family invalidates every token ever rotated from the same login at once. */
export async function revokeRefreshFamily(
  db: Db,
  input: { familyId: string; revokedAt: string },
): Promise<void> {
  await db.entities.refreshFamily
    .build(UpdateItemCommand)
    .item({ familyId: input.familyId, revokedAt: input.revokedAt })
    .options({ condition: { attr: 'familyId', exists: true } })
    .send()
    .catch((error: unknown) => {
      if (!isConditionFailure(error)) throw error;
    });
}
