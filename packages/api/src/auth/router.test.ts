import jwt from 'jsonwebtoken';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { ZodError } from 'zod';
import { createTestApi, expectTrpcError, signUp, type TestApi, uniqueEmail } from '../../test/helpers.js';
import { createContext } from '../context.js';
import { appRouter } from '../root.js';
import { createCallerFactory } from '../trpc.js';
import { HASHING_CONCURRENCY, hashing } from './passwords.js';
import { LOGIN_LOCK_THRESHOLD } from './service.js';

let api: TestApi;
beforeAll(async () => {
  api = await createTestApi();
});
afterAll(() => api.close());

describe('register, login, me', () => {
  it('registers, logs in and reads the account back', async () => {
    const email = uniqueEmail('Alice');
    const registered = await api.caller().auth.register({ email, password: 'pa55word!', name: 'Alice' });
    expect(registered.user).toMatchObject({ email: email.toLowerCase(), name: 'Alice' });
    expect(registered.user.createdAt).toBeInstanceOf(Date);
    expect(registered.accessTokenExpiresAt.getTime() - api.clock.now()).toBeLessThanOrEqual(15 * 60_000);

    const loggedIn = await api
      .caller()
      .auth.login({ email: `  ${email.toUpperCase()} `, password: 'pa55word!' });
    expect(loggedIn.user.id).toBe(registered.user.id);
    expect(loggedIn.refreshToken).not.toBe(registered.refreshToken);

    const me = await api.caller(loggedIn.accessToken).auth.me();
    expect(me).toEqual(registered.user);
    expect(Object.keys(me).sort()).toEqual(['createdAt', 'email', 'id', 'name']);
  });

  it('names the user after the email when no name is given', async () => {
    const { user } = await signUp(api, 'bob');
    expect(user.name).toMatch(/^bob\./);
  });

  it('refuses the same email twice, whatever its case', async () => {
    const email = uniqueEmail('dup');
    await api.caller().auth.register({ email, password: 'pa55word!' });
    const error = await expectTrpcError(
      api.caller().auth.register({ email: email.toUpperCase(), password: 'another-pass' }),
      'CONFLICT',
    );
    expect(error.message).toBe('An account with this email already exists.');
  });

  it('lets exactly one of 10 concurrent registrations of one email through', async () => {
    const email = uniqueEmail('race');
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) =>
        api.caller(undefined, `10.0.0.${i}`).auth.register({ email, password: `password-${i}` }),
      ),
    );
    const fulfilled = results.filter((r) => r.status === 'fulfilled');
    const rejected = results.filter((r) => r.status === 'rejected');
    expect(fulfilled).toHaveLength(1);
    for (const r of rejected) expect((r.reason as { code: string }).code).toBe('CONFLICT');
    const winner = fulfilled[0]?.value;
    const index = results.findIndex((r) => r.status === 'fulfilled');
    const login = await api.caller().auth.login({ email, password: `password-${index}` });
    expect(login.user.id).toBe(winner?.user.id);
  });
});

describe('many logins at once', () => {
  it('answers every one, right or wrong, while waiting their turn for the password check', async () => {
    const { user, email, password } = await signUp(api, 'crowd');
    const attempts = Array.from({ length: HASHING_CONCURRENCY + 6 }, (_, i) =>
      api
        .caller(undefined, `203.0.113.${i}`)
        .auth.login({ email, password: i % 3 === 0 ? 'wrong password' : password })
        .then(
          (session) => ({ ok: true as const, session }),
          (error: unknown) => ({ ok: false as const, error }),
        ),
    );
    const results = await Promise.all(attempts);
    for (const [i, result] of results.entries()) {
      if (i % 3 === 0) {
        expect(result.ok).toBe(false);
        if (!result.ok) expect((result.error as { code: string }).code).toBe('UNAUTHORIZED');
      } else {
        expect(result.ok && result.session.user.id).toBe(user.id);
      }
    }
    const refreshTokens = results.flatMap((r) => (r.ok ? [r.session.refreshToken] : []));
    expect(new Set(refreshTokens).size).toBe(refreshTokens.length);
    expect([hashing.active, hashing.queued]).toEqual([0, 0]);
  });
});

