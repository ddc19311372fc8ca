import { collectSubtree, type Db, getMessage, getSession, newId } from '@leonidas/db';
import { scanTable } from '@leonidas/db/testing';
import { TRPCError } from '@trpc/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectEvents, createTestApi, signUp, type TestApi } from '../../test/helpers.js';

/**
 * Races between a reply being started and the conversation changing under it, run many times at once so the
 * interleavings that matter happen: whatever wins, no session stays locked and nothing is left unreachable.
 */

let api: TestApi;
beforeAll(async () => {
  api = await createTestApi({ CHAT_SEND_PER_MINUTE: '1000', OFFLINE_TOKEN_DELAY_MS: '1' });
});
afterAll(async () => {
  await api.close();
});

type Caller = ReturnType<TestApi['caller']>;
type Event = { data: { type: string; runId?: string } };

async function ask(as: Caller, sessionId: string, content: string): Promise<void> {
  const sent = await as.chat.send({ sessionId, content, clientMessageId: newId() });
  await collectEvents(await as.chat.onEvents({ sessionId }), (events: Event[]) =>
    events.some((event) => event.data.runId === sent.runId && event.data.type === 'message.completed'),
  );
}

/** The code of a refused call; anything but a tRPC error is a failure of the test. */
async function outcome(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return 'ok';
  } catch (error) {
    if (error instanceof TRPCError) return error.code;
    throw error;
  }
}

/** Every message item of the session, and those its tree reaches from its first messages. */
async function messageItems(db: Db, sessionId: string) {
  const stored = (await scanTable(db)).filter(
    (item) => item.pk === `SESSION#${sessionId}` && String(item.sk).startsWith('MESSAGE#'),
  );
  const session = await getSession(db, sessionId);
  const reachable: string[] = [];
  for (const rootId of session?.rootIds ?? []) {
    const root = await getMessage(db, { sessionId, messageId: rootId });
    if (root) reachable.push(...(await collectSubtree(db, root)).map((message) => message.messageId));
  }
  return {
    stored: stored.map((item) => String(item.messageId)).sort(),
    reachable: reachable.sort(),
    session,
  };
}

describe('races', () => {
  it('a send and a start-over at the same moment: one wins, no session stays locked, nothing is orphaned', async () => {
    const { as } = await signUp(api);
    const project = await as.project.create({ name: 'Races' });
    const sessions = await Promise.all(
      Array.from({ length: 12 }, (_, index) =>
        as.session.create({ projectId: project.id, title: `S${index}` }),
      ),
    );
    await Promise.all(sessions.map((session) => ask(as, session.id, 'How many rows?')));

    const results = await Promise.all(
      sessions.map(async (session) => {
        const [sent, refreshed] = await Promise.all([
          outcome(as.chat.send({ sessionId: session.id, content: 'And columns?', clientMessageId: newId() })),
          outcome(as.session.refresh({ sessionId: session.id })),
        ]);
        return { sent, refreshed };
      }),
    );
    // Each call either went through or was refused as a conflict, never anything else.
    for (const result of results) {
      expect(['ok', 'CONFLICT']).toContain(result.sent);
      expect(['ok', 'CONFLICT']).toContain(result.refreshed);
    }
    await api.deps.background.drain(30_000);

    for (const session of sessions) {
      const { stored, reachable, session: record } = await messageItems(api.deps.db, session.id);
      expect(record?.activeRunId).toBeUndefined();
      expect(stored).toEqual(reachable);
      expect(record?.messageCount).toBe(stored.length);
      // The session takes the next question and answers it.
      await ask(as, session.id, 'One more?');
      const history = (await as.chat.history({ sessionId: session.id, limit: 100 })).items;
      expect(history.at(-1)).toMatchObject({ role: 'assistant', status: 'complete' });
    }
  }, 120_000);

  it('a start-over while a reply is written is refused, and the reply finishes whole', async () => {
    const slow = await createTestApi({ CHAT_SEND_PER_MINUTE: '1000', OFFLINE_TOKEN_DELAY_MS: '20' });
    try {
      const { as } = await signUp(slow);
      const project = await as.project.create({ name: 'Busy' });
      const session = await as.session.create({ projectId: project.id });
      const sent = await as.chat.send({
        sessionId: session.id,
        content: 'Hello there',
        clientMessageId: newId(),
      });
      expect(await outcome(as.session.refresh({ sessionId: session.id }))).toBe('CONFLICT');
      const events = await collectEvents(await as.chat.onEvents({ sessionId: session.id }), (all: Event[]) =>
        all.some((event) => event.data.runId === sent.runId && event.data.type === 'message.completed'),
      );
      expect(events.some((event) => event.data.type === 'message.completed')).toBe(true);
      expect((await as.chat.history({ sessionId: session.id })).items).toHaveLength(2);
    } finally {
      await slow.close();
    }
  }, 60_000);

  it('two tabs sending at once: one reply starts, the other is told the session is busy', async () => {
    const { as } = await signUp(api);
    const project = await as.project.create({ name: 'Tabs' });
    const session = await as.session.create({ projectId: project.id });
    const outcomes = await Promise.all(
      ['From tab one', 'From tab two'].map((content) =>
        outcome(as.chat.send({ sessionId: session.id, content, clientMessageId: newId() })),
      ),
    );
    expect(outcomes.sort()).toEqual(['CONFLICT', 'ok']);
    await api.deps.background.drain(30_000);
    const history = (await as.chat.history({ sessionId: session.id })).items;
    expect(history.map((message) => message.role)).toEqual(['user', 'assistant']);
  }, 60_000);
});
