import { describe, expect, it } from 'vitest';
import {
  HASHING_CONCURRENCY,
  hashing,
  hashPassword,
  verifyAgainstDecoy,
  verifyPassword,
} from './passwords.js';

describe('passwords', () => {
  it('hashes with argon2id at the baseline parameters, a fresh salt each time', async () => {
    const [first, second] = await Promise.all([hashPassword('correct horse'), hashPassword('correct horse')]);
    expect(first).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(second).not.toBe(first);
    expect(await verifyPassword(first, 'correct horse')).toBe(true);
    expect(await verifyPassword(second, 'correct horse')).toBe(true);
    expect(await verifyPassword(first, 'wrong horse')).toBe(false);
  });

  it('checks an unknown account against a decoy and never accepts', async () => {
    expect(await verifyAgainstDecoy('decoy password that no account has')).toBe(false);
    expect(await verifyAgainstDecoy('anything else')).toBe(false);
  });

  it('keeps at most one hash per core on the threadpool, with a thread of the default pool to spare', async () => {
    expect(HASHING_CONCURRENCY).toBeGreaterThanOrEqual(1);
    expect(HASHING_CONCURRENCY).toBeLessThan(4);
    const hash = await hashPassword('pa55word!');
    const checks = Array.from({ length: HASHING_CONCURRENCY + 4 }, (_, i) =>
      verifyPassword(hash, i % 2 === 0 ? 'pa55word!' : 'not it'),
    );
    expect(hashing.active).toBe(HASHING_CONCURRENCY);
    expect(hashing.queued).toBe(4);
    const results = await Promise.all(checks);
    expect(results).toEqual(checks.map((_, i) => i % 2 === 0));
    expect([hashing.active, hashing.queued]).toEqual([0, 0]);
  });
});
