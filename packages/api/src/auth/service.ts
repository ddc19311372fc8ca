import {
  clearLoginGuard,
  createUserWithEmailClaim,
  getLoginGuard,
  getRefreshFamily,
  getRefreshToken,
  getUserByEmail,
  getUserById,
  lockLogin,
  newId,
  recordLoginFailure,
  revokeRefreshFamily,
  rotateRefreshToken,
  startRefreshFamily,
  type UserRecord,
} from '@leonidas/db';
import type { ApiDeps } from '../context.js';
import { AppError, notFound, tooManyRequests } from '../errors.js';
import { WorkQueue } from '../work-queue.js';
import { hashPassword, verifyAgainstDecoy, verifyPassword } from './passwords.js';
import type { IssuedTokens, User } from './schema.js';
import { hashRefreshToken } from './tokens.js';

/**
 * After this many consecutive failures from one address, that address is refused for the account for 1 min,
 * doubling per further failure, up to 1 h. Other addresses, the owner's among them, are not affected.
 */
export const LOGIN_LOCK_THRESHOLD = 10;
const FIRST_LOCK_MS = 60_000;
const MAX_LOCK_MS = 60 * 60_000;
const LOGIN_GUARD_KEEP_MS = 24 * 60 * 60_000;

const INVALID_CREDENTIALS = 'Email or password is incorrect.';
const SESSION_ENDED = 'Your session has ended. Please sign in again.';

export function toUser(record: UserRecord): User {
  return { id: record.userId, email: record.email, name: record.name, createdAt: new Date(record.createdAt) };
}

export async function register(
  deps: ApiDeps,
  input: { email: string; password: string; name?: string | undefined },
): Promise<IssuedTokens> {
  const passwordHash = await hashPassword(input.password);
  const record = await createUserWithEmailClaim(deps.db, {
    userId: newId(),
    email: input.email,
    name: input.name ?? input.email.split('@')[0] ?? input.email,
    passwordHash,
  });
  if (!record) throw new AppError('CONFLICT', 'An account with this email already exists.');
  return issueSession(deps, record);
}

/**
 * One sign-in at a time per account and address on this server. Each attempt reads the failure count before its
 * password check and records its failure after, so attempts that overlapped all read the count from before any
 * of them: a burst of 50 wrong passwords was checked 50 times before the lock engaged. In turn, each reads what
 * the previous one recorded, and those after the tenth failure are refused without a check. Across servers the
 * overlap is bounded by their number.
 */
const loginAttempts = new WorkQueue({ perServer: Number.POSITIVE_INFINITY, perKey: 1 });

/**
 * Unknown email and wrong password take the same path (argon2 work, failure count, error), so neither the
 * answer nor its timing tells whether an account exists.
 */
export function login(
  deps: ApiDeps,
  input: { email: string; password: string; clientAddress: string },
): Promise<IssuedTokens> {
  return loginAttempts.run(JSON.stringify([input.email, input.clientAddress]), () =>
    attemptLogin(deps, input),
  );
}

async function attemptLogin(
  deps: ApiDeps,
  input: { email: string; password: string; clientAddress: string },
): Promise<IssuedTokens> {
  const now = deps.clock.now();
  const guardKey = { email: input.email, address: input.clientAddress };
  // Both reads at once: a login waits for one database round trip before its password check, not two in a row.
  const [guard, user] = await Promise.all([
    getLoginGuard(deps.db, guardKey),
    getUserByEmail(deps.db, input.email),
  ]);
  if (guard?.lockedUntil !== undefined && guard.lockedUntil > now) {
    throw tooManyRequests(
      'Too many failed sign-ins for this account from your address.',
      guard.lockedUntil - now,
    );
  }

  const valid = user
    ? await verifyPassword(user.passwordHash, input.password)
    : await verifyAgainstDecoy(input.password);

  if (!user || !valid) {
    const failures = await recordLoginFailure(deps.db, {
      ...guardKey,
      keepUntilEpochSeconds: Math.ceil((now + LOGIN_GUARD_KEEP_MS) / 1000),
    });
    if (failures >= LOGIN_LOCK_THRESHOLD) {
      const lockMs = Math.min(FIRST_LOCK_MS * 2 ** (failures - LOGIN_LOCK_THRESHOLD), MAX_LOCK_MS);
      await lockLogin(deps.db, { ...guardKey, lockedUntil: now + lockMs });
    }
    throw new AppError('UNAUTHORIZED', INVALID_CREDENTIALS);
  }

  if (guard) await clearLoginGuard(deps.db, guardKey);
  return issueSession(deps, user);
}

