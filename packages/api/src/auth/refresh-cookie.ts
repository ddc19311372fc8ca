/**
 * The browser's refresh token, kept in an HttpOnly cookie so that no script in the page (an injected one
 * included) can read it and carry the sign-in away. SameSite=Strict keeps other sites' pages from sending it.
 * It goes only to the two calls that use it: one cookie per path, as a cookie path matches the exact path or
 * what lies below a `/`, so `/trpc/auth.refresh` is sent neither to other calls nor to batches (`/trpc/a,b`).
 */
export const REFRESH_COOKIE_NAME = 'leonidas_refresh';
export const REFRESH_COOKIE_PROCEDURES = ['auth.refresh', 'auth.logout'] as const;

/** A refresh token is 43 base64url characters; anything else in the cookie is not ours to look up. */
const REFRESH_TOKEN_SHAPE = /^[A-Za-z0-9_-]{1,200}$/;

/** The parts of the HTTP exchange the cookie needs. */
export interface CookieExchange {
  /** The request's `Cookie` header. */
  header: string | undefined;
  /** Whether the request reached us over https (as a trusted proxy reports it): the cookie is then `Secure`. */
  https: boolean;
  /** Where the API is mounted, e.g. `/trpc`. */
  basePath: string;
  /** Adds a `Set-Cookie` header to the response. */
  setCookie: (value: string) => void;
}

/** No HTTP exchange (in-process callers): no cookie comes in, and none can be set. */
const NO_EXCHANGE: CookieExchange = { header: undefined, https: false, basePath: '', setCookie: () => {} };

export class RefreshCookie {
  /** The refresh token the browser sent, if any. */
  readonly token: string | null;

  constructor(
    /** As long as the refresh token lives: the cookie outlasts a browser restart, not the token. */
    private readonly maxAgeSeconds: number,
    private readonly exchange: CookieExchange = NO_EXCHANGE,
  ) {
    const value = cookieValue(exchange.header, REFRESH_COOKIE_NAME);
    this.token = value !== undefined && REFRESH_TOKEN_SHAPE.test(value) ? value : null;
  }

  /** Puts the refresh token in the cookie, and returns the result without it. */
  deliver<T extends { refreshToken: string }>(issued: T): Omit<T, 'refreshToken'> {
    const { refreshToken, ...rest } = issued;
    this.write(refreshToken, this.maxAgeSeconds);
    return rest;
  }

  clear(): void {
    this.write('', 0);
  }

  private write(value: string, maxAgeSeconds: number): void {
    for (const procedure of REFRESH_COOKIE_PROCEDURES) {
      const attributes = [
        `${REFRESH_COOKIE_NAME}=${value}`,
        `Path=${this.exchange.basePath}/${procedure}`,
        `Max-Age=${maxAgeSeconds}`,
        'HttpOnly',
        'SameSite=Strict',
      ];
      // A Secure cookie would never come back over plain http (a local install), so only when https is in use.
      if (this.exchange.https) attributes.push('Secure');
      this.exchange.setCookie(attributes.join('; '));
    }
  }
}

/** The first cookie of that name in a `Cookie` header (the most specific path comes first). */
function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const pair of header?.split(';') ?? []) {
    const separator = pair.indexOf('=');
    if (separator !== -1 && pair.slice(0, separator).trim() === name) return pair.slice(separator + 1).trim();
  }
  return undefined;
}
