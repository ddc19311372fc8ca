import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterEach, describe, expect, it } from 'vitest';
import type { StoreWorkerReply, StoreWorkerRequest } from '../src/in-worker.js';
import {
  generateCredentials,
  startObjectStore,
  startObjectStoreInWorker,
  type WorkerStoreOptions,
} from '../src/index.js';
import {
  BUCKET,
  createClient,
  presignUpload,
  REGION,
  readObject,
  uploadForm,
  WEB_ORIGIN,
} from './helpers.js';

/** How long a thread may take to load its TypeScript source and answer, with the rest of the suite running beside it. */
const THREAD_START_MS = 20_000;

/** The store's thread from its TypeScript source, through tsx (the server starts its bundled copy). */
function sourceStoreWorker(): Worker {
  const url = JSON.stringify(new URL('../src/store-worker.ts', import.meta.url).href);
  return new Worker(`import('tsx/esm/api').then(({ tsImport }) => tsImport(${url}, ${url}));`, {
    eval: true,
  });
}

const roots: string[] = [];
afterEach(async () => {
  for (const root of roots.splice(0)) await rm(root, { recursive: true, force: true });
});

async function options(overrides: Partial<WorkerStoreOptions> = {}): Promise<WorkerStoreOptions> {
  const root = await mkdtemp(path.join(tmpdir(), 'object-store-worker-'));
  roots.push(root);
  return {
    directory: path.join(root, 'data'),
    bucket: BUCKET,
    credentials: generateCredentials(),
    region: REGION,
    corsOrigins: [WEB_ORIGIN],
    ...overrides,
  };
}

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