/**
 * Rotates the refresh token. A token presented a second time means it leaked (or two clients raced):
 * the whole family is revoked, so the thief's and the owner's newer tokens both stop working. No token at all
 * (a browser without its cookie) is a session that has ended.
 */
export async function refresh(deps: ApiDeps, input: { refreshToken: string | null }): Promise<IssuedTokens> {
  if (input.refreshToken === null) throw new AppError('UNAUTHORIZED', SESSION_ENDED);
  const current = await getRefreshToken(deps.db, hashRefreshToken(input.refreshToken));
  if (!current || current.expiresAt <= deps.clock.now()) throw new AppError('UNAUTHORIZED', SESSION_ENDED);

  const family = await getRefreshFamily(deps.db, current.familyId);
  if (!family || family.revokedAt) throw new AppError('UNAUTHORIZED', SESSION_ENDED);

  const nowIso = new Date(deps.clock.now()).toISOString();
  if (current.rotatedAt) {
    await revokeLogin(deps, current.familyId);
    throw new AppError('UNAUTHORIZED', SESSION_ENDED);
  }

  const user = await getUserById(deps.db, current.userId);
  if (!user) throw new AppError('UNAUTHORIZED', SESSION_ENDED);

  const next = deps.tokens.newRefreshToken();
  const rotated = await rotateRefreshToken(deps.db, {
    current,
    nextTokenHash: next.hash,
    nextExpiresAt: next.expiresAt,
    rotatedAt: nowIso,
  });
  if (!rotated) {
    await revokeLogin(deps, current.familyId);
    throw new AppError('UNAUTHORIZED', SESSION_ENDED);
  }
  return {
    user: toUser(user),
    refreshToken: next.token,
    ...deps.tokens.issueAccessToken({ userId: user.userId, loginId: current.familyId }),
  };
}

/**
 * Ends the login the token belongs to. Unknown, already revoked or missing tokens are fine: the outcome is the
 * same.
 */
export async function logout(deps: ApiDeps, input: { refreshToken: string | null }): Promise<{ ok: true }> {
  if (input.refreshToken === null) return { ok: true };
  const current = await getRefreshToken(deps.db, hashRefreshToken(input.refreshToken));
  if (current) await revokeLogin(deps, current.familyId);
  return { ok: true };
}

/** Every token of the login stops working, and live streams opened with its access tokens end. */
async function revokeLogin(deps: ApiDeps, familyId: string): Promise<void> {
  await revokeRefreshFamily(deps.db, { familyId, revokedAt: new Date(deps.clock.now()).toISOString() });
  deps.signIns.revoked(familyId);
}

export async function me(deps: ApiDeps, userId: string): Promise<User> {
  const user = await getUserById(deps.db, userId);
  if (!user) throw notFound('Account');
  return toUser(user);
}

async function issueSession(deps: ApiDeps, user: UserRecord): Promise<IssuedTokens> {
  const refreshToken = deps.tokens.newRefreshToken();
  const loginId = newId();
  await startRefreshFamily(deps.db, {
    familyId: loginId,
    userId: user.userId,
    tokenHash: refreshToken.hash,
    expiresAt: refreshToken.expiresAt,
  });
  return {
    user: toUser(user),
    refreshToken: refreshToken.token,
    ...deps.tokens.issueAccessToken({ userId: user.userId, loginId }),
  };
}