describe('login failures', () => {
  it('answers an unknown email exactly like a wrong password, in similar time', async () => {
    const { email } = await signUp(api, 'known');
    const unknown = uniqueEmail('nobody');
    const timed = async (call: () => Promise<unknown>) => {
      const start = performance.now();
      const error = await expectTrpcError(call(), 'UNAUTHORIZED');
      return { error, ms: performance.now() - start };
    };
    const wrong = [];
    const missing = [];
    // Interleaved, so load from test files running in parallel weighs on both sides alike.
    for (let i = 0; i < 7; i++) {
      wrong.push(await timed(() => api.caller().auth.login({ email, password: 'wrong password' })));
      missing.push(
        await timed(() => api.caller().auth.login({ email: unknown, password: 'wrong password' })),
      );
    }
    expect(missing[0]?.error.message).toBe(wrong[0]?.error.message);
    expect(missing[0]?.error.message).toBe('Email or password is incorrect.');
    const median = (xs: { ms: number }[]) => xs.map((x) => x.ms).sort((a, b) => a - b)[3] ?? 0;
    const ratio = median(missing) / median(wrong);
    // Both spend one argon2 verification (~30 ms); without the decoy an unknown email answers ~10x faster.
    expect(ratio).toBeGreaterThan(0.5);
    expect(ratio).toBeLessThan(2);
  });

  it('refuses an address after 10 failures there, even with the right password, and lets it in after the delay', async () => {
    const { email, password } = await signUp(api, 'locked');
    const attacker = '198.51.100.7';
    for (let i = 0; i < LOGIN_LOCK_THRESHOLD; i++) {
      await expectTrpcError(
        api.caller(undefined, attacker).auth.login({ email, password: 'nope nope' }),
        'UNAUTHORIZED',
      );
    }
    const locked = await expectTrpcError(
      api.caller(undefined, attacker).auth.login({ email, password }),
      'TOO_MANY_REQUESTS',
    );
    // A minute from the tenth failure (real time passes on a busy machine: 59 seconds is the same lock).
    expect(locked.message).toMatch(/Try again in (1 minute|5\d seconds)\./);

    api.clock.advance(61_000);
    // One more failure after the first lock doubles the delay.
    await expectTrpcError(
      api.caller(undefined, attacker).auth.login({ email, password: 'nope nope' }),
      'UNAUTHORIZED',
    );
    const relocked = await expectTrpcError(
      api.caller(undefined, attacker).auth.login({ email, password }),
      'TOO_MANY_REQUESTS',
    );
    expect(relocked.message).toMatch(/Try again in 2 minutes/);

    api.clock.advance(121_000);
    await expect(api.caller(undefined, attacker).auth.login({ email, password })).resolves.toHaveProperty(
      'accessToken',
    );
    // A success resets the count: one new failure does not lock again.
    await expectTrpcError(
      api.caller(undefined, attacker).auth.login({ email, password: 'nope nope' }),
      'UNAUTHORIZED',
    );
    await expect(api.caller(undefined, attacker).auth.login({ email, password })).resolves.toHaveProperty(
      'accessToken',
    );
  });

  it('never locks the owner out from another address, and existing sign-ins keep refreshing', async () => {
    const owner = await signUp(api, 'owner');
    const { email, password } = owner;
    // Twelve failures from an attacker's IPv6 /64, alternating between two of its addresses: the tenth locks it.
    for (let i = 0; i < LOGIN_LOCK_THRESHOLD + 2; i++) {
      const address = i % 2 === 0 ? '2001:db8:5:6::1' : '2001:db8:5:6::ffff';
      const attempt = api.caller(undefined, address).auth.login({ email, password: 'wrong guess' });
      await expectTrpcError(attempt, i < LOGIN_LOCK_THRESHOLD ? 'UNAUTHORIZED' : 'TOO_MANY_REQUESTS');
    }
    await expectTrpcError(
      api.caller(undefined, '2001:db8:5:6::42').auth.login({ email, password }),
      'TOO_MANY_REQUESTS',
    );

    await expect(
      api.caller(undefined, '203.0.113.9').auth.login({ email, password }),
    ).resolves.toHaveProperty('accessToken');
    await expect(
      api.caller(undefined, '2001:db8:5:7::1').auth.login({ email, password }),
    ).resolves.toHaveProperty('accessToken');
    const renewed = await api
      .caller(undefined, '2001:db8:5:6::1')
      .auth.refresh({ refreshToken: owner.refreshToken });
    expect(renewed.user.email).toBe(email);
  });

  it('checks no more than 10 passwords of a burst sent all at once, then refuses the rest and the owner there', async () => {
    const { email, password } = await signUp(api, 'burst');
    const attacker = '198.51.100.77';
    const codes = await Promise.all(
      Array.from({ length: 3 * LOGIN_LOCK_THRESHOLD }, (_, i) =>
        api
          .caller(undefined, attacker)
          .auth.login({ email, password: `guess number ${i}` })
          .then(
            () => 'OK',
            (error: unknown) => (error as { code: string }).code,
          ),
      ),
    );
    // Overlapping attempts used to all read the count from before any failed: all 30 were checked.
    expect(codes.filter((code) => code === 'UNAUTHORIZED')).toHaveLength(LOGIN_LOCK_THRESHOLD);
    expect(codes.filter((code) => code === 'TOO_MANY_REQUESTS')).toHaveLength(2 * LOGIN_LOCK_THRESHOLD);
    await expectTrpcError(
      api.caller(undefined, attacker).auth.login({ email, password }),
      'TOO_MANY_REQUESTS',
    );
    // Another address is not held up or refused.
    await expect(
      api.caller(undefined, '198.51.100.78').auth.login({ email, password }),
    ).resolves.toHaveProperty('accessToken');
  });

  it('locks an unknown email the same way, so lockouts do not reveal accounts', async () => {
    const email = uniqueEmail('ghost');
    for (let i = 0; i < LOGIN_LOCK_THRESHOLD; i++) {
      await expectTrpcError(api.caller().auth.login({ email, password: 'whatever1' }), 'UNAUTHORIZED');
    }
    await expectTrpcError(api.caller().auth.login({ email, password: 'whatever1' }), 'TOO_MANY_REQUESTS');
  });
});

