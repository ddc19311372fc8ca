import {
  $add,
  DeleteItemCommand,
  executeTransactWrite,
  GetItemCommand,
  PutTransaction,
  UpdateItemCommand,
} from 'dynamodb-toolbox';
import type { Db } from './db.js';
import { isConditionFailure, isTransactionConditionFailure } from './errors.js';
import type { LoginGuardRecord, UserRecord } from './records.js';
import { emptyUsage } from './usage.js';

/**
 * Writes the user, the claim on its email and its (empty) usage in one transaction: under concurrent
 * registrations of one email exactly one succeeds. Returns `null` when the email is taken.
 */
export async function createUserWithEmailClaim(
  db: Db,
  input: { userId: string; email: string; name: string; passwordHash: string },
): Promise<UserRecord | null> {
  const { user, emailClaim, usage } = db.entities;
  try {
    const { ToolboxItems } = await executeTransactWrite(
      emailClaim
        .build(PutTransaction)
        .item({ email: input.email, userId: input.userId })
        .options({ condition: { attr: 'email', exists: false } }),
      user
        .build(PutTransaction)
        .item(input)
        .options({ condition: { attr: 'userId', exists: false } }),
      // Counted from the start: a new account's first project is one transaction, not a refused one, a count
      // of what the account holds, a put and the transaction again (`withUsage`).
      usage
        .build(PutTransaction)
        .item(emptyUsage(input.userId))
        .options({ condition: { attr: 'userId', exists: false } }),
    );
    return ToolboxItems[1];
  } catch (error) {
    if (isTransactionConditionFailure(error)) return null;
    throw error;
  }
}

export async function getUserById(db: Db, userId: string): Promise<UserRecord | null> {
  const { Item } = await db.entities.user
    .build(GetItemCommand)
    .key({ userId })
    .options({ consistent: true })
    .send();
  return Item ?? null;
}

export async function getUserByEmail(db: Db, email: string): Promise<UserRecord | null> {
  const { Item: claim } = await db.entities.emailClaim
    .build(GetItemCommand)
    .key({ email })
    .options({ consistent: true })
    .send();
  return claim ? getUserById(db, claim.userId) : null;
}

export interface LoginGuardKey {
  email: string;
  /** The client address (or the network it belongs to) the attempts came from. */
  address: string;
}

export async function getLoginGuard(db: Db, key: LoginGuardKey): Promise<LoginGuardRecord | null> {
  const { Item } = await db.entities.loginGuard
    .build(GetItemCommand)
    .key(key)
    .options({ consistent: true })
    .send();
  return Item ?? null;
}

/**
 * Counts one more consecutive failure atomically (concurrent failures all count) and returns the new total.
 */
export async function recordLoginFailure(
  db: Db,
  input: LoginGuardKey & { keepUntilEpochSeconds: number },
): Promise<number> {
  const { Attributes } = await db.entities.loginGuard
    .build(UpdateItemCommand)
    .item({
      email: input.email,
      address: input.address,
      failures: $add(1),
      ttl: input.keepUntilEpochSeconds,
    })
    .options({ returnValues: 'ALL_NEW' })
    .send();
  return Attributes?.failures ?? 1;
}

export async function lockLogin(db: Db, input: LoginGuardKey & { lockedUntil: number }): Promise<void> {
  try {
    await db.entities.loginGuard
      .build(UpdateItemCommand)
      .item({ email: input.email, address: input.address, lockedUntil: input.lockedUntil })
      .options({ condition: { attr: 'email', exists: true } })
      .send();
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
  }
}

export async function clearLoginGuard(db: Db, key: LoginGuardKey): Promise<void> {
  await db.entities.loginGuard.build(DeleteItemCommand).key(key).send();
}
