import { startOpenAiServer, type WireScript } from '@leonidas/api/testing';
import {
  type AuthTokens,
  ask,
  createLeonidasClient,
  errorCode,
  isLeonidasError,
  type LeonidasClient,
} from '@leonidas/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/server.js';
import { startTestServer, uniqueEmail } from './helpers.js';

const SLOW_WORDS = Array.from({ length: 25 }, (_, i) => `w${i} `);
/** Streams for about 36 s: longer than a 30-second access token lives. */
const PATIENT_WORDS = Array.from({ length: 36 }, (_, i) => `p${i} `);
const script: WireScript = (request) => {
  if (request.lastUserText === 'take your time')
    return PATIENT_WORDS.map((text) => ({ text, delayMs: 1000 }));
  if (request.lastUserText.startsWith('slow')) return SLOW_WORDS.map((text) => ({ text, delayMs: 40 }));
  if (request.lastUserText === 'break')
    return [{ text: 'Half ' }, { text: 'an answer', delayMs: 20 }, { fail: 'boom' }];
  return [{ text: 'Quick ' }, { text: 'answer.' }, { usage: { input: 5, output: 2 } }];
};

let model: Awaited<ReturnType<typeof startOpenAiServer>>;
let server: RunningServer;
beforeAll(async () => {
  model = await startOpenAiServer(script);
  server = await startTestServer({
    LLM_PROVIDER: 'openai',
    OPENAI_BASE_URL: model.baseUrl,
    OPENAI_API_KEY: 'local',
    OPENAI_MODEL: 'stand-in',
  });
});
afterAll(async () => {
  await server?.close();
  await model?.stop();
});

type Event = { id: string; data: { type: string; runId: string } & Record<string, unknown> };

/** Subscribes over SSE with the SDK and gathers events until `until` holds; then unsubscribes. */
function gather(
  client: LeonidasClient,
  input: { sessionId: string; lastEventId?: string },
  until: (events: Event[]) => boolean,
): Promise<Event[]> {
  return new Promise((resolve, reject) => {
    const events: Event[] = [];
    const timer = setTimeout(() => {
      subscription.unsubscribe();
      reject(new Error(`timed out after ${events.map((e) => e.data.type).join(',')}`));
    }, 15_000);
    const subscription = client.chat.onEvents.subscribe(input, {
      onData: (event) => {
        events.push(event as unknown as Event);
        if (until(events)) {
          clearTimeout(timer);
          subscription.unsubscribe();
          resolve(events);
        }
      },
      onError: (error) => {
        clearTimeout(timer);
        reject(error);
      },
    });
  });
}

const ended = (runId: string) => (events: Event[]) =>
  events.some(
    (e) =>
      e.data.runId === runId && ['message.completed', 'run.cancelled', 'run.failed'].includes(e.data.type),
  );

async function newSession() {
  const anonymous = createLeonidasClient({ url: server.url });
  const { accessToken } = await anonymous.auth.register.mutate({
    email: uniqueEmail('chat'),
    password: 'pa55word!',
  });
  const client = createLeonidasClient({ url: server.url, token: accessToken });
  const project = await client.project.create.mutate({ name: 'Chat over HTTP' });
  const session = await client.session.create.mutate({ projectId: project.id });
  return { client, session };
}

