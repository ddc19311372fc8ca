import { createServer, type Server, type Socket } from 'node:net';
import type { Worker } from 'node:worker_threads';
import { getFile } from '@leonidas/db';
import { afterEach, describe, expect, it } from 'vitest';
import {
  capturingLogger,
  createTestApi,
  postToPresignedUrl,
  signUp,
  type TestApi,
} from '../../test/helpers.js';
import { previewObjectKey, tableObjectKey } from './keys.js';
import { OUT_OF_ORDER } from './processing.js';
import { type FromFileWorker, loggerTo, receivedDetails } from './processing-thread.js';

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
  const { file, upload } = await owner.as.file.createUpload({
    projectId: project.id,
    filename: 'sales.csv',
    size: Buffer.byteLength(csv),
    contentType: 'text/csv',
  });
  expect(await postToPresignedUrl(upload, csv)).toBe(204);
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
          storage: (config) => (started.length === 0 ? { ...config, endpoint: silent } : config),
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
    const on = await createTestApi(
      { CONFIRM_WAIT_MS: '0' },
      { fileThread: { started, storage: (config) => ({ ...config, endpoint: silent }) } },
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
    } finally {
      await on.close();
    }
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

  it('keep an error’s name and code across the threads', async () => {
    const error = Object.assign(new Error('connect ECONNREFUSED'), {
      name: 'StorageUnavailableError',
      code: 'ECONNREFUSED',
    });
    const message = await sent({ err: error, fileId: 'f1' });
    if (message.type !== 'log') throw new Error(`a ${message.type} message`);
    expect(message).toMatchObject({ level: 'warn', message: 'could not delete' });
    const details = receivedDetails(message.details);
    expect(details.fileId).toBe('f1');
    expect(details.err).toBeInstanceOf(Error);
    expect(details.err).toMatchObject({
      name: 'StorageUnavailableError',
      code: 'ECONNREFUSED',
      message: 'connect ECONNREFUSED',
    });
    expect(Object.keys(details)).toEqual(['err', 'fileId']);
  });

  it('still go out when their details cannot be sent', async () => {
    const message = await sent({ fileId: 'f1', retry: () => undefined });
    expect(message).toMatchObject({
      type: 'log',
      details: { unsendableDetails: ['fileId', 'retry'] },
      message: 'could not delete',
    });
  });
});
