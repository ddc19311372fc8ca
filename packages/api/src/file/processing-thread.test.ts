import { existsSync, readdirSync, statSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { getFile } from '@leonidas/db';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { capturingLogger, createTestApi, signUp, type TestApi, uploadFile } from '../../test/helpers.js';
import { previewObjectKey, tableObjectKey } from './keys.js';
import { OUT_OF_ORDER } from './processing.js';
import { type FromFileWorker, loggerTo, receivedDetails } from './processing-thread.js';
import { PREVIEW_ROWS } from './schema.js';

/**
 * Files processed on a thread of their own (`FileThread`, the thread from its source through tsx), against the
 * real DynamoDB Local and object store: what the built server does for every upload.
 */

const apis: TestApi[] = [];
const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(apis.splice(0).map((api) => api.close()));
  for (const server of servers.splice(0)) server.close();
});

async function api(...args: Parameters<typeof createTestApi>) {
  const created = await createTestApi(...args);
  apis.push(created);
  return created;
}

/** Signs up, makes a project, uploads `csv` by presigned POST; the owner and the new file's id. */
async function uploaded(on: TestApi, csv: string) {
  const owner = await signUp(on);
  const project = await owner.as.project.create({ name: 'Thread' });
  const { file } = await uploadFile(owner, project.id, csv);
  return { owner, projectId: project.id, fileId: file.id };
}