describe('chat over HTTP and SSE with @leonidas/client', () => {
  it('streams a run in order and records the model', async () => {
    const { client, session } = await newSession();
    const { runId, userMessage } = await client.chat.send.mutate({
      sessionId: session.id,
      content: 'hello',
      clientMessageId: 'm1',
    });
    expect(userMessage).toMatchObject({ role: 'user', content: 'hello', status: 'complete' });
    const events = await gather(client, { sessionId: session.id }, ended(runId));
    expect(events.map((e) => e.data.type)).toEqual([
      'run.started',
      'message.delta',
      'message.delta',
      'message.completed',
    ]);
    expect(events.map((e) => e.id)).toEqual([...events.map((e) => e.id)].sort());
    expect(events.at(-1)?.data.message).toMatchObject({
      content: 'Quick answer.',
      status: 'complete',
      model: 'openai/stand-in',
      usage: { inputTokens: 5, outputTokens: 2 },
    });
  });

  it('resumes after lastEventId with no gap and no duplicate, and two subscribers see the same events', async () => {
    const { client, session } = await newSession();
    const { runId } = await client.chat.send.mutate({
      sessionId: session.id,
      content: 'slow please',
      clientMessageId: 'm1',
    });
    const [watcher, first] = await Promise.all([
      gather(client, { sessionId: session.id }, ended(runId)),
      gather(client, { sessionId: session.id }, (events) => events.length >= 6),
    ]);
    const lastSeen = first.at(-1)?.id ?? '';
    const rest = await gather(client, { sessionId: session.id, lastEventId: lastSeen }, ended(runId));
    const resumed = [...first, ...rest].map((e) => e.id);
    expect(resumed).toEqual(watcher.map((e) => e.id));
    expect(new Set(resumed).size).toBe(resumed.length);
    expect(
      watcher
        .filter((e) => e.data.type === 'message.delta')
        .map((e) => e.data.text)
        .join(''),
    ).toBe(SLOW_WORDS.join(''));
  });

  it('keeps writing the reply when every subscriber has gone', async () => {
    const { client, session } = await newSession();
    const { runId } = await client.chat.send.mutate({
      sessionId: session.id,
      content: 'slow again',
      clientMessageId: 'm1',
    });
    await gather(client, { sessionId: session.id }, (events) => events.length >= 2);
    // Nobody listens now; the run goes on and is saved.
    let history = await client.chat.history.query({ sessionId: session.id });
    for (let i = 0; i < 100 && history.items.at(-1)?.status === 'streaming'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      history = await client.chat.history.query({ sessionId: session.id });
    }
    expect(history.items.at(-1)).toMatchObject({
      role: 'assistant',
      status: 'complete',
      content: SLOW_WORDS.join(''),
    });
    // A late subscriber still gets the whole finished run.
    const late = await gather(client, { sessionId: session.id }, ended(runId));
    expect(late[0]?.data.type).toBe('run.started');
  });

  it('cancels, fails mid-stream, stays idempotent and refuses a send during a run', async () => {
    const { client, session } = await newSession();
    const first = await client.chat.send.mutate({
      sessionId: session.id,
      content: 'slow and long',
      clientMessageId: 'a',
    });
    expect(
      await client.chat.send.mutate({
        sessionId: session.id,
        content: 'slow and long',
        clientMessageId: 'a',
      }),
    ).toEqual(first);
    const conflict = await client.chat.send
      .mutate({ sessionId: session.id, content: 'other', clientMessageId: 'b' })
      .catch((e: unknown) => e);
    expect(isLeonidasError(conflict) && conflict.data?.code).toBe('CONFLICT');

    const cancelled = await gather(client, { sessionId: session.id }, (events) => {
      if (events.filter((e) => e.data.type === 'message.delta').length === 3)
        void client.chat.cancel.mutate({ sessionId: session.id });
      return ended(first.runId)(events);
    });
    expect(cancelled.at(-1)?.data).toMatchObject({ type: 'run.cancelled', message: { status: 'cancelled' } });

    const broken = await client.chat.send.mutate({
      sessionId: session.id,
      content: 'break',
      clientMessageId: 'c',
    });
    const failed = await gather(client, { sessionId: session.id }, ended(broken.runId));
    expect(failed.at(-1)?.data).toMatchObject({ type: 'run.failed' });
    const history = await client.chat.history.query({ sessionId: session.id });
    expect(history.items.at(-1)).toMatchObject({ status: 'error', content: 'Half an answer' });
  });

  it("gives a stranger NOT_FOUND on someone's session stream", async () => {
    const { session } = await newSession();
    const { client: stranger } = await newSession();
    const error = await gather(stranger, { sessionId: session.id }, () => true).catch((e: unknown) => e);
    expect(isLeonidasError(error) && error.data?.code).toBe('NOT_FOUND');
    const anonymous = await gather(
      createLeonidasClient({ url: server.url }),
      { sessionId: session.id },
      () => true,
    ).catch((e: unknown) => e);
    expect(isLeonidasError(anonymous) && anonymous.data?.code).toBe('UNAUTHORIZED');
  });
});

