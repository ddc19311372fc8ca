import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLeonidasClient, type LeonidasClient } from '@leonidas/client';
import { freePort, processTree } from '@leonidas/db/local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildServer,
  type ServerProcess,
  startServerProcess,
  stopAllServers,
  waitForHealthy,
} from './built-server.js';
import { isRunning, uniqueEmail } from './helpers.js';

/**
 * The built server stopped in the middle of a reply, the hard way and the polite way: what was written is kept,
 * nothing stays locked, and nothing it started is left running.
 */

beforeAll(buildServer);
afterAll(stopAllServers);

/** A long reply (the offline analyst's help), streamed slowly enough to be stopped half-way. */
const SLOW = { OFFLINE_TOKEN_DELAY_MS: '40', LOG_LEVEL: 'warn' };

async function startIn(dataDir: string, env: Record<string, string> = {}) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const server = startServerProcess({ PORT: String(port), DATA_DIR: dataDir, ...SLOW, ...env });
  await waitForHealthy(url, server);
  return { url, server };
}

/** Starts a reply and resolves once some of its text has streamed, with the subscription's end. */
async function replyUnderway(client: LeonidasClient, sessionId: string) {
  let text = '';
  let resolveStarted: () => void = () => {};
  const started = new Promise<void>((resolve) => {
    resolveStarted = resolve;
  });
  const ended = new Promise<'complete' | 'error'>((resolve) => {
    client.chat.onEvents.subscribe(
      { sessionId },
      {
        onData: ({ data }) => {
          if (data.type === 'message.delta') text += data.text;
          if (text.length > 40) resolveStarted();
        },
        onComplete: () => resolve('complete'),
        onError: () => resolve('error'),
        onStopped: () => resolve('complete'),
      },
    );
  });
  const { runId } = await client.chat.send.mutate({
    sessionId,
    content: '/help',
    clientMessageId: `c${Date.now()}`,
  });
  await started;
  return { runId, ended, streamed: () => text };
}

const PASSWORD = 'pa55word!';

async function signedIn(url: string) {
  const email = uniqueEmail('faults');
  const { accessToken } = await createLeonidasClient({ url }).auth.register.mutate({
    email,
    password: PASSWORD,
  });
  return { email, client: createLeonidasClient({ url, token: accessToken }) };
}

/** The same account on the restarted server. */
async function signIn(url: string, email: string) {
  const { accessToken } = await createLeonidasClient({ url }).auth.login.mutate({
    email,
    password: PASSWORD,
  });
  return createLeonidasClient({ url, token: accessToken });
}

async function waitForReply(client: LeonidasClient, sessionId: string) {
  for (let attempt = 0; attempt < 300; attempt++) {
    const last = (await client.chat.history.query({ sessionId })).items.at(-1);
    if (last?.role === 'assistant' && last.status !== 'streaming') return last;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the reply did not finish');
}

describe('the built server stopped mid-reply', () => {
  it('killed with SIGKILL: its DynamoDB Local goes with it, and after a restart the reply is marked interrupted with its text kept and the session takes a new message', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'leonidas-faults-'));
    let second: ServerProcess | undefined;
    try {
      const first = await startIn(dataDir);
      const { email, client } = await signedIn(first.url);
      const project = await client.project.create.mutate({ name: 'Killed' });
      const session = await client.session.create.mutate({ projectId: project.id });
      const reply = await replyUnderway(client, session.id);
      // Past one progress save, so some text is on disk.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const stack = processTree(first.server.child.pid ?? 0).filter((pid) => pid !== first.server.child.pid);
      expect(stack.length).toBeGreaterThan(0);

      first.server.child.kill('SIGKILL');
      await first.server.exited;
      // No exit handler ran, yet the JVM notices its server is gone and stops.
      for (let waited = 0; stack.some(isRunning) && waited < 10_000; waited += 100) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(stack.filter(isRunning)).toEqual([]);

      const restarted = await startIn(dataDir);
      second = restarted.server;
      const again = await signIn(restarted.url, email);
      const history = (await again.chat.history.query({ sessionId: session.id })).items;
      const interrupted = history.at(-1);
      expect(interrupted).toMatchObject({ role: 'assistant', status: 'error' });
      expect(interrupted?.error).toContain('interrupted');
      expect(interrupted?.content.length).toBeGreaterThan(0);
      expect(reply.streamed().startsWith(interrupted?.content ?? '-')).toBe(true);

      await again.chat.send.mutate({
        sessionId: session.id,
        content: 'How many rows?',
        clientMessageId: 'after',
      });
      expect(await waitForReply(again, session.id)).toMatchObject({ status: 'complete' });
    } finally {
      await second?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 180_000);

  it('stopped with SIGTERM: open streams end cleanly, the reply ends cancelled with its text, and the process exits in time', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'leonidas-faults-'));
    let second: ServerProcess | undefined;
    try {
      const first = await startIn(dataDir, { SHUTDOWN_TIMEOUT_MS: '500' });
      const { email, client } = await signedIn(first.url);
      const project = await client.project.create.mutate({ name: 'Stopped' });
      const session = await client.session.create.mutate({ projectId: project.id });
      const reply = await replyUnderway(client, session.id);

      first.server.child.kill('SIGTERM');
      expect(await first.server.exited).toBe(0);
      expect(await reply.ended).toBe('complete');

      const restarted = await startIn(dataDir);
      second = restarted.server;
      const again = await signIn(restarted.url, email);
      const last = (await again.chat.history.query({ sessionId: session.id })).items.at(-1);
      expect(last?.status).not.toBe('streaming');
      expect(last?.status).not.toBe('complete');
      expect(last?.content.length).toBeGreaterThan(0);
      expect(reply.streamed().startsWith(last?.content ?? '-')).toBe(true);
    } finally {
      await second?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 180_000);
});
