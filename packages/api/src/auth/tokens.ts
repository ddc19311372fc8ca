import { createHash, randomBytes } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { Clock } from '../clock.js';

export interface TokenServiceOptions {
  signingKey: Buffer;
  issuer: string;
  audience: string;
  accessTokenTtlSeconds: number;
  refreshTokenTtlDays: number;
  clock: Clock;
}

const ACCESS_TOKEN_TYPE = 'access';

export class TokenService {
  constructor(private readonly options: TokenServiceOptions) {}

  issueAccessToken(userId: string): { accessToken: string; accessTokenExpiresAt: Date } {
    const issuedAt = Math.floor(this.options.clock.now() / 1000);
    const expiresAt = issuedAt + this.options.accessTokenTtlSeconds;
    const accessToken = jwt.sign(
      { typ: ACCESS_TOKEN_TYPE, iat: issuedAt, exp: expiresAt },
      this.options.signingKey,
      {
        algorithm: 'HS256',
        subject: userId,
        issuer: this.options.issuer,
        audience: this.options.audience,
      },
    );
    return { accessToken, accessTokenExpiresAt: new Date(expiresAt * 1000) };
  }

  /** The user id of a valid access token, or null for anything else (expired, forged, wrong kind...). */
  verifyAccessToken(token: string): string | null {
    try {
      const payload = jwt.verify(token, this.options.signingKey, {
        algorithms: ['HS256'],
        issuer: this.options.issuer,
        audience: this.options.audience,
        clockTimestamp: Math.floor(this.options.clock.now() / 1000),
      });
      if (typeof payload === 'string' || payload.typ !== ACCESS_TOKEN_TYPE) return null;
      return typeof payload.sub === 'string' && payload.sub.length > 0 ? payload.sub : null;
    } catch {
      return null;
    }
  }

  /** 256 random bits; only its hash is ever stored. */
  newRefreshToken(): { token: string; hash: string; expiresAt: number } {
    const token = randomBytes(32).toString('base64url');
    return { token, hash: hashRefreshToken(token), expiresAt: this.refreshTokenExpiry() };
  }

  refreshTokenExpiry(): number {
    return this.options.clock.now() + this.options.refreshTokenTtlDays * 24 * 60 * 60 * 1000;
  }
}

export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
