import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateCredentials, type ObjectStore, startObjectStore } from '@leonidas/object-store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isMissingObject, Storage } from './s3.js';

const directory = mkdtempSync(join(tmpdir(), 'leonidas-storage-'));
const bucket = 'leonidas-storage-test';
const credentials = generateCredentials();
let store: ObjectStore;
let storage: Storage;
/** Signs with a secret the store does not know: every call is refused with 403, as a denied role would be. */
let refused: Storage;
/** Points at a bucket that does not exist. */
let elsewhere: Storage;

beforeAll(async () => {
  store = await startObjectStore({ directory: join(directory, 's3'), bucket, credentials, corsOrigins: [] });
  const config = { bucket, region: 'us-east-1', endpoint: store.endpoint, credentials };
  storage = new Storage(config);
  refused = new Storage({ ...config, credentials: { ...credentials, secretAccessKey: 'not-the-secret' } });
  elsewhere = new Storage({ ...config, bucket: 'no-such-bucket' });
});

afterAll(async () => {
  for (const each of [storage, refused, elsewhere]) each?.destroy();
  await store?.stop();
  rmSync(directory, { recursive: true, force: true });
});

describe('a missing object', () => {
  it('is null to size (HEAD) and to getJson (GET), and present objects are not', async () => {
    expect(await storage.size('projects/p/files/missing')).toBeNull();
    expect(await storage.getJson('projects/p/previews/missing.json')).toBeNull();
    await storage.putJson('projects/p/previews/present.json', { rows: 2 });
    expect(await storage.getJson('projects/p/previews/present.json')).toEqual({ rows: 2 });
    expect(await storage.size('projects/p/previews/present.json')).toBe('{"rows":2}'.length);
  });

  it('is not what a refusal (403) is taken for: it surfaces, so files never look deleted for a wrong policy', async () => {
    await storage.putJson('projects/p/previews/kept.json', {});
    await expect(refused.size('projects/p/previews/kept.json')).rejects.toMatchObject({
      $metadata: { httpStatusCode: 403 },
    });
    await expect(refused.getJson('projects/p/previews/kept.json')).rejects.toMatchObject({
      $metadata: { httpStatusCode: 403 },
    });
    await expect(refused.size('projects/p/files/missing')).rejects.toMatchObject({
      $metadata: { httpStatusCode: 403 },
    });
  });

  it('is not what a missing bucket is taken for, where S3 names it', async () => {
    await expect(elsewhere.getJson('projects/p/previews/any.json')).rejects.toMatchObject({
      name: 'NoSuchBucket',
    });
  });
});

describe('isMissingObject', () => {
  it.each([
    [{ name: 'NotFound', $metadata: { httpStatusCode: 404 } }, true],
    [{ name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } }, true],
    [{ name: 'Unknown', $metadata: { httpStatusCode: 404 } }, true],
    [{ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }, false],
    [{ name: 'Forbidden', $metadata: { httpStatusCode: 403 } }, false],
    [{ name: 'NoSuchBucket', $metadata: { httpStatusCode: 404 } }, false],
    [new Error('socket hang up'), false],
  ])('%o -> %s', (error, missing) => {
    expect(isMissingObject(error)).toBe(missing);
  });
});

describe('a file upload', () => {
  it('is sent again, whole, when the connection drops under it (the SDK does not retry a stream body)', async () => {
    const path = join(directory, 'table.parquet');
    writeFileSync(path, Buffer.alloc(200_000, 7));
    const received: number[] = [];
    // A store that drops the first connection part-way through the body, then takes the upload.
    const flaky = createServer((req, res) => {
      let bytes = 0;
      req.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
      });
      if (received.push(0) === 1) {
        setTimeout(() => req.socket.destroy(), 5);
        return;
      }
      req.on('end', () => {
        received[received.length - 1] = bytes;
        res.writeHead(200, { etag: '"t"' }).end();
      });
    });
    flaky.listen(0, '127.0.0.1');
    await once(flaky, 'listening');
    const { port } = flaky.address() as AddressInfo;
    const upload = new Storage({
      bucket,
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${port}`,
      credentials,
    });
    try {
      await upload.uploadFile('projects/p/tables/t.parquet', path, 'application/vnd.apache.parquet');
    } finally {
      upload.destroy();
      flaky.close();
    }
    expect(received).toEqual([0, 200_000]);
  });
});

// The file processing thread's stop relies on this: its downloads and uploads in flight end with the client.
describe('a destroyed client', () => {
  it('fails the calls it was waiting on at once, without sending them again, and later calls too', async () => {
    // A store that takes every request and never answers.
    const requests: string[] = [];
    const silent = createServer((req) => {
      requests.push(`${req.method} ${req.url}`);
    });
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    const { port } = silent.address() as AddressInfo;
    const held = new Storage({
      bucket,
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${port}`,
      credentials,
    });
    try {
      const waiting = held.getJson('projects/p/preview.json').catch((error: unknown) => error);
      while (requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      const began = performance.now();
      held.destroy();
      const error = await waiting;
      expect(performance.now() - began).toBeLessThan(1_000);
      expect(error).toMatchObject({ name: 'StorageUnavailableError' });
      expect(await held.size('projects/p/other.json').catch((later: unknown) => later)).toMatchObject({
        name: 'StorageUnavailableError',
      });
      // Give a retry the time it would take to arrive: none does.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(requests).toHaveLength(1);
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });
});
