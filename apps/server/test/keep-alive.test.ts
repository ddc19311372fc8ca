import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/server.js';
import { startTestServer } from './helpers.js';

/** One raw HTTP/1.1 connection, so the test sees exactly when the server closes it. */
async function openConnection(port: number): Promise<{ socket: Socket; closed: Promise<number> }> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now())));
  return { socket, closed };
}

/** Sends GET /healthz down the connection and reads the response's head. */
async function healthz(socket: Socket): Promise<{ status: string; headers: Map<string, string> }> {
  const head = new Promise<string>((resolve) => {
    let received = '';
    const onData = (chunk: Buffer) => {
      received += chunk.toString('latin1');
      const end = received.indexOf('\r\n\r\n');
      if (end >= 0) {
        socket.off('data', onData);
        resolve(received.slice(0, end));
      }
    };
    socket.on('data', onData);
  });
  socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n');
  const [status = '', ...lines] = (await head).split('\r\n');
  const headers = new Map(
    lines.map((line) => {
      const colon = line.indexOf(':');
      return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()] as const;
    }),
  );
  return { status, headers };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('keep-alive behind a load balancer', () => {
  let defaults: RunningServer;
  let configured: RunningServer;
  beforeAll(async () => {
    [defaults, configured] = await Promise.all([
      startTestServer(),
      startTestServer({ KEEP_ALIVE_TIMEOUT_SECONDS: '2', HEADERS_TIMEOUT_SECONDS: '3' }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([defaults?.close(), configured?.close()]);
  });

  it("keeps an idle connection longer than the load balancer's 60 s by default, past Node's own 5 s", async () => {
    const { socket, closed } = await openConnection(defaults.port);
    const first = await healthz(socket);
    expect(first.status).toBe('HTTP/1.1 200 OK');
    expect(first.headers.get('keep-alive')).toBe('timeout=65');
    let closedAt: number | undefined;
    void closed.then((at) => {
      closedAt = at;
    });
    await sleep(5_500);
    expect(closedAt).toBeUndefined();
    // The same connection still serves: a load balancer reusing it gets an answer, not a reset.
    expect((await healthz(socket)).status).toBe('HTTP/1.1 200 OK');
    socket.destroy();
  });

  it('takes KEEP_ALIVE_TIMEOUT_SECONDS: announces it and closes an idle connection after it, not before', async () => {
    const { socket, closed } = await openConnection(configured.port);
    const response = await healthz(socket);
    const idleSince = Date.now();
    expect(response.headers.get('keep-alive')).toBe('timeout=2');
    const idleFor = (await closed) - idleSince;
    expect(idleFor).toBeGreaterThanOrEqual(1_900);
    // Generous for a loaded machine: Node checks idle connections on a timer.
    expect(idleFor).toBeLessThan(10_000);
  });
});
