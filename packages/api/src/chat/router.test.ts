import { getMessage, getRefreshToken, readBranch, requestCancel, revokeRefreshFamily } from '@leonidas/db';
import { appendTurn } from '@leonidas/db/testing';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import {
  collectEvents,
  createTestApi,
  expectTrpcError,
  postToPresignedUrl,
  ScriptedProvider,
  signUp,
  type TestApi,
  words,
} from '../../test/helpers.js';
import { hashRefreshToken } from '../auth/tokens.js';
import { recoverInterruptedRuns } from './service.js';

let api: TestApi;
beforeAll(async () => {
  api = await createTestApi({ OFFLINE_TOKEN_DELAY_MS: '0' });
});
afterAll(() => api.close());

async function sessionFor(testApi: TestApi) {
  const account = await signUp(testApi);
  const project = await account.as.project.create({ name: 'Chat' });
  const session = await account.as.session.create({ projectId: project.id });
  return { ...account, project, session };
}

const isEnd = (events: { data: { type: string } }[]) =>
  events.some((e) => ['message.completed', 'run.cancelled', 'run.failed'].includes(e.data.type));

describe('the offline DS Bro', () => {
  it('lists the files and describes one with the real numbers from its profile', async () => {
    const { as, project, session } = await sessionFor(api);
    const csv = 'region,units\nNorth,3\nSouth,5\nEast,10\nWest,\n';
    const { file, upload } = await as.file.createUpload({
      projectId: project.id,
      filename: 'sales.csv',
      size: csv.length,
      contentType: 'text/csv',
    });
    await postToPresignedUrl(upload, csv);
    const confirmed = await as.file.confirm({ fileId: file.id });
    const units = confirmed.metadata?.columns[1];

    await as.chat.send({ sessionId: session.id, content: 'what files do I have?', clientMessageId: 'a' });
    const listing = await collectEvents(await as.chat.onEvents({ sessionId: session.id }), isEnd);
    expect(listing.map((e) => e.data.type)).toEqual([
      'run.started',
      'tool.call',
      'tool.result',
      ...listing.slice(3, -1).map(() => 'message.delta'),
      'message.completed',
    ]);
    expect(listing[1]?.data).toMatchObject({ name: 'list_files' });
    const listed = listing.at(-1)?.data.message as { content: string; model: string; toolCalls: unknown[] };
    expect(listed.content).toContain(
      '| sales.csv | `sales` | ready | 4 | region (string), units (integer) |',
    );
    expect(listed.model).toBe('offline/ds-bro-offline');
    expect(listed.toolCalls).toHaveLength(1);

    await as.chat.send({ sessionId: session.id, content: 'describe sales.csv', clientMessageId: 'b' });
    const described = await collectEvents(await as.chat.onEvents({ sessionId: session.id }), (events) =>
      events.some((e) => e.data.type === 'message.completed' && e.data.runId !== listing[0]?.data.runId),
    );
    const answer = (described.at(-1)?.data.message as { content: string } | undefined)?.content;
    expect(answer).toContain(`**${confirmed.metadata?.rowCount} rows**`);
    expect(answer).toContain(
      `| units | integer | ${units?.nullCount} | ${units?.distinctCount} | ${units?.min} | ${units?.max} | 6 |`,
    );
    expect(answer).toContain('| North | 3 |');
  });

  it('says plainly that no model is configured for anything else', async () => {
    const { as, session } = await sessionFor(api);
    await as.chat.send({
      sessionId: session.id,
      content: 'Why did churn go up in March?',
      clientMessageId: 'q',
    });
    const events = await collectEvents(await as.chat.onEvents({ sessionId: session.id }), isEnd);
    const message = events.at(-1)?.data.message as { content: string };
    expect(message.content).toMatch(/no language model is configured/);
    expect(message.content).toMatch(/LLM_PROVIDER=bedrock/);
  });
});

