import { newId } from '@leonidas/db';
import { describe, expect, it } from 'vitest';
import { collectEvents, createTestApi, signUp } from '../../test/helpers.js';
import { RunHub, type RunLog } from './hub.js';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the run hub', () => {
  it('lets 2,000 finished runs go after the retention time, keeping runs in progress and newer runs', async () => {
    const hub = new RunHub(100);
    for (let index = 0; index < 2000; index++) {
      const log = hub.start(`session-${index}`, `run-${index}`);
      hub.emit(log, { type: 'message.delta', runId: log.runId, messageId: 'm', text: 'x'.repeat(200) });
      hub.finish(log);
    }
    const live = hub.start('live', 'run-live');
    const replaced = hub.start('replaced', 'run-old');
    hub.finish(replaced);
    const newer = hub.start('replaced', 'run-new');
    expect(hub.size).toBe(2002);

    await pause(300);
    expect(hub.size).toBe(2);
    expect(hub.get('live')).toBe(live);
    expect(hub.get('replaced')).toBe(newer);
    hub.finish(newer);
    await pause(300);
    expect(hub.get('replaced')).toBeUndefined();
    expect(hub.get('live')).toBe(live);
  });

  it('replays a retired run from storage to a client that comes back for it', async () => {
    const api = await createTestApi({ CHAT_RUN_RETAIN_SECONDS: '0.1', OFFLINE_TOKEN_DELAY_MS: '1' });
    try {
      const { as } = await signUp(api);
      const project = await as.project.create({ name: 'Retire' });
      const session = await as.session.create({ projectId: project.id });
      const sent = await as.chat.send({
        sessionId: session.id,
        content: 'How many rows?',
        clientMessageId: newId(),
      });
      const completed = (events: { data: { type: string } }[]) =>
        events.some((event) => event.data.type === 'message.completed');
      const live = await collectEvents(await as.chat.onEvents({ sessionId: session.id }), completed);
      await api.deps.background.drain(10_000);
      await pause(300);
      expect(api.deps.runs.size).toBe(0);

      // From the start and from the middle, as a client that lost its stream would ask.
      const replayed = await collectEvents(await as.chat.onEvents({ sessionId: session.id }), completed);
      expect(replayed.at(-1)?.data).toMatchObject({
        type: 'message.completed',
        runId: sent.runId,
        message: live.at(-1)?.data.message,
      });
      const firstId = replayed[0]?.id ?? '';
      const rest = await collectEvents(
        await as.chat.onEvents({ sessionId: session.id, lastEventId: firstId }),
        completed,
      );
      expect(rest.map((event) => event.id)).toEqual(replayed.slice(1).map((event) => event.id));
    } finally {
      await api.close();
    }
  });
});

describe('a run read by a subscriber', () => {
  const delta = (log: RunLog, messageId: string, text: string) =>
    ({ type: 'message.delta', runId: log.runId, messageId, text }) as const;

  it('wakes a watch for a change made before it waited, at a change, when its stream stops, and when quiet', async () => {
    const hub = new RunHub(1000);
    const stop = new AbortController();
    const watch = hub.watch('s', stop.signal, 20);
    const log = hub.start('s', 'run');
    expect(await watch.next()).toBe(true);

    const waiting = watch.next();
    hub.emit(log, delta(log, 'a', 'x'));
    expect(await waiting).toBe(true);

    expect(await watch.next()).toBe(false);
    // Quiet once does not make the next wait quiet at once.
    const again = watch.next();
    stop.abort();
    expect(await again).toBe(true);
    watch.close();
    hub.finish(log);

    const closing = hub.watch('s', undefined, 60_000);
    const pending = closing.next();
    hub.close();
    expect(await pending).toBe(true);
    closing.close();
  });
});