describe('a live stream outlives no sign-in', () => {
  let shortLived: RunningServer;
  beforeAll(async () => {
    shortLived = await startTestServer({
      ACCESS_TOKEN_TTL_SECONDS: '30',
      LLM_PROVIDER: 'openai',
      OPENAI_BASE_URL: model.baseUrl,
      OPENAI_API_KEY: 'local',
      OPENAI_MODEL: 'stand-in',
    });
  });
  afterAll(() => shortLived?.close());

  async function signedIn() {
    const tokens = await createLeonidasClient({ url: shortLived.url }).auth.register.mutate({
      email: uniqueEmail('short'),
      password: 'pa55word!',
    });
    const fixed = createLeonidasClient({ url: shortLived.url, token: tokens.accessToken });
    const project = await fixed.project.create.mutate({ name: 'Short-lived tokens' });
    const session = () => fixed.session.create.mutate({ projectId: project.id });
    return { tokens, fixed, session };
  }

  /** Subscribes and resolves with the error that ends the stream, and when it came. */
  function ending(client: LeonidasClient, sessionId: string): Promise<{ error: unknown; at: number }> {
    return new Promise((resolve) => {
      client.chat.onEvents.subscribe(
        { sessionId },
        {
          onError: (error) => resolve({ error, at: Date.now() }),
          onComplete: () => resolve({ error: null, at: Date.now() }),
        },
      );
    });
  }

  it('ends a stream at its token expiry, and the SDK carries an answer across it with no gap or repeat', async () => {
    const { tokens, fixed, session } = await signedIn();
    const expiresAt = tokens.accessTokenExpiresAt.getTime();

    // A client holding only that token: its stream ends with UNAUTHORIZED when the token expires.
    const idle = ending(fixed, (await session()).id);

    // A client that can renew: `ask` streams a 36-second answer across the expiry.
    let current: AuthTokens = tokens;
    const renewals: AuthTokens[] = [];
    const renewing = createLeonidasClient({
      url: shortLived.url,
      getToken: () => current.accessToken,
      refreshToken: () => current.refreshToken,
      onTokens: (renewed) => {
        current = renewed;
        renewals.push(renewed);
      },
    });
    const asked = (await session()).id;
    let text = '';
    let finished: { content: string } | undefined;
    for await (const event of ask(renewing, { sessionId: asked, content: 'take your time' })) {
      if (event.type === 'message.delta') text += event.text;
      if (event.type === 'message.completed') finished = event.message;
      expect(event.type).not.toBe('run.failed');
    }

    const idleEnd = await idle;
    expect(errorCode(idleEnd.error)).toBe('UNAUTHORIZED');
    expect(idleEnd.at).toBeGreaterThanOrEqual(expiresAt - 100);
    expect(idleEnd.at).toBeLessThan(expiresAt + 3000);

    expect(renewals.length).toBeGreaterThanOrEqual(1);
    expect(text).toBe(PATIENT_WORDS.join(''));
    expect(finished?.content).toBe(text);
    const stored = await renewing.chat.history.query({ sessionId: asked });
    expect(stored.items.map((message) => message.content)).toEqual(['take your time', text]);
  }, 90_000);

  it('ends a stream when its sign-in logs out', async () => {
    const { tokens, fixed, session } = await signedIn();
    const stream = ending(fixed, (await session()).id);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const loggedOutAt = Date.now();
    await fixed.auth.logout.mutate({ refreshToken: tokens.refreshToken });
    const end = await stream;
    expect(errorCode(end.error)).toBe('UNAUTHORIZED');
    expect(end.at - loggedOutAt).toBeLessThan(2000);
  });
});
