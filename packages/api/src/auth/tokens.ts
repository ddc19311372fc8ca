import { createHash, createSecretKey, type KeyObject, randomBytes } from 'node:crypto';
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

/** Who an access token speaks for, and until when. */
export interface SignIn {
  userId: string;
  /** The login (refresh-token family) the token was issued to: revoking it ends what the token holds open. */
  loginId: string;
  /** Epoch ms. */
  expiresAt: number;
}

const ACCESS_TOKEN_TYPE = 'access';
/** Tolerated difference between clocks of instances for a token's issue time. */
const CLOCK_SKEW_SECONDS = 60;

export class TokenService {
  /**
   * The key as a KeyObject, made once: given raw bytes, jsonwebtoken first tries them as a PEM public key on
   * every call (an exception each time) before making a secret key of them: ~5% of a `project.list`'s CPU.
   */
  private readonly key: KeyObject;

  constructor(private readonly options: TokenServiceOptions) {
    this.key = createSecretKey(options.signingKey);
  }

  issueAccessToken(signIn: { userId: string; loginId: string }): {
    accessToken: string;
    accessTokenExpiresAt: Date;
  } {
    const issuedAt = Math.floor(this.options.clock.now() / 1000);
    const expiresAt = issuedAt + this.options.accessTokenTtlSeconds;
    const accessToken = jwt.sign(
      { typ: ACCESS_TOKEN_TYPE, sid: signIn.loginId, iat: issuedAt, exp: expiresAt },
      this.key,
      {
        algorithm: 'HS256',
        subject: signIn.userId,
        issuer: this.options.issuer,
        audience: this.options.audience,
      },
    );
    return { accessToken, accessTokenExpiresAt: new Date(expiresAt * 1000) };
  }

  /**
   * The sign-in of a valid access token, or null for anything else: forged, expired, another kind of token, or
   * one without an expiry or living longer than this server issues (a leaked signing key must not mint
   * everlasting tokens, and a token from a longer-lived configuration dies on the current schedule).
   */
  verifyAccessToken(token: string): SignIn | null {
    const now = Math.floor(this.options.clock.now() / 1000);
    try {
      const payload = jwt.verify(token, this.key, {
        algorithms: ['HS256'],
        issuer: this.options.issuer,
        audience: this.options.audience,
        clockTimestamp: now,
      });
      if (typeof payload === 'string' || payload.typ !== ACCESS_TOKEN_TYPE) return null;
      const { sub, sid, iat, exp } = payload;
      if (typeof sub !== 'string' || sub.length === 0 || typeof sid !== 'string' || sid.length === 0)
        return null;
      if (typeof iat !== 'number' || typeof exp !== 'number') return null;
      if (iat > now + CLOCK_SKEW_SECONDS || exp - iat > this.options.accessTokenTtlSeconds) return null;
      return { userId: sub, loginId: sid, expiresAt: exp * 1000 };
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
    return this.options.clock.now() + this.refreshTokenTtlSeconds * 1000;
  }

  get refreshTokenTtlSeconds(): number {
    return this.options.refreshTokenTtlDays * 24 * 60 * 60;
  }
}

export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
