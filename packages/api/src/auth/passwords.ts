import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import argon2 from 'argon2';
import { WorkQueue } from '../work-queue.js';

/** OWASP's argon2id baseline: 19 MiB, 2 passes, 1 lane (~30 ms per hash on the reference machine). */
const HASH_OPTIONS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;
const SALT_BYTES = 16;

/** libuv's threadpool size unless UV_THREADPOOL_SIZE says otherwise. */
const LIBUV_DEFAULT_THREADPOOL_SIZE = 4;

/**
 * How many argon2 computations may be on libuv's threadpool at once: one per core, and always at least one
 * thread of the default pool left free. Each computation keeps one thread busy on one core (one lane), so more
 * at once cannot finish sooner; but the pool is shared and first-come first-served, so 50 queued logins would
 * make every file read, DNS lookup, zlib or DuckDB call wait behind all of them, and threads beyond the cores
 * take CPU from the event loop serving everyone else. The rest wait here, in order, costing nothing.
 */
export const HASHING_CONCURRENCY = Math.max(
  1,
  Math.min(availableParallelism(), LIBUV_DEFAULT_THREADPOOL_SIZE - 1),
);
export const hashing = new WorkQueue({ perServer: HASHING_CONCURRENCY, perKey: HASHING_CONCURRENCY });
const HASHING = 'argon2';

export function hashPassword(password: string): Promise<string> {
  // A synchronous 16-byte salt costs microseconds; argon2's own salt would be an extra threadpool job queued
  // behind the hashes already there.
  const salt = randomBytes(SALT_BYTES);
  return hashing.run(HASHING, () => argon2.hash(password, { ...HASH_OPTIONS, salt }));
}

export function verifyPassword(hash: string, password: string): Promise<boolean> {
  return hashing.run(HASHING, () => argon2.verify(hash, password));
}

let decoyHash: Promise<string> | undefined;

/**
 * Spends the same work as checking a real password, so a login for an unknown email takes as long as one
 * with a wrong password and timing does not reveal which emails have accounts.
 */
export async function verifyAgainstDecoy(password: string): Promise<false> {
  decoyHash ??= hashPassword('decoy password that no account has');
  await verifyPassword(await decoyHash, password);
  return false;
}
