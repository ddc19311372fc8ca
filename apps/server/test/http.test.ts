import { request } from 'node:http';
import { createLeonidasClient, errorCode as errorCodeOf, isLeonidasError } from '@leonidas/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/server.js';
import { startTestServer, uniqueEmail } from './helpers.js';

let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer({ AUTH_RATE_LIMIT_PER_MINUTE: '1000', MAX_BATCH_SIZE: '20' });
});
afterAll(async () => {
  await server?.close();
});

async function caught(call: Promise<unknown>) {
  const error = await call.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e: unknown) => e,
  );
  if (!isLeonidasError(error)) throw error;
  return error;
}

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${server.url}/trpc/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

describe('over HTTP with @leonidas/client', () => {
  it('answers /healthz with the database status', async () => {
    const response = await fetch(`${server.url}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok', db: 'up' });
  });

  it('registers, creates a project and lists it; a second user cannot see it', async () => {
    const anonymous = createLeonidasClient({ url: server.url });
    const email = uniqueEmail('http');
    const { accessToken, user } = await anonymous.auth.register.mutate({ email, password: 'pa55word!' });
    const alice = createLeonidasClient({ url: `${server.url}/`, getToken: () => accessToken });
    expect(await alice.auth.me.query()).toEqual(user);

    const project = await alice.project.create.mutate({ name: 'Revenue', description: 'FY26' });
    expect(project.createdAt).toBeInstanceOf(Date);
    const page = await alice.project.list.query({ limit: 10 });
    expect(page).toEqual({ items: [project], nextCursor: null });

    const bob = await anonymous.auth.register.mutate({ email: uniqueEmail('bob'), password: 'pa55word!' });
    const asBob = createLeonidasClient({ url: server.url, token: bob.accessToken });
    const error = await caught(asBob.project.byId.query({ projectId: project.id }));
    expect(error.data?.code).toBe('NOT_FOUND');
    expect(error.data?.httpStatus).toBe(404);
    expect(error.message).toBe('Project not found.');
  });

  it('returns BAD_REQUEST with field errors for invalid input', async () => {
    const client = createLeonidasClient({ url: server.url });
    const error = await caught(client.auth.register.mutate({ email: 'nope', password: 'short' }));
    expect(error.data?.code).toBe('BAD_REQUEST');
    expect(error.data?.httpStatus).toBe(400);
    expect(error.data?.zodError?.fieldErrors).toMatchObject({
      email: ['Enter a valid email address'],
      password: ['Password must be at least 8 characters'],
    });

    const raw = await post('auth.register', {
      json: { email: uniqueEmail(), password: 'pa55word!', role: 'admin' },
    });
    expect(raw.status).toBe(400);
    const body = await raw.text();
    expect(body).toContain('Unrecognized key');
    expect(body).not.toMatch(/at .*\.(ts|js):\d+/);

    const wrongType = await post('auth.register', { json: { email: ['x'], password: 12345678 } });
    expect(wrongType.status).toBe(400);
  });

  it('is UNAUTHORIZED (401) without a valid bearer token', async () => {
    const attempts: Record<string, string>[] = [
      {},
      { authorization: 'Bearer nonsense' },
      { authorization: 'Basic abc' },
    ];
    for (const headers of attempts) {
      const response = await fetch(`${server.url}/trpc/auth.me`, { headers });
      expect(response.status).toBe(401);
    }
  });

  it('never sends a password hash', async () => {
    const email = uniqueEmail('hash');
    const bodies: string[] = [];
    const register = await post('auth.register', { json: { email, password: 'pa55word!' } });
    bodies.push(await register.text());
    const login = await post('auth.login', { json: { email, password: 'pa55word!' } });
    const loginBody = await login.text();
    bodies.push(loginBody);
    const token = (JSON.parse(loginBody) as { result: { data: { json: { accessToken: string } } } }).result
      .data.json.accessToken;
    const me = await fetch(`${server.url}/trpc/auth.me`, { headers: { authorization: `Bearer ${token}` } });
    bodies.push(await me.text());
    bodies.push(await (await post('auth.login', { json: { email, password: 'wrong-password' } })).text());
    for (const body of bodies) {
      expect(body).not.toMatch(/argon2|passwordHash/i);
    }
  });

  it('refuses batches above MAX_BATCH_SIZE and bodies above MAX_BODY_BYTES', async () => {
    const batchOf = (calls: number) => Array.from({ length: calls }, () => 'auth.me').join(',');
    expect((await fetch(`${server.url}/trpc/${batchOf(21)}?batch=1&input={}`)).status).toBe(400);
    // The SDK's fullest batch is taken: its calls come back, each with its own answer.
    expect((await fetch(`${server.url}/trpc/${batchOf(20)}?batch=1&input={}`)).status).toBe(401);
    const signedOut = createLeonidasClient({ url: server.url });
    const answers = await Promise.all(Array.from({ length: 20 }, () => caught(signedOut.auth.me.query())));
    expect(answers.map((error) => error.data?.code)).toEqual(Array(20).fill('UNAUTHORIZED'));

    const huge = await post('auth.login', {
      json: { email: uniqueEmail(), password: 'x'.repeat(300_000) },
    });
    expect(huge.status).toBe(413);
    expect(await huge.json()).toMatchObject({ error: { json: { data: { code: 'PAYLOAD_TOO_LARGE' } } } });
    // The largest message a user can send still fits, even when every character must be escaped.
    const client = createLeonidasClient({ url: server.url });
    const longest = await caught(
      client.auth.login.mutate({ email: uniqueEmail(), password: '\u0001'.repeat(32_000) }),
    );
    expect(longest.data?.code).toBe('BAD_REQUEST');
  });

  it('refuses deeply nested input cheaply, before parsing it, while the server stays responsive', async () => {
    const nested = (depth: number) => `{"json":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    const send = (body: string) => {
      const started = Date.now();
      return fetch(`${server.url}/trpc/auth.login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      }).then(async (response) => ({
        status: response.status,
        body: await response.json(),
        ms: Date.now() - started,
      }));
    };
    // The baseline, measured now on this machine: the same number of bytes as one string, which is parsed and
    // refused by validation. A nested body of that size took 650 ms more than this before.
    const flat = await send(`{"json":"${'x'.repeat(240_000)}"}`);
    expect(flat.status).toBe(400);
    const healthStarted = Date.now();
    const attacks = Array.from({ length: 4 }, () => send(nested(120_000)));
    const health = fetch(`${server.url}/healthz`).then((response) => ({
      ok: response.ok,
      ms: Date.now() - healthStarted,
    }));
    for (const attack of await Promise.all(attacks)) {
      expect(attack.status).toBe(400);
      expect(attack.body).toMatchObject({
        error: {
          json: {
            message: expect.stringMatching(/nested more than 32 levels/),
            data: { code: 'BAD_REQUEST' },
          },
        },
      });
      // Parsed, four such bodies queue behind each other on the event loop: the last took 2.6 s before. The
      // bounds leave room for a busy CI machine and still catch that.
      expect(attack.ms).toBeLessThan(Math.max(1_000, 4 * flat.ms));
    }
    const healthy = await health;
    expect(healthy.ok).toBe(true);
    expect(healthy.ms).toBeLessThan(Math.max(1_500, 6 * flat.ms));

    // A batch gets one error per call, in tRPC's own shape, which the SDK reads as usual.
    const batch = await fetch(`${server.url}/trpc/auth.login,auth.logout?batch=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `{"0":${nested(40)},"1":{"json":{"refreshToken":"x"}}}`,
    });
    expect(batch.status).toBe(400);
    expect(((await batch.json()) as unknown[]).length).toBe(2);
    const query = await fetch(`${server.url}/trpc/auth.me?input=${encodeURIComponent(nested(100))}`);
    expect(query.status).toBe(400);
    // Read the way tRPC reads it: a second `input` cannot hide the first from the check.
    const twice = await fetch(
      `${server.url}/trpc/auth.me?input=${encodeURIComponent(nested(100))}&input=${encodeURIComponent('{}')}`,
    );
    expect(twice.status).toBe(400);
    // Wide is refused like deep: 60,000 empty arrays cost superjson a tenth of a second.
    const wide = await post('auth.logout', { json: Array.from({ length: 60_000 }, () => []) });
    expect(wide.status).toBe(400);
    expect(await wide.text()).toContain('more than 10000 values');
    // Ordinary nesting passes: these are parsed and answered by the procedure.
    expect((await post('auth.logout', { json: { refreshToken: 'x' } })).status).toBe(200);
  });

  it('allows browsers only from configured origins', async () => {
    const preflight = (origin: string) =>
      fetch(`${server.url}/trpc/auth.login`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type',
        },
      });
    // The default CORS_ORIGINS: the Vite dev server (the server's own origin is added once its port is known).
    const allowed = await preflight('http://localhost:5173');
    expect(allowed.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    const denied = await preflight('https://evil.example');
    expect(denied.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('sets security headers', async () => {
    const response = await fetch(`${server.url}/healthz`);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('x-powered-by')).toBeNull();
  });
});

describe('what the server answers to', () => {
  const requestWith = (headers: Record<string, string>, body?: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const url = new URL(`${server.url}/trpc/auth.logout`);
      const outgoing = request(
        { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers },
        (response) => {
          let text = '';
          response.on('data', (chunk: Buffer) => {
            text += chunk.toString();
          });
          response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
        },
      );
      outgoing.on('error', reject);
      outgoing.end(body);
    });
  const json = JSON.stringify({ json: { refreshToken: 'x' } });

  it('only its own names: a page rebinding its name to 127.0.0.1 is refused', async () => {
    const port = new URL(server.url).port;
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`]) {
      const answer = await requestWith({ host, 'content-type': 'application/json' }, json);
      expect(answer.status, host).toBe(200);
    }
    const rebound = await requestWith(
      { host: `attacker.example:${port}`, 'content-type': 'application/json' },
      json,
    );
    expect(rebound.status).toBe(421);
  });

  it('only JSON bodies, refused before anything counts them (a page can post a form without asking)', async () => {
    const limited = await startTestServer({ AUTH_RATE_LIMIT_PER_MINUTE: '2' });
    try {
      const form = new FormData();
      form.append('email', 'owner@example.com');
      for (let i = 0; i < 5; i++) {
        const posted = await fetch(`${limited.url}/trpc/auth.login`, { method: 'POST', body: form });
        expect(posted.status).toBe(415);
      }
      const text = await fetch(`${limited.url}/trpc/auth.login`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: json,
      });
      expect(text.status).toBe(415);
      // None of them used up the address's sign-in budget.
      const login = await createLeonidasClient({ url: limited.url })
        .auth.login.mutate({ email: uniqueEmail(), password: 'a wrong one' })
        .catch((error: unknown) => error);
      expect(errorCodeOf(login)).toBe('UNAUTHORIZED');
    } finally {
      await limited.close();
    }
  });
});

describe('the refresh cookie over HTTP', () => {
  const password = 'pa55word!';
  const COOKIE =
    /^leonidas_refresh=([\w-]{43}); Path=\/trpc\/auth\.(refresh|logout); Max-Age=2592000; HttpOnly; SameSite=Strict(; Secure)?$/;
  /** The token both Set-Cookie headers carry, after checking their attributes. */
  function cookieToken(response: Response, secure = false): string {
    const cookies = response.headers.getSetCookie();
    const matches = cookies.map((cookie) => COOKIE.exec(cookie));
    expect(matches.map((match) => [match?.[2], match?.[3]])).toEqual([
      ['refresh', secure ? '; Secure' : undefined],
      ['logout', secure ? '; Secure' : undefined],
    ]);
    expect(matches[0]?.[1]).toBe(matches[1]?.[1]);
    return matches[0]?.[1] ?? '';
  }
  const withCookie = (token: string) => ({ cookie: `leonidas_refresh=${token}` });

  async function browserSignIn(target: string = server.url, headers: Record<string, string> = {}) {
    const email = uniqueEmail('cookie');
    await createLeonidasClient({ url: target }).auth.register.mutate({ email, password });
    return fetch(`${target}/trpc/auth.login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ json: { email, password, refreshTokenIn: 'cookie' } }),
    });
  }

  it('is set by a cookie-mode sign-in, refreshed and cleared by the cookie, never shown in a body', async () => {
    const login = await browserSignIn();
    expect(login.status).toBe(200);
    const token = cookieToken(login);
    const loginBody = await login.text();
    expect(loginBody).toContain('accessToken');
    expect(loginBody).not.toContain('refreshToken');
    expect(loginBody).not.toContain(token);

    const refresh = await post('auth.refresh', { json: {} }, withCookie(token));
    expect(refresh.status).toBe(200);
    const rotated = cookieToken(refresh);
    expect(rotated).not.toBe(token);
    const refreshBody = await refresh.text();
    expect(refreshBody).not.toContain('refreshToken');
    expect(refreshBody).not.toContain(rotated);

    const logout = await post('auth.logout', { json: {} }, withCookie(rotated));
    expect(logout.status).toBe(200);
    expect(logout.headers.getSetCookie()).toEqual([
      'leonidas_refresh=; Path=/trpc/auth.refresh; Max-Age=0; HttpOnly; SameSite=Strict',
      'leonidas_refresh=; Path=/trpc/auth.logout; Max-Age=0; HttpOnly; SameSite=Strict',
    ]);
    expect((await post('auth.refresh', { json: {} }, withCookie(rotated))).status).toBe(401);
  });

  it('leaves services as they are: tokens in the body, no cookie', async () => {
    const email = uniqueEmail('service');
    const register = await post('auth.register', { json: { email, password } });
    const login = await post('auth.login', { json: { email, password } });
    const { refreshToken } = (
      (await login.json()) as { result: { data: { json: { refreshToken: string } } } }
    ).result.data.json;
    const refresh = await post('auth.refresh', { json: { refreshToken } });
    expect(await refresh.text()).toMatch(/"refreshToken":"[\w-]{43}"/);
    const logout = await post('auth.logout', { json: { refreshToken } });
    for (const response of [register, login, refresh, logout]) {
      expect(response.status).toBe(200);
      expect(response.headers.getSetCookie()).toEqual([]);
    }
  });

  it('is Secure when the request came over https, as only a trusted proxy can say', async () => {
    // Not trusted here (TRUST_PROXY=0): anyone can send the header.
    cookieToken(await browserSignIn(server.url, { 'x-forwarded-proto': 'https' }));
    const proxied = await startTestServer({ TRUST_PROXY: '1' });
    try {
      cookieToken(await browserSignIn(proxied.url, { 'x-forwarded-proto': 'https' }), true);
      cookieToken(await browserSignIn(proxied.url, { 'x-forwarded-proto': 'http' }));
    } finally {
      await proxied.close();
    }
  });

  it('takes no cross-site post: forms and no-cors posts are refused unread, JSON needs a preflight that fails', async () => {
    const login = await browserSignIn();
    const token = cookieToken(login);
    const { accessToken } = ((await login.json()) as { result: { data: { json: { accessToken: string } } } })
      .result.data.json;
    // What a page on another site can send without asking, even if the browser attached the cookie.
    const form = new FormData();
    form.append('json', '{}');
    const simple: { body: FormData | URLSearchParams | string; headers: Record<string, string> }[] = [
      { body: form, headers: {} },
      { body: new URLSearchParams({ json: '{}' }), headers: {} },
      { body: '{"json":{}}', headers: { 'content-type': 'text/plain' } },
    ];
    for (const { body, headers } of simple) {
      const posted = await fetch(`${server.url}/trpc/auth.refresh`, {
        method: 'POST',
        headers: { ...headers, ...withCookie(token), origin: 'https://evil.example' },
        body,
      });
      expect(posted.status).toBe(415);
      expect(posted.headers.getSetCookie()).toEqual([]);
      expect(await posted.text()).not.toContain('accessToken');
    }
    // A JSON post needs the browser's preflight, which another origin does not pass.
    const preflight = await fetch(`${server.url}/trpc/auth.refresh`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://evil.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    // The sign-in was neither rotated nor revoked: its access token and its cookie still work.
    const me = await fetch(`${server.url}/trpc/auth.me`, {
      headers: { authorization: `Bearer ${accessToken}` },
    });
    expect(me.status).toBe(200);
    expect((await post('auth.refresh', { json: {} }, withCookie(token))).status).toBe(200);
  });
});

