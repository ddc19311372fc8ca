/**
 * The thread's side of `FileThread`: files are processed here, on an event loop of their own, with this thread's
 * own database and store clients and DuckDB, built from the server's configuration (`FileWorkerData`). The
 * server's build bundles it as a file of its own (`dist/file-worker.js`).
 */
import { parentPort, Worker, workerData } from 'node:worker_threads';
import { createDb, createDocumentClient, DatabaseUnavailableError, type FileRecord } from '@leonidas/db';
import { Analytics } from '../analysis/duckdb.js';
import { Storage } from '../storage/s3.js';
import { processClaimed } from './processing.js';
import {
  type FileWorkerData,
  type FromFileWorker,
  loggerTo,
  type ToFileWorker,
} from './processing-thread.js';

const port = parentPort;
if (port) {
  const data = workerData as FileWorkerData;
  const post = (message: FromFileWorker) => port.postMessage(message);
  let stopping = false;
  const documentClient = createDocumentClient(data.dynamo);
  // A thread being stopped writes no outcome: the files it is cut off from stay PROCESSING, as they would if the
  // process ended, and are taken over once stale (rather than FAILED for a reason that is not theirs).
  documentClient.middlewareStack.add(
    (next) => async (args) => {
      if (stopping) throw new DatabaseUnavailableError('The server is stopping.');
      return next(args);
    },
    { step: 'initialize', name: 'leonidasStopping' },
  );
  const storage = new Storage(data.storage);
  const analytics = new Analytics(data.duckdb);
  // DuckDB opens now, not with the first file. If it cannot, that file says so.
  analytics.withConnection(async () => undefined).catch(() => undefined);
  const { scanWorkerUrl } = data;

  // The server's query tables are its own: a table joins or leaves them by message.
  const tableCalls = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
  let nextCall = 0;
  const tables = (call: { op: 'adopt'; fileId: string; path: string } | { op: 'forget'; fileId: string }) =>
    new Promise<void>((resolve, reject) => {
      const id = nextCall++;
      tableCalls.set(id, { resolve, reject });
      post({ type: 'tables', id, ...call });
    });

  const deps = {
    db: createDb(documentClient, data.tableName),
    storage,
    analytics,
    logger: loggerTo(post),
    files: {
      maxUploadBytes: data.maxUploadBytes,
      scanWorker: scanWorkerUrl ? () => new Worker(new URL(scanWorkerUrl)) : undefined,
    },
    tables: {
      adopt: (fileId: string, path: string) => tables({ op: 'adopt', fileId, path }),
      forget: (fileId: string) => tables({ op: 'forget', fileId }),
    },
  };

  const inFlight = new Set<Promise<void>>();
  const handle = (id: number, file: FileRecord, objectSize: number, queueMs: number) => {
    // Sent as the stop was: left as it is, as the files the stop cuts off are.
    if (stopping) return post({ type: 'done', id, file });
    const work = processClaimed(deps, file, objectSize, queueMs).then((outcome) =>
      post({ type: 'done', id, file: outcome }),
    );
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
  };

  const stop = async () => {
    stopping = true;
    // Downloads and uploads in flight fail at once (their sockets close), rather than hold the stop.
    storage.destroy();
    // DuckDB must be idle before the thread ends: an addon thread torn down mid-query aborts the process. A file
    // that reaches DuckDB after the first interrupt is interrupted by a later one.
    const settled = Promise.allSettled([...inFlight]);
    let done = false;
    void settled.then(() => {
      done = true;
    });
    while (!done) {
      analytics.interrupt();
      await Promise.race([settled, new Promise((resolve) => setTimeout(resolve, 50))]);
    }
    await analytics.close();
    documentClient.destroy();
    port.close();
  };

  port.on('message', (message: ToFileWorker) => {
    switch (message.type) {
      case 'process':
        return handle(message.id, message.file, message.objectSize, message.queueMs);
      case 'tables-done': {
        const call = tableCalls.get(message.id);
        tableCalls.delete(message.id);
        if (message.error === undefined) call?.resolve();
        else call?.reject(new Error(message.error));
        return;
      }
      case 'stop':
        void stop();
        return;
    }
  });
}
