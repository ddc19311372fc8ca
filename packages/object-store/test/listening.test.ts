import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUCKET, startTestStore, type TestStore } from './helpers.js';

let test: TestStore;

beforeAll(async () => {
  test = await startTestStore();
});

afterAll(async () => {
  await test?.stop();
});

/** Local addresses (hex, as in /proc/net/tcp*) of the sockets listening on `port`. */
async function listeningAddresses(port: number): Promise<string[]> {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const tables = await Promise.all(
    ['/proc/net/tcp', '/proc/net/tcp6'].map((file) => readFile(file, 'utf8').catch(() => '')),
  );
  return tables
    .flatMap((table) => table.split('\n').slice(1))
    .map((line) => line.trim().split(/\s+/))
    .filter(([, local, , state]) => local?.endsWith(`:${hexPort}`) && state === '0A')
    .map(([, local]) => local?.split(':')[0] ?? '');
}

const connects = (host: string, port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect({ host, port, timeout: 2000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });

describe('where the store listens', () => {
  it('is an endpoint on 127.0.0.1', () => {
    expect(test.store.endpoint).toBe(`http://127.0.0.1:${test.store.port}`);
  });

  it('listens on the loopback address only', async () => {
    const addresses = await listeningAddresses(test.store.port);
    expect(addresses).toEqual(['0100007F']);
  });

  it('cannot be reached on the machine’s other addresses', async () => {
    const others = Object.values(networkInterfaces())
      .flat()
      .filter((address) => address !== undefined && !address.internal && address.family === 'IPv4');
    for (const address of others) {
      expect(await connects(address?.address ?? '', test.store.port)).toBe(false);
    }
    expect(await connects('127.0.0.1', test.store.port)).toBe(true);
  });
});

describe('stop()', () => {
  it('closes the server and the connections still open on it', async () => {
    const own = await startTestStore();
    const socket = connect({ host: '127.0.0.1', port: own.store.port });
    socket.on('error', () => undefined);
    await new Promise((resolve) => socket.once('connect', resolve));
    const closed = new Promise((resolve) => socket.once('close', resolve));
    // A request whose body never comes: only stop() can end this connection.
    socket.write(`PUT /${BUCKET}/slow HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n`);
    await own.stop();
    await closed;
    expect(await connects('127.0.0.1', own.store.port)).toBe(false);
  });
});