describe('rate limit over HTTP', () => {
  it('answers 429 with when to retry', async () => {
    const limited = await startTestServer({ AUTH_RATE_LIMIT_PER_MINUTE: '2' });
    try {
      const client = createLeonidasClient({ url: limited.url });
      const login = () => client.auth.login.mutate({ email: uniqueEmail(), password: 'a wrong one' });
      await caught(login());
      await caught(login());
      const error = await caught(login());
      expect(error.data?.code).toBe('TOO_MANY_REQUESTS');
      expect(error.data?.httpStatus).toBe(429);
      expect(error.data?.retryAfterSeconds).toBeGreaterThan(0);
      expect(error.message).toMatch(/Try again in/);
      const raw = await fetch(`${limited.url}/trpc/auth.login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ json: { email: uniqueEmail(), password: 'a wrong one' } }),
      });
      expect(raw.status).toBe(429);
      expect(Number(raw.headers.get('retry-after'))).toBeGreaterThan(0);
    } finally {
      await limited.close();
    }
  });
});

describe('sign-in lockout over HTTP, behind a proxy', () => {
  it('refuses the address that failed 12 times, never the owner at another address', async () => {
    const proxied = await startTestServer({ TRUST_PROXY: '1', AUTH_RATE_LIMIT_PER_MINUTE: '1000' });
    try {
      // As the proxy in front would say, for each client address.
      const login = (address: string, body: { email: string; password: string }) =>
        fetch(`${proxied.url}/trpc/auth.login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-forwarded-for': address },
          body: JSON.stringify({ json: body }),
        });
      const email = uniqueEmail('target');
      const password = 'the owner knows this';
      await createLeonidasClient({ url: proxied.url }).auth.register.mutate({ email, password });

      for (let i = 0; i < 12; i++) {
        const failed = await login('198.51.100.66', { email, password: 'a wrong guess' });
        expect(failed.status).toBe(i < 10 ? 401 : 429);
      }

      const owner = await login('192.0.2.10', { email, password });
      expect(owner.status).toBe(200);
      expect(await owner.text()).toContain('accessToken');

      const attacker = await login('198.51.100.66', { email, password });
      expect(attacker.status).toBe(429);
      expect(Number(attacker.headers.get('retry-after'))).toBeGreaterThan(30);
      expect(await attacker.text()).toContain('TOO_MANY_REQUESTS');
    } finally {
      await proxied.close();
    }
  });
});

describe('when DynamoDB is unreachable', () => {
  it('with its database unreachable: 503 on /healthz, and calls refused as SERVICE_UNAVAILABLE without internals', async () => {
    const broken = await startTestServer({ DYNAMODB_ENDPOINT: 'http://127.0.0.1:9', CREATE_TABLE: 'false' });
    try {
      const health = await fetch(`${broken.url}/healthz`);
      expect(health.status).toBe(503);
      expect(await health.json()).toEqual({ status: 'unavailable', db: 'down' });

      const direct = await fetch(`${broken.url}/trpc/auth.login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ json: { email: uniqueEmail(), password: 'whatever1' } }),
      });
      expect(direct.status).toBe(503);
      const body = await direct.text();
      expect(body).toContain('Leonidas cannot reach its database right now. Try again in a moment.');
      expect(body).not.toMatch(/ECONNREFUSED|stack|\.ts:\d+|\.js:\d+/);
    } finally {
      await broken.close();
    }
  });
});