describe('the object store in a worker thread', () => {
  it('serves the app’s calls and a browser’s upload as the store in line does', async () => {
    const settings = await options();
    const store = await startObjectStoreInWorker(settings, sourceStoreWorker());
    const client = createClient(store.endpoint, settings.credentials);
    try {
      expect(store.endpoint).toBe(`http://127.0.0.1:${store.port}`);
      await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'a/b.json', Body: '{"ok":true}' }));
      expect(await readObject(client, 'a/b.json')).toBe('{"ok":true}');
      const { url, fields } = await presignUpload(client, 'uploads/data.csv');
      const posted = await fetch(url, { method: 'POST', body: uploadForm(fields, 'id,city\n1,Paris\n') });
      expect(posted.status).toBe(204);
      expect(await readObject(client, 'uploads/data.csv')).toBe('id,city\n1,Paris\n');
    } finally {
      client.destroy();
      await store.stop();
    }
  });

  it('answers while the thread that started it is busy', async () => {
    const store = await startObjectStoreInWorker(await options(), sourceStoreWorker());
    try {
      // This thread waits in execFileSync and runs nothing until the child is done: a store on this thread's
      // event loop could not answer the child, which would time out.
      const status = execFileSync(
        process.execPath,
        [
          '-e',
          `fetch(${JSON.stringify(`${store.endpoint}/${BUCKET}/x`)}).then((r) => console.log(r.status))`,
        ],
        { encoding: 'utf8', timeout: 10_000 },
      );
      // Unsigned: refused, by a store that answered.
      expect(status.trim()).toBe('403');
    } finally {
      await store.stop();
    }
  });

  it('stops: the port is closed and the thread has ended', async () => {
    const store = await startObjectStoreInWorker(await options(), sourceStoreWorker());
    expect(await accepts(store.port)).toBe(true);
    await store.stop();
    expect(await accepts(store.port)).toBe(false);
    await expect(store.exited).resolves.toBeInstanceOf(Error);
  });

  it('says when its thread ends without being stopped', async () => {
    const worker = sourceStoreWorker();
    const store = await startObjectStoreInWorker(await options(), worker);
    await worker.terminate();
    expect((await store.exited).message).toMatch(/thread ended/);
    expect(await accepts(store.port)).toBe(false);
    // Stopping a store whose thread is gone does not wait for it.
    await store.stop();
  });

  it('finishes the writes in flight before its thread ends: every object is whole, no staged file is left', async () => {
    const settings = await options();
    const seed = await startObjectStore(settings);
    const seeding = createClient(seed.endpoint, settings.credentials);
    const keys = Array.from({ length: 100 }, (_, i) => `k/${i}`);
    for (const Key of keys) {
      await seeding.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: 'old', ContentType: 'text/old' }));
    }
    seeding.destroy();
    await seed.stop();
    // A write cut off between moving an object's files one by one leaves a body of one version with the
    // checksum or the type of the other: stopped at different moments, some of these rounds catch one.
    for (let round = 0; round < 20; round++) {
      const store = await startObjectStoreInWorker(settings, sourceStoreWorker());
      const client = createClient(store.endpoint, settings.credentials);
      const writes = keys.map((Key) =>
        client
          .send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: `new ${round}`, ContentType: 'text/new' }))
          .catch(() => undefined),
      );
      await new Promise((resolve) => setTimeout(resolve, 5 + round * 6));
      await store.stop();
      await Promise.all(writes);
      client.destroy();
    }
    const check = await startObjectStore(settings);
    const reading = createClient(check.endpoint, settings.credentials);
    try {
      for (const Key of keys) {
        const object = await reading.send(new GetObjectCommand({ Bucket: BUCKET, Key }));
        const body = (await object.Body?.transformToString()) ?? '';
        expect(object.ETag).toBe(`"${createHash('md5').update(body).digest('hex')}"`);
        expect(object.ContentType).toBe(body === 'old' ? 'text/old' : 'text/new');
      }
      expect(await readdir(path.join(settings.directory, '.tmp')).catch(() => [])).toEqual([]);
    } finally {
      reading.destroy();
      await check.stop();
    }
  }, 60_000);

  it('stops once, however many times it is asked', async () => {
    const store = await startObjectStoreInWorker(await options(), sourceStoreWorker());
    await Promise.all([store.stop(), store.stop()]);
    await store.stop();
    expect(await accepts(store.port)).toBe(false);
  });

  it('has its thread answer every stop request, stopping the store only once', async () => {
    // The thread's own protocol, without the terminate that follows the first answer in `stop`.
    const worker = sourceStoreWorker();
    const errors: Error[] = [];
    worker.on('error', (error) => errors.push(error));
    const replies: StoreWorkerReply[] = [];
    worker.on('message', (reply: StoreWorkerReply) => replies.push(reply));
    try {
      worker.postMessage({ type: 'start', options: await options() } satisfies StoreWorkerRequest);
      // The thread loads the store from its TypeScript source first: seconds on a busy machine.
      await expect
        .poll(() => replies.map((reply) => reply.type), { timeout: THREAD_START_MS })
        .toEqual(['listening']);
      worker.postMessage({ type: 'stop' } satisfies StoreWorkerRequest);
      worker.postMessage({ type: 'stop' } satisfies StoreWorkerRequest);
      await expect
        .poll(() => replies.map((reply) => reply.type), { timeout: THREAD_START_MS })
        .toEqual(['listening', 'stopped', 'stopped']);
      // An error in the thread (a second stop of a closed server, left unhandled) would have come by now.
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(errors).toEqual([]);
    } finally {
      await worker.terminate();
    }
  });

  it('refuses options that cannot cross to the thread, and leaves no thread behind', async () => {
    const worker = sourceStoreWorker();
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    // A clock function fits the store's own options, which a caller may pass where the type allows it.
    const withClock: WorkerStoreOptions = {
      ...(await options()),
      now: () => Date.now(),
    } as WorkerStoreOptions;
    await expect(startObjectStoreInWorker(withClock, worker)).rejects.toThrow(/could not be cloned/);
    await exited;
  });

  it('refuses options the store refuses, with its reason, and leaves no thread behind', async () => {
    const worker = sourceStoreWorker();
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    await expect(startObjectStoreInWorker(await options({ bucket: 'No_Such' }), worker)).rejects.toThrow(
      /Invalid bucket name: No_Such/,
    );
    await exited;
  });
});
