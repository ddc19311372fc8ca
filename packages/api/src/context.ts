import { createHmac } from 'node:crypto';
import type { Db } from '@leonidas/db';
import { TokenService } from './auth/tokens.js';
import { type Clock, systemClock } from './clock.js';
import type { ApiEnv } from './env.js';
import { CursorCodec } from './pagination.js';
import { RateLimiter } from './rate-limit.js';

/** Everything the procedures need, built once at start-up and shared by every request. */
export interface ApiDeps {
  db: Db;
  clock: Clock;
  tokens: TokenService;
  cursors: CursorCodec;
  authLimiter: RateLimiter;
}

export interface ApiDepsOptions {
  db: Db;
  env: ApiEnv & { JWT_SECRET: string };
  clock?: Clock;
}

export function createApiDeps({ db, env, clock = systemClock }: ApiDepsOptions): ApiDeps {
  const secret = Buffer.from(env.JWT_SECRET);
  return {
    db,
    clock,
    tokens: new TokenService({
      signingKey: secret,
      issuer: env.JWT_ISSUER,
      audience: env.JWT_AUDIENCE,
      accessTokenTtlSeconds: env.ACCESS_TOKEN_TTL_SECONDS,
      refreshTokenTtlDays: env.REFRESH_TOKEN_TTL_DAYS,
      clock,
    }),
    // Its own key, derived from the configured secret, so a cursor can never pass as a token or vice versa.
    cursors: new CursorCodec(createHmac('sha256', secret).update('leonidas cursors').digest()),
    authLimiter: new RateLimiter({ limit: env.AUTH_RATE_LIMIT_PER_MINUTE, windowMs: 60_000, clock }),
  };
}

export interface Context {
  deps: ApiDeps;
  /** The bearer token from the Authorization header, not yet verified. */
  accessToken: string | null;
  clientIp: string;
}

export function createContext(
  deps: ApiDeps,
  request: { authorization?: string | undefined; clientIp?: string | undefined },
): Context {
  const match = /^Bearer ([^\s]+)$/i.exec(request.authorization?.trim() ?? '');
  return { deps, accessToken: match?.[1] ?? null, clientIp: request.clientIp ?? 'unknown' };
}