/** Waits until the file is no longer PROCESSING (or the time is up); its last state. */
async function settled(on: TestApi, fileId: string, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const file = await getFile(on.deps.db, fileId);
    if (file?.status !== 'PROCESSING' || Date.now() > deadline) return file;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** A store endpoint that takes connections and never answers. */
async function silentEndpoint(): Promise<string> {
  const sockets: Socket[] = [];
  const server = createServer((socket) => sockets.push(socket));
  server.on('close', () => {
    for (const socket of sockets) socket.destroy();
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  return `http://127.0.0.1:${address.port}`;
}

const CSV = `region,day,amount,paid\n${Array.from(
  { length: 400 },
  (_, i) =>
    `${['north', 'south', 'east'][i % 3]},2026-01-${String((i % 28) + 1).padStart(2, '0')},${(i * 1.5).toFixed(2)},${i % 4 === 0}`,
).join('\n')}\n`;

describe('files processed on a thread of their own', () => {
  it('end as files processed in line do, with their table in this thread’s query tables and their log line here', async () => {
    const logger = capturingLogger();
    const started: Worker[] = [];
    const threaded = await api({}, { logger, fileThread: { started } });
    const inLine = await api();
    expect(threaded.deps.fileProcessor.thread).toBe('worker');
    expect(inLine.deps.fileProcessor.thread).toBe('server');

    const there = await uploaded(threaded, CSV);
    const here = await uploaded(inLine, CSV);
    const [onThread, onServer] = await Promise.all([
      there.owner.as.file.confirm({ fileId: there.fileId }),
      here.owner.as.file.confirm({ fileId: here.fileId }),
    ]);
    expect(onThread.status).toBe('COMPLETED');
    expect(onThread.metadata).toEqual(onServer.metadata);
    expect(onThread.metadata?.rowCount).toBe(400);
    expect(await there.owner.as.file.preview({ fileId: there.fileId })).toEqual(
      await here.owner.as.file.preview({ fileId: here.fileId }),
    );

    // Adopted here: the cache answers without going to storage (these keys name nothing there).
    const path = await threaded.deps.tables.pathOf({
      fileId: there.fileId,
      objectKey: 'nothing/here.csv',
      tableKey: 'nothing/here.parquet',
      delimiter: ',',
    });
    expect(path).toMatch(/\.parquet$/);
    const processed = logger.lines
      .map((line) => JSON.parse(line))
      .find((line) => line.message === 'file processed');
    expect(processed).toMatchObject({ level: 'info', fileId: there.fileId, rows: 400 });

    // A second file goes to the same thread.
    const again = await uploaded(threaded, CSV);
    expect((await again.owner.as.file.confirm({ fileId: again.fileId })).status).toBe('COMPLETED');
    expect(started).toHaveLength(1);
  });

  it('build the table of a file processed before tables existed, in the thread’s DuckDB', async () => {
    const on = await api({}, { fileThread: {} });
    const { owner, fileId } = await uploaded(on, CSV);
    const confirmed = await owner.as.file.confirm({ fileId });
    const record = await getFile(on.deps.db, fileId);
    if (!record) throw new Error('no file');
    // As a file processed before tables existed has it: no table anywhere.
    const tableKey = tableObjectKey(confirmed.projectId, fileId);
    await on.deps.tables.forget(fileId);
    await on.deps.storage.delete(tableKey);
    const onServerThread = vi.spyOn(on.deps.analytics, 'withConnection');

    const path = await on.deps.tables.pathOf({
      fileId,
      objectKey: record.objectKey,
      tableKey,
      delimiter: ',',
    });
    expect(statSync(path).size).toBeGreaterThan(0);
    expect(await on.deps.storage.size(tableKey)).toBe(statSync(path).size);
    expect(onServerThread).not.toHaveBeenCalled();
  });

  it('a thread that ends while it has a file leaves that file FAILED with nothing derived kept, and the next file gets a new thread', async () => {
    const started: Worker[] = [];
    const silent = await silentEndpoint();
    const logger = capturingLogger();
    // The first thread's store never answers, so its file is held in its download (not in DuckDB) when it ends.
    const on = await api(
      { CONFIRM_WAIT_MS: '0' },
      {
        logger,
        fileThread: {
          started,
          workerData: (data) =>
            started.length === 0 ? { ...data, storage: { ...data.storage, endpoint: silent } } : data,
        },
      },
    );
    const first = await uploaded(on, CSV);
    expect((await first.owner.as.file.confirm({ fileId: first.fileId })).status).toBe('PROCESSING');
    const [thread] = started;
    if (!thread) throw new Error('no thread started');
    // Its preview and table, as if it had written them before it ended.
    await on.putObjectDirectly(previewObjectKey(first.projectId, first.fileId), '{}');
    await on.putObjectDirectly(tableObjectKey(first.projectId, first.fileId), 'PAR1');
    await thread.terminate();

    const failed = await settled(on, first.fileId);
    // What it wrote goes once it is FAILED.
    await on.deps.background.drain(10_000);
    expect(failed?.status).toBe('FAILED');
    expect(failed?.failureReason).toBe(OUT_OF_ORDER);
    expect(await on.deps.storage.size(previewObjectKey(first.projectId, first.fileId))).toBeNull();
    expect(await on.deps.storage.size(tableObjectKey(first.projectId, first.fileId))).toBeNull();
    expect(
      logger.lines.some((line) => line.includes('the file processing thread stopped unexpectedly')),
    ).toBe(true);

    const next = await uploaded(on, CSV);
    await next.owner.as.file.confirm({ fileId: next.fileId });
    expect((await settled(on, next.fileId))?.status).toBe('COMPLETED');
    expect(started).toHaveLength(2);
  });

  it('closing while a file’s download hangs ends the thread in moments and leaves the file PROCESSING, to be taken over', async () => {
    const started: Worker[] = [];
    const silent = await silentEndpoint();
    const logger = capturingLogger();
    const on = await createTestApi(
      { CONFIRM_WAIT_MS: '0' },
      {
        logger,
        fileThread: {
          started,
          workerData: (data) => ({ ...data, storage: { ...data.storage, endpoint: silent } }),
        },
      },
    );
    try {
      const held = await uploaded(on, CSV);
      await held.owner.as.file.confirm({ fileId: held.fileId });
      const [thread] = started;
      if (!thread) throw new Error('no thread started');
      const exited = new Promise<number>((resolve) => thread.once('exit', resolve));
      const began = performance.now();
      await on.deps.fileProcessor.close();
      expect(await exited).toBe(0);
      expect(performance.now() - began).toBeLessThan(5_000);
      expect((await getFile(on.deps.db, held.fileId))?.status).toBe('PROCESSING');
      // One line says so, not the failures the stop caused (its download cut, its outcome write refused).
      expect(
        logger.lines.filter((line) => line.includes(held.fileId)).map((line) => JSON.parse(line)),
      ).toEqual([
        {
          level: 'info',
          fileId: held.fileId,
          message: 'file processing cut off by the stop: left PROCESSING',
        },
      ]);
    } finally {
      await on.close();
    }
  });
});

describe('a processing thread that goes wrong', () => {
  it('ending right after it wrote a file COMPLETED leaves that file COMPLETED, its preview and table kept', async () => {
    // The thread ends as it is about to answer for a completed file: the answer never comes.
    const prelude = `
      const { parentPort } = require('node:worker_threads');
      const post = parentPort.postMessage.bind(parentPort);
      parentPort.postMessage = (message) =>
        message?.type === 'done' && message.file.status === 'COMPLETED' ? process.exit(0) : post(message);
    `;
    const on = await api({}, { fileThread: { prelude } });
    const { owner, fileId } = await uploaded(on, CSV);
    const confirmed = await owner.as.file.confirm({ fileId });
    expect(confirmed.status).toBe('COMPLETED');
    expect((await getFile(on.deps.db, fileId))?.status).toBe('COMPLETED');
    expect((await owner.as.file.preview({ fileId, limit: PREVIEW_ROWS })).rows).toHaveLength(PREVIEW_ROWS);
    expect(await on.deps.storage.size(tableObjectKey(confirmed.projectId, fileId))).toBeGreaterThan(0);
  });

  it('that cannot start fails the file with a reason, and answers', async () => {
    const logger = capturingLogger();
    // What cannot be sent to a thread (a function) makes starting it throw.
    const on = await api(
      {},
      {
        logger,
        fileThread: { workerData: (data) => ({ ...data, duckdb: { ...data.duckdb, spill: () => 1 } }) },
      },
    );
    const { owner, fileId } = await uploaded(on, CSV);
    const confirmed = await owner.as.file.confirm({ fileId });
    expect(confirmed).toMatchObject({ status: 'FAILED', failureReason: OUT_OF_ORDER });
    expect(logger.lines.some((line) => line.includes('the file processing thread could not start'))).toBe(
      true,
    );
  });

  it('with an error nothing catches while DuckDB runs in it lets DuckDB stop before it ends: the process lives on, the file FAILED', async () => {
    const started: Worker[] = [];
    let workDirectory = '';
    // Told by a channel of its own (a listener on its port would take the messages meant for the thread).
    const channel = `leonidas-test-${Date.now()}`;
    const prelude = `
      const channel = new (require('node:worker_threads').BroadcastChannel)(${JSON.stringify(channel)});
      channel.unref();
      channel.onmessage = () => setImmediate(() => { throw new Error('a bug in the thread'); });
    `;
    const on = await api(
      { CONFIRM_WAIT_MS: '0' },
      {
        fileThread: {
          started,
          prelude,
          workerData: (data) => {
            workDirectory = data.workDirectory;
            return data;
          },
        },
      },
    );
    // Large enough that DuckDB works on it for a while: its table and statistics take a second or more.
    const rows = Array.from(
      { length: 600_000 },
      (_, i) =>
        `${i},r${i % 997},${(i * 0.37).toFixed(2)},${i % 13},2026-01-${String((i % 28) + 1).padStart(2, '0')}`,
    );
    const big = `id,name,amount,bucket,day\n${rows.join('\n')}\n`;
    const { owner, fileId } = await uploaded(on, big);
    await owner.as.file.confirm({ fileId });
    const [thread] = started;
    if (!thread) throw new Error('no thread started');
    const exited = new Promise<number>((resolve) => thread.once('exit', resolve));
    // DuckDB is writing the table once its file appears in the file's work folder.
    const deadline = Date.now() + 30_000;
    while (
      !readdirSync(workDirectory).some((name) => existsSync(join(workDirectory, name, 'table.parquet')))
    ) {
      if (Date.now() > deadline) throw new Error('DuckDB never started on the file');
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    const toThread = new BroadcastChannel(channel);
    toThread.postMessage('throw');
    toThread.close();
    expect(await exited).toBe(1);
    const failed = await settled(on, fileId);
    await on.deps.background.drain(10_000);
    expect(failed).toMatchObject({ status: 'FAILED', failureReason: OUT_OF_ORDER });
    expect(await on.deps.storage.size(tableObjectKey(failed?.projectId ?? '', fileId))).toBeNull();
    expect(existsSync(workDirectory)).toBe(false);

    const next = await uploaded(on, CSV);
    await next.owner.as.file.confirm({ fileId: next.fileId });
    expect((await settled(on, next.fileId))?.status).toBe('COMPLETED');
    expect(started).toHaveLength(2);
  });
});

describe('the thread’s log lines', () => {
  /** What the other side receives of one log call made through `loggerTo`. */
  async function sent(details: object) {
    const { port1, port2 } = new MessageChannel();
    const received = new Promise<FromFileWorker>((resolve) => {
      port2.once('message', (data: FromFileWorker) => resolve(data));
    });
    loggerTo((message) => port1.postMessage(message)).warn(details, 'could not delete');
    try {
      return await received;
    } finally {
      port1.close();
      port2.close();
    }
  }

  it('keep an error’s name and code across the threads, and those of its causes', async () => {
    const cause = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), {
      name: 'TimeoutError',
      code: 'ECONNREFUSED',
    });
    const error = Object.assign(new Error('The object store could not be reached', { cause }), {
      name: 'StorageUnavailableError',
    });
    const message = await sent({ err: error, fileId: 'f1' });
    if (message.type !== 'log') throw new Error(`a ${message.type} message`);
    expect(message).toMatchObject({ level: 'warn', message: 'could not delete' });
    const details = receivedDetails(message.details);
    expect(details.fileId).toBe('f1');
    expect(details.err).toBeInstanceOf(Error);
    expect(details.err).toMatchObject({
      name: 'StorageUnavailableError',
      message: 'The object store could not be reached',
      cause: { name: 'TimeoutError', code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:9' },
    });
    expect(Object.keys(details)).toEqual(['err', 'fileId']);
  });

  it('keep what can be sent when something in them cannot', async () => {
    const message = await sent({ fileId: 'f1', retry: () => undefined });
    expect(message).toMatchObject({
      type: 'log',
      details: { fileId: 'f1', retry: '[function that cannot be sent]' },
      message: 'could not delete',
    });
  });
});