describe('access tokens', () => {
  const claims = (sub: string) => ({ sub, typ: 'access', sid: 'a-login' });
  const sign = (payload: object, options: jwt.SignOptions, key: string = api.secret) =>
    jwt.sign(payload, key, { algorithm: 'HS256', issuer: 'leonidas', audience: 'leonidas-api', ...options });

  it('rejects every token that is not a valid access token of this server', async () => {
    const { user, accessToken, refreshToken } = await signUp(api, 'tokens');
    const now = Math.floor(api.clock.now() / 1000);
    const [header, payload, signature] = accessToken.split('.');
    const tamperedPayload = Buffer.from(
      JSON.stringify({
        ...JSON.parse(Buffer.from(payload ?? '', 'base64url').toString()),
        sub: 'someone-else',
      }),
    ).toString('base64url');
    const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${payload}.`;

    const bad: Record<string, string> = {
      expired: sign({ ...claims(user.id), iat: now - 3600, exp: now - 60 }, {}),
      tampered: `${header}.${tamperedPayload}.${signature}`,
      'other secret': sign(
        claims(user.id),
        { expiresIn: 600 },
        'another secret that is long enough to be valid!!',
      ),
      'alg none': unsigned,
      'other algorithm': jwt.sign(claims(user.id), api.secret, {
        algorithm: 'HS512',
        issuer: 'leonidas',
        audience: 'leonidas-api',
        expiresIn: 600,
      }),
      'wrong audience': sign(claims(user.id), { expiresIn: 600, audience: 'someone-else' }),
      'wrong issuer': sign(claims(user.id), { expiresIn: 600, issuer: 'someone-else' }),
      'not an access token': sign({ sub: user.id, typ: 'refresh', sid: 'a-login' }, { expiresIn: 600 }),
      'no expiry': sign(claims(user.id), {}),
      'no issue time': sign({ ...claims(user.id), exp: now + 600 }, { noTimestamp: true }),
      'lives longer than 15 minutes': sign(claims(user.id), { expiresIn: 16 * 60 }),
      'issued in the future': sign({ ...claims(user.id), iat: now + 3600, exp: now + 3900 }, {}),
      'no login': sign({ sub: user.id, typ: 'access' }, { expiresIn: 600 }),
      'refresh token': refreshToken,
      garbage: 'not-a-token',
    };
    for (const [label, token] of Object.entries(bad)) {
      const error = await expectTrpcError(api.caller(token).auth.me(), 'UNAUTHORIZED').catch((e: unknown) => {
        throw new Error(`${label}: ${String(e)}`);
      });
      expect(error.message, label).toBe('Sign in to continue.');
    }
    await expectTrpcError(api.caller().auth.me(), 'UNAUTHORIZED');
    // The control: a token this server signed the same way works.
    await expect(api.caller(sign(claims(user.id), { expiresIn: 600 })).auth.me()).resolves.toMatchObject({
      id: user.id,
    });
  });

  it('expires access tokens after 15 minutes', async () => {
    const { as, accessToken } = await signUp(api, 'expiry');
    await expect(as.auth.me()).resolves.toBeDefined();
    api.clock.advance(15 * 60_000 + 1000);
    await expectTrpcError(api.caller(accessToken).auth.me(), 'UNAUTHORIZED');
  });
});

describe('refresh tokens', () => {
  it('rotates, rejects the old token, and revokes the family when a rotated token is replayed', async () => {
    const { refreshToken: first } = await signUp(api, 'rotate');
    const second = await api.caller().auth.refresh({ refreshToken: first });
    expect(second.refreshToken).not.toBe(first);
    await expect(api.caller(second.accessToken).auth.me()).resolves.toBeDefined();

    // Replaying the rotated token is refused and kills the newer one too.
    await expectTrpcError(api.caller().auth.refresh({ refreshToken: first }), 'UNAUTHORIZED');
    await expectTrpcError(api.caller().auth.refresh({ refreshToken: second.refreshToken }), 'UNAUTHORIZED');
  });

  it('keeps other logins of the same user working when one family is revoked', async () => {
    const { email, password, refreshToken: laptop } = await signUp(api, 'devices');
    const phone = await api.caller().auth.login({ email, password });
    const rotated = await api.caller().auth.refresh({ refreshToken: laptop });
    await expectTrpcError(api.caller().auth.refresh({ refreshToken: laptop }), 'UNAUTHORIZED');
    await expectTrpcError(api.caller().auth.refresh({ refreshToken: rotated.refreshToken }), 'UNAUTHORIZED');
    await expect(api.caller().auth.refresh({ refreshToken: phone.refreshToken })).resolves.toHaveProperty(
      'refreshToken',
    );
  });

  it("refuses a logged-out login's access token at once, and only that login's", async () => {
    const { email, password, accessToken, refreshToken } = await signUp(api, 'signout');
    const other = await api.caller().auth.login({ email, password });
    await expect(api.caller(accessToken).auth.me()).resolves.toBeDefined();
    await api.caller().auth.logout({ refreshToken });
    await expectTrpcError(api.caller(accessToken).auth.me(), 'UNAUTHORIZED');
    await expect(api.caller(other.accessToken).auth.me()).resolves.toMatchObject({ email });
    // A replayed refresh token revokes that login the same way.
    const renewed = await api.caller().auth.refresh({ refreshToken: other.refreshToken });
    await expectTrpcError(api.caller().auth.refresh({ refreshToken: other.refreshToken }), 'UNAUTHORIZED');
    await expectTrpcError(api.caller(renewed.accessToken).auth.me(), 'UNAUTHORIZED');
  });

  it('revokes on logout', async () => {
    const { refreshToken } = await signUp(api, 'logout');
    const next = await api.caller().auth.refresh({ refreshToken });
    await expect(api.caller().auth.logout({ refreshToken: next.refreshToken })).resolves.toEqual({
      ok: true,
    });
    await expectTrpcError(api.caller().auth.refresh({ refreshToken: next.refreshToken }), 'UNAUTHORIZED');
    // Logging out twice, or with a token we never issued, is harmless.
    await expect(api.caller().auth.logout({ refreshToken: next.refreshToken })).resolves.toEqual({
      ok: true,
    });
    await expect(api.caller().auth.logout({ refreshToken: 'never-issued' })).resolves.toEqual({ ok: true });
  });

  it('refuses expired and unknown refresh tokens', async () => {
    const { refreshToken } = await signUp(api, 'stale');
    await expectTrpcError(api.caller().auth.refresh({ refreshToken: 'never-issued' }), 'UNAUTHORIZED');
    api.clock.advance(31 * 24 * 60 * 60_000);
    await expectTrpcError(api.caller().auth.refresh({ refreshToken }), 'UNAUTHORIZED');
  });
});

describe('refresh token in a browser cookie', () => {
  const createCaller = createCallerFactory(appRouter);
  const THIRTY_DAYS = 30 * 24 * 60 * 60;

  /** A browser's call over HTTP: the Cookie header it sends, and the Set-Cookie headers it gets back. */
  function browser(cookie?: string, https = false) {
    const setCookies: string[] = [];
    const caller = createCaller(
      createContext(api.deps, {
        clientIp: '127.0.0.1',
        cookies: { header: cookie, https, basePath: '/trpc', setCookie: (value) => setCookies.push(value) },
      }),
    );
    return { caller, setCookies };
  }

  /** The token the Set-Cookie headers carry, after checking there is one cookie per path and all agree. */
  function cookieToken(setCookies: string[]): string {
    expect(setCookies.map((cookie) => /Path=([^;]+)/.exec(cookie)?.[1])).toEqual([
      '/trpc/auth.refresh',
      '/trpc/auth.logout',
    ]);
    const values = setCookies.map((cookie) => /^leonidas_refresh=([^;]*)/.exec(cookie)?.[1]);
    expect(values[0]).toBe(values[1]);
    return values[0] ?? '';
  }

  const newBrowserSignIn = async () => {
    const email = uniqueEmail('browser');
    const { caller, setCookies } = browser();
    const registered = await caller.auth.register({
      email,
      password: 'a long password',
      refreshTokenIn: 'cookie',
    });
    return { email, registered, token: cookieToken(setCookies) };
  };

  it('sets HttpOnly, SameSite=Strict cookies for refresh and logout only, and leaves the token out of the body', async () => {
    const email = uniqueEmail('cookie');
    const signUpCall = browser();
    const registered = await signUpCall.caller.auth.register({
      email,
      password: 'a long password',
      refreshTokenIn: 'cookie',
    });
    const token = cookieToken(signUpCall.setCookies);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    for (const cookie of signUpCall.setCookies) {
      expect(cookie.split('; ').slice(2).sort()).toEqual([
        'HttpOnly',
        `Max-Age=${THIRTY_DAYS}`,
        'SameSite=Strict',
      ]);
    }
    expect(registered).not.toHaveProperty('refreshToken');
    expect(JSON.stringify(registered)).not.toContain(token);
    await expect(api.caller(registered.accessToken).auth.me()).resolves.toMatchObject({ email });

    // Over https (as Express reports it) the cookie is Secure too.
    const loginCall = browser(undefined, true);
    const loggedIn = await loginCall.caller.auth.login({
      email,
      password: 'a long password',
      refreshTokenIn: 'cookie',
    });
    const loginToken = cookieToken(loginCall.setCookies);
    expect(loginToken).not.toBe(token);
    for (const cookie of loginCall.setCookies) expect(cookie.split('; ')).toContain('Secure');
    expect(loggedIn).not.toHaveProperty('refreshToken');
  });

  it('refreshes by the cookie, rotating it, and never puts that token in the body', async () => {
    const { token } = await newBrowserSignIn();
    const refreshCall = browser(`theme=dark; leonidas_refresh=${token}; other=x`);
    const refreshed = await refreshCall.caller.auth.refresh({});
    const rotated = cookieToken(refreshCall.setCookies);
    expect(rotated).not.toBe(token);
    expect(refreshed).not.toHaveProperty('refreshToken');
    await expect(api.caller(refreshed.accessToken).auth.me()).resolves.toBeDefined();
    // The rotated token works once, by the cookie as by the body.
    await expect(api.caller().auth.refresh({ refreshToken: rotated })).resolves.toHaveProperty(
      'refreshToken',
    );
  });

  it('keeps the replay rule: a rotated cookie presented again revokes the whole sign-in', async () => {
    const { token } = await newBrowserSignIn();
    const first = browser(`leonidas_refresh=${token}`);
    const refreshed = await first.caller.auth.refresh({});
    const rotated = cookieToken(first.setCookies);
    await expectTrpcError(browser(`leonidas_refresh=${token}`).caller.auth.refresh({}), 'UNAUTHORIZED');
    await expectTrpcError(browser(`leonidas_refresh=${rotated}`).caller.auth.refresh({}), 'UNAUTHORIZED');
    await expectTrpcError(api.caller(refreshed.accessToken).auth.me(), 'UNAUTHORIZED');
  });

  it('logs out by the cookie: the sign-in is revoked and both cookies are cleared', async () => {
    const { registered, token } = await newBrowserSignIn();
    const logoutCall = browser(`leonidas_refresh=${token}`);
    await expect(logoutCall.caller.auth.logout({})).resolves.toEqual({ ok: true });
    expect(cookieToken(logoutCall.setCookies)).toBe('');
    for (const cookie of logoutCall.setCookies) expect(cookie).toContain('Max-Age=0');
    await expectTrpcError(api.caller(registered.accessToken).auth.me(), 'UNAUTHORIZED');
    await expectTrpcError(browser(`leonidas_refresh=${token}`).caller.auth.refresh({}), 'UNAUTHORIZED');
    // Without a cookie, logging out is harmless and refreshing is a session that has ended.
    await expect(browser().caller.auth.logout({})).resolves.toEqual({ ok: true });
    const ended = await expectTrpcError(browser().caller.auth.refresh({}), 'UNAUTHORIZED');
    expect(ended.message).toBe('Your session has ended. Please sign in again.');
    await expectTrpcError(browser('leonidas_refresh=not a token!').caller.auth.refresh({}), 'UNAUTHORIZED');
  });

  it('leaves services as they are: the token in the body, no cookie, and a body token wins over a cookie', async () => {
    const { token: browserToken } = await newBrowserSignIn();
    const service = browser(`leonidas_refresh=${browserToken}`);
    const email = uniqueEmail('service');
    const registered = await service.caller.auth.register({ email, password: 'a long password' });
    const loggedIn = await service.caller.auth.login({ email, password: 'a long password' });
    const refreshed = await service.caller.auth.refresh({ refreshToken: loggedIn.refreshToken ?? '' });
    await service.caller.auth.logout({ refreshToken: registered.refreshToken ?? '' });
    for (const result of [registered, loggedIn, refreshed])
      expect(result.refreshToken).toMatch(/^[\w-]{43}$/);
    expect(service.setCookies).toEqual([]);
    // The browser's sign-in was not touched by those calls.
    await expect(browser(`leonidas_refresh=${browserToken}`).caller.auth.refresh({})).resolves.toBeDefined();
  });

  it('moves a token from the body into the cookie on request (a browser upgrading from stored tokens)', async () => {
    const { refreshToken } = await signUp(api, 'upgrade');
    const moving = browser();
    const moved = await moving.caller.auth.refresh({ refreshToken, refreshTokenIn: 'cookie' });
    expect(moved).not.toHaveProperty('refreshToken');
    const inCookie = cookieToken(moving.setCookies);
    await expect(browser(`leonidas_refresh=${inCookie}`).caller.auth.refresh({})).resolves.toBeDefined();
    // There is no asking for a cookie's token in the body.
    await expectTrpcError(
      browser(`leonidas_refresh=${inCookie}`).caller.auth.refresh({ refreshTokenIn: 'body' } as never),
      'BAD_REQUEST',
    );
  });
});

describe('input validation', () => {
  const cases: [string, unknown][] = [
    ['bad email', { email: 'not-an-email', password: 'pa55word!' }],
    ['7-character password', { email: uniqueEmail(), password: '7chars!' }],
    ['129-character password', { email: uniqueEmail(), password: 'x'.repeat(129) }],
    ['empty name', { email: uniqueEmail(), password: 'pa55word!', name: '   ' }],
    ['10,000-character name', { email: uniqueEmail(), password: 'pa55word!', name: 'n'.repeat(10_000) }],
    ['wrong types', { email: 42, password: ['pa55word!'] }],
    ['unknown field', { email: uniqueEmail(), password: 'pa55word!', isAdmin: true }],
    ['missing fields', {}],
  ];
  it.each(cases)('refuses %s with BAD_REQUEST and field errors', async (_label, input) => {
    const error = await expectTrpcError(api.caller().auth.register(input as never), 'BAD_REQUEST');
    expect(error.cause).toBeInstanceOf(ZodError);
  });
});

describe('rate limit per client address', () => {
  it('engages after the limit and releases after the window, never for refreshing a sign-in', async () => {
    const limited = await createTestApi({ AUTH_RATE_LIMIT_PER_MINUTE: '3' });
    onTestFinished(() => limited.close());
    const ip = '203.0.113.7';
    const { refreshToken } = await limited.caller(undefined, '198.51.100.1').auth.register({
      email: uniqueEmail('limited'),
      password: 'a long password',
    });
    const attempt = (address: string) =>
      limited.caller(undefined, address).auth.login({ email: uniqueEmail(), password: 'whatever1' });
    for (let i = 0; i < 3; i++) await expectTrpcError(attempt(ip), 'UNAUTHORIZED');
    const error = await expectTrpcError(attempt(ip), 'TOO_MANY_REQUESTS');
    // The window started with the first attempt, a second or so ago on a busy machine.
    expect(error.message).toMatch(
      /^Too many sign-in attempts from your address\. Try again in (1 minute|[45]\d seconds)\.$/,
    );
    const retryAfter = (error.cause as { retryAfterSeconds?: number }).retryAfterSeconds;
    expect(retryAfter).toBeGreaterThanOrEqual(45);
    expect(retryAfter).toBeLessThanOrEqual(60);
    await expectTrpcError(
      limited.caller(undefined, ip).auth.register({ email: uniqueEmail(), password: 'a long password' }),
      'TOO_MANY_REQUESTS',
    );
    // A sign-in at the same address still refreshes and logs out: those calls carry a 256-bit secret.
    const renewed = await limited.caller(undefined, ip).auth.refresh({ refreshToken });
    await expect(
      limited.caller(undefined, ip).auth.logout({ refreshToken: renewed.refreshToken }),
    ).resolves.toEqual({ ok: true });
    // Another address is not affected.
    await expectTrpcError(attempt('203.0.113.8'), 'UNAUTHORIZED');

    limited.clock.advance(60_000);
    await expectTrpcError(attempt(ip), 'UNAUTHORIZED');
  });
});