describe('chat runs', () => {
  it('is idempotent on clientMessageId and refuses a second send while a run is active', async () => {
    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow = await createTestApi(
      {},
      { llm: new ScriptedProvider([[{ type: 'until', released }, ...words('one two three four five')]]) },
    );
    onTestFinished(() => slow.close());
    const { as, session } = await sessionFor(slow);
    const first = await as.chat.send({ sessionId: session.id, content: 'go', clientMessageId: 'same' });
    const retry = await as.chat.send({ sessionId: session.id, content: 'go', clientMessageId: 'same' });
    expect(retry).toEqual(first);
    const conflict = await expectTrpcError(
      as.chat.send({ sessionId: session.id, content: 'another', clientMessageId: 'other' }),
      'CONFLICT',
    );
    expect(conflict.message).toMatch(/still replying/);
    release();
    await slow.deps.background.drain(10_000);
    const history = await as.chat.history({ sessionId: session.id });
    expect(history.items.map((m) => [m.role, m.content, m.status])).toEqual([
      ['user', 'go', 'complete'],
      ['assistant', 'one two three four five', 'complete'],
    ]);
    expect(await as.chat.send({ sessionId: session.id, content: 'go', clientMessageId: 'same' })).toEqual(
      first,
    );
  });

  it('cancel keeps what was written and marks the message cancelled', async () => {
    const slow = await createTestApi(
      {},
      { llm: new ScriptedProvider([words('a b c d e f g h i j k l m n o p', 50)]) },
    );
    onTestFinished(() => slow.close());
    const { as, session } = await sessionFor(slow);
    await as.chat.send({ sessionId: session.id, content: 'long answer please', clientMessageId: '1' });
    const stream = await as.chat.onEvents({ sessionId: session.id });
    const events = await collectEvents(stream, (got) => {
      if (got.filter((e) => e.data.type === 'message.delta').length === 3)
        void as.chat.cancel({ sessionId: session.id });
      return isEnd(got);
    });
    const end = events.at(-1)?.data as { type: string; message: { content: string; status: string } };
    expect(end.type).toBe('run.cancelled');
    expect(end.message.status).toBe('cancelled');
    expect(end.message.content.length).toBeGreaterThan(0);
    expect(end.message.content.length).toBeLessThan('a b c d e f g h i j k l m n o p'.length);
    const [, stored] = (await as.chat.history({ sessionId: session.id })).items;
    expect(stored).toMatchObject({ status: 'cancelled', content: end.message.content });
    // The session is free again.
    await as.chat.send({ sessionId: session.id, content: 'next', clientMessageId: '2' });
    await expect(as.chat.cancel({ sessionId: 'nope' })).rejects.toThrow();
  });

  it('a cancel asked on another server reaches the run at its next save', async () => {
    const text = Array.from({ length: 40 }, (_, i) => `w${i}`).join(' ');
    const slow = await createTestApi({}, { llm: new ScriptedProvider([words(text, 100)]) });
    onTestFinished(() => slow.close());
    const { as, session } = await sessionFor(slow);
    await as.chat.send({ sessionId: session.id, content: 'long answer please', clientMessageId: '1' });
    const stream = await as.chat.onEvents({ sessionId: session.id });
    let asked = false;
    const events = await collectEvents(stream, (got) => {
      const started = got.find((e) => e.data.type === 'run.started')?.data as
        | { messageId: string }
        | undefined;
      if (started && !asked && got.some((e) => e.data.type === 'message.delta')) {
        asked = true;
        // What chat.cancel does on a server that does not hold the run: it flags the reply in the table.
        void requestCancel(slow.deps.db, { sessionId: session.id, messageId: started.messageId });
      }
      return isEnd(got);
    });
    const end = events.at(-1)?.data as { type: string; message: { content: string; status: string } };
    expect(end.type).toBe('run.cancelled');
    // Stopped within about a save interval of the flag, long before the 40 words (4 s) were written.
    expect(end.message.content.split(' ').length).toBeLessThan(30);
    const [, stored] = (await as.chat.history({ sessionId: session.id })).items;
    expect(stored).toMatchObject({ status: 'cancelled', content: end.message.content });
  });

  it('keeps the partial text and reports run.failed when the model breaks mid-stream', async () => {
    const broken = await createTestApi(
      {},
      {
        llm: new ScriptedProvider([
          [...words('Half an answer'), { type: 'fail', message: 'socket hang up' }],
        ]),
      },
    );
    onTestFinished(() => broken.close());
    const { as, session } = await sessionFor(broken);
    await as.chat.send({ sessionId: session.id, content: 'hi', clientMessageId: '1' });
    const events = await collectEvents(await as.chat.onEvents({ sessionId: session.id }), isEnd);
    expect(events.at(-1)?.data).toMatchObject({
      type: 'run.failed',
      error: expect.stringMatching(/stopped answering/),
    });
    const [, stored] = (await as.chat.history({ sessionId: session.id })).items;
    expect(stored).toMatchObject({ status: 'error', content: 'Half an answer' });
    expect(JSON.stringify(events)).not.toContain('socket hang up');
  });

  it('stops a reply at the time limit, keeping what was written, and frees the session', async () => {
    const slow = await createTestApi(
      { CHAT_MAX_RUN_SECONDS: '5' },
      { llm: new ScriptedProvider([words('one two three four five six seven eight nine ten', 1000)]) },
    );
    onTestFinished(() => slow.close());
    const { as, session } = await sessionFor(slow);
    await as.chat.send({ sessionId: session.id, content: 'take your time', clientMessageId: '1' });
    const events = await collectEvents(await as.chat.onEvents({ sessionId: session.id }), isEnd);
    expect(events.at(-1)?.data).toMatchObject({
      type: 'run.failed',
      error: expect.stringMatching(/too long/),
    });
    const [, stored] = (await as.chat.history({ sessionId: session.id })).items;
    expect(stored?.status).toBe('error');
    expect(stored?.content).toMatch(/^one two/);
    await as.chat.send({ sessionId: session.id, content: 'next', clientMessageId: '2' });
  });

  it('replays after lastEventId without gap or duplicate, and from the start for an unknown id', async () => {
    const { as, session } = await sessionFor(api);
    await as.chat.send({ sessionId: session.id, content: 'hello', clientMessageId: '1' });
    const all = await collectEvents(await as.chat.onEvents({ sessionId: session.id }), isEnd);
    const cut = 4;
    const resumed = await collectEvents(
      await as.chat.onEvents({ sessionId: session.id, lastEventId: all[cut - 1]?.id }),
      isEnd,
    );
    expect([...all.slice(0, cut), ...resumed].map((e) => e.id)).toEqual(all.map((e) => e.id));
    const unknown = await collectEvents(
      await as.chat.onEvents({ sessionId: session.id, lastEventId: 'nope' }),
      isEnd,
    );
    expect(unknown.map((e) => e.id)).toEqual(all.map((e) => e.id));
    expect([...all.map((e) => e.id)].sort()).toEqual(all.map((e) => e.id));

    // Another process (or this one after a restart) rebuilds the finished run from the stored messages.
    api.deps.runs.forget(session.id);
    const rebuilt = await collectEvents(await as.chat.onEvents({ sessionId: session.id }), isEnd);
    expect(rebuilt[0]?.data).toMatchObject({ type: 'run.started', runId: all[0]?.data.runId });
    expect(rebuilt.at(-1)?.data).toMatchObject({ type: 'message.completed' });
  });

  it('pages 250 messages of history back in time, oldest first within a page', async () => {
    const { as, session } = await sessionFor(api);
    for (let i = 0; i < 125; i++) {
      await appendTurn(api.deps.db, {
        sessionId: session.id,
        question: `question ${i}`,
        answer: `answer ${i}`,
      });
    }
    const pages = [];
    let cursor: string | undefined;
    do {
      const page = await as.chat.history({ sessionId: session.id, limit: 40, cursor });
      pages.push(page.items);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(pages.map((page) => page.length)).toEqual([40, 40, 40, 40, 40, 40, 10]);
    const chronological = pages.reverse().flat();
    expect(chronological.map((m) => m.content)).toEqual(
      Array.from({ length: 125 }, (_, i) => [`question ${i}`, `answer ${i}`]).flat(),
    );
  });

  it('marks replies left streaming by a dead server as interrupted and frees the session', async () => {
    const { email, password, session } = await sessionFor(api);
    const started = await appendTurn(api.deps.db, { sessionId: session.id, question: 'before the crash' });
    expect(await recoverInterruptedRuns(api.deps, 60_000)).toBe(0);
    api.clock.advance(61_000);
    expect(await recoverInterruptedRuns(api.deps, 60_000)).toBeGreaterThanOrEqual(1);
    const message = await getMessage(api.deps.db, {
      sessionId: session.id,
      messageId: started.assistantMessage.messageId,
    });
    expect(message).toMatchObject({ status: 'error', error: expect.stringMatching(/interrupted/) });
    const messages = await readBranch(api.deps.db, {
      sessionId: session.id,
      from: started.assistantMessage.messageId,
      limit: 5,
    });
    expect(messages.items.map((m) => m.status)).toEqual(['error', 'complete']);
    // The session takes a new message again.
    const { accessToken } = await api.caller().auth.login({ email, password });
    await expect(
      api
        .caller(accessToken)
        .chat.send({ sessionId: session.id, content: 'again', clientMessageId: 'after' }),
    ).resolves.toHaveProperty('runId');
  });
});

describe('access and input', () => {
  it('gives another user NOT_FOUND from every session and chat procedure, the subscription included', async () => {
    const owner = await sessionFor(api);
    const intruder = await signUp(api, 'intruder');
    const sessionId = owner.session.id;
    const as = intruder.as;
    await expectTrpcError(as.session.list({ projectId: owner.project.id }), 'NOT_FOUND');
    await expectTrpcError(as.session.create({ projectId: owner.project.id }), 'NOT_FOUND');
    await expectTrpcError(as.session.byId({ sessionId }), 'NOT_FOUND');
    await expectTrpcError(as.session.update({ sessionId, title: 'mine' }), 'NOT_FOUND');
    await expectTrpcError(as.session.refresh({ sessionId }), 'NOT_FOUND');
    await expectTrpcError(as.session.delete({ sessionId }), 'NOT_FOUND');
    await expectTrpcError(as.chat.send({ sessionId, content: 'hi', clientMessageId: 'x' }), 'NOT_FOUND');
    await expectTrpcError(as.chat.cancel({ sessionId }), 'NOT_FOUND');
    await expectTrpcError(as.chat.history({ sessionId }), 'NOT_FOUND');
    await expectTrpcError(as.chat.onEvents({ sessionId }), 'NOT_FOUND');
    expect(await owner.as.session.byId({ sessionId })).toEqual(owner.session);
  });

  it.each([
    ['empty content', { content: '' }],
    ['blank content', { content: '   \n ' }],
    ['32,001 characters', { content: 'x'.repeat(32_001) }],
    ['no client id', { clientMessageId: '' }],
    ['content as a number', { content: 42 }],
    ['an unknown field', { role: 'system' }],
  ])('refuses a send with %s as BAD_REQUEST', async (_label, override) => {
    const { as, session } = await sessionFor(api);
    const input = { sessionId: session.id, content: 'ok', clientMessageId: 'id', ...override };
    await expectTrpcError(as.chat.send(input as never), 'BAD_REQUEST');
  });

  it('limits how fast one user sends', async () => {
    const strict = await createTestApi({ CHAT_SEND_PER_MINUTE: '2', OFFLINE_TOKEN_DELAY_MS: '0' });
    onTestFinished(() => strict.close());
    const { as, session } = await sessionFor(strict);
    await as.chat.send({ sessionId: session.id, content: 'hi', clientMessageId: '1' });
    await strict.deps.background.drain(5000);
    await as.chat.send({ sessionId: session.id, content: 'hi', clientMessageId: '2' });
    await strict.deps.background.drain(5000);
    const error = await expectTrpcError(
      as.chat.send({ sessionId: session.id, content: 'hi', clientMessageId: '3' }),
      'TOO_MANY_REQUESTS',
    );
    expect(error.message).toMatch(/Try again in/);
  });
});

describe('a live stream and the sign-in it was opened with', () => {
  let watched: TestApi;
  beforeAll(async () => {
    watched = await createTestApi(
      { OFFLINE_TOKEN_DELAY_MS: '0', ACCESS_TOKEN_TTL_SECONDS: '30' },
      { signInCheckIntervalMs: 200 },
    );
  });
  afterAll(() => watched.close());

  /** Reads the stream until it ends; the error it ends with, and when. */
  async function streamEnding(stream: AsyncIterable<unknown>) {
    const started = Date.now();
    try {
      for await (const _event of stream) {
        // Idle: the session has no runs.
      }
    } catch (error) {
      return { error, at: Date.now(), afterMs: Date.now() - started };
    }
    throw new Error('the stream ended without an error');
  }

  it('ends with UNAUTHORIZED as its access token expires', async () => {
    // Signed up 28 s "ago": the 30-second token has 2 s left.
    watched.clock.advance(-28_000);
    const { as, session, accessTokenExpiresAt } = await sessionFor(watched);
    watched.clock.advance(28_000);
    const ending = await streamEnding(await as.chat.onEvents({ sessionId: session.id }));
    expect(ending.error).toMatchObject({ code: 'UNAUTHORIZED', message: expect.stringMatching(/expired/) });
    expect(ending.at).toBeGreaterThanOrEqual(accessTokenExpiresAt.getTime() - 50);
    // Without the expiry check the stream would stay open; the margin is for a busy machine.
    expect(ending.at).toBeLessThan(accessTokenExpiresAt.getTime() + 5000);
  });

  it('ends at once when its login signs out, and cannot be opened again with that login', async () => {
    const { as, session, refreshToken } = await sessionFor(watched);
    const stream = await as.chat.onEvents({ sessionId: session.id });
    const ending = streamEnding(stream);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await watched.caller().auth.logout({ refreshToken });
    const ended = await ending;
    expect(ended.error).toMatchObject({ code: 'UNAUTHORIZED', message: expect.stringMatching(/signed out/) });
    expect(ended.afterMs).toBeLessThan(3000);
    await expectTrpcError(as.chat.onEvents({ sessionId: session.id }), 'UNAUTHORIZED');
  });

  it('ends when another instance revokes the login (a replayed refresh token)', async () => {
    const { as, session, refreshToken, user } = await sessionFor(watched);
    const other = await signUp(watched);
    const stream = await as.chat.onEvents({ sessionId: session.id });
    const ending = streamEnding(stream);
    // What another server does when it sees a refresh token replayed: the family is revoked in the table.
    const record = await getRefreshToken(watched.deps.db, hashRefreshToken(refreshToken));
    expect(record?.userId).toBe(user.id);
    await revokeRefreshFamily(watched.deps.db, {
      familyId: record?.familyId ?? '',
      revokedAt: new Date().toISOString(),
    });
    const ended = await ending;
    expect(ended.error).toMatchObject({ code: 'UNAUTHORIZED' });
    expect(ended.afterMs).toBeLessThan(5000);
    // Other people's streams are not touched.
    const theirs = await other.as.session.create({
      projectId: (await other.as.project.create({ name: 'p' })).id,
    });
    await expect(other.as.chat.onEvents({ sessionId: theirs.id })).resolves.toBeDefined();
  });
});
