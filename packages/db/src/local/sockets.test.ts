import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { isLoopbackAddress, listeningSockets, processTree } from './sockets.js';

describe('listeningSockets', () => {
  it('tells which process holds a listening port, and on which address', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const bystander = spawn('sleep', ['30']);
    try {
      const mine = listeningSockets([process.pid])?.find((socket) => socket.port === port);
      expect(mine).toMatchObject({ pid: process.pid });
      expect(isLoopbackAddress(mine?.address ?? '')).toBe(true);
      // Another process does not hold it, whatever it is.
      expect(listeningSockets([bystander.pid ?? 0])?.some((socket) => socket.port === port)).toBe(false);
      expect(processTree(process.pid)).toContain(bystander.pid);
    } finally {
      bystander.kill();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('reads a wildcard address as not loopback', () => {
    expect(isLoopbackAddress('00000000')).toBe(false);
    expect(isLoopbackAddress('00000000000000000000000000000000')).toBe(false);
  });
});
