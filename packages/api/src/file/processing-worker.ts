/**
 * The thread's side of `FileThread`: files are processed here, on an event loop of their own, with this thread's
 * own database and store clients and DuckDB, built from the server's configuration (`FileWorkerData`). The
 * server's build bundles it as a file of its own (`dist/file-worker.js`).
 */
import { parentPort, Worker, workerData } from 'node:worker_threads';
import { createDb, createDocumentClient, DatabaseUnavailableError, type FileRecord } from '@leonidas/db';
import { Analytics } from '../analysis/duckdb.js';
import { Storage } from '../storage/s3.js';
import { buildTable, type ProcessingDeps, processClaimed } from './processing.js';
import {
  type FileWorkerData,
  type FromFileWorker,
  loggerTo,
  receivedError,
  sentError,
  type ToFileWorker,
} from './processing-thread.js';

const port = parentPort;
if (port) {
  const data = workerData as FileWorkerData;
  const post = (message: FromFileWorker) => port.postMessage(message);
  const logger = loggerTo(post);
  /** Set once the thread is ending: by `stop`, or by an error nothing caught. */
  let stopping = false;
  /** Ending by an error: files are not answered, so that the server marks them FAILED once the thread is gone. */
  let failed = false;
  const documentClient = createDocumentClient(data.dynamo);
  // A thread that is ending writes no outcome: the files it is cut off from stay PROCESSING (as they would if the
  // process ended) or are marked FAILED by the server, rather than FAILED for a reason that is not theirs.
  documentClient.middlewareStack.add(
    (next) => async (args) => {
      if (stopping) throw new DatabaseUnavailableError('The file processing thread is ending.');
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

  const deps: ProcessingDeps = {
    db: createDb(documentClient, data.tableName),
    storage,
    analytics,
    logger,
    files: {
      maxUploadBytes: data.maxUploadBytes,
      scanWorker: scanWorkerUrl ? () => new Worker(new URL(scanWorkerUrl)) : undefined,
    },
    tables: {
      adopt: (fileId: string, path: string) => tables({ op: 'adopt', fileId, path }),
      forget: (fileId: string) => tables({ op: 'forget', fileId }),
    },
    workDirectory: data.workDirectory,
    ending: () => stopping,
  };

  const inFlight = new Set<Promise<void>>();
  const track = (work: Promise<void>) => {
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
  };
  const handle = (id: number, file: FileRecord, objectSize: number, queueMs: number) => {
    if (failed) return;
    // Sent as the stop was: left as it is, as the files the stop cuts off are.
    if (stopping) return post({ type: 'done', id, file });
    track(
      processClaimed(deps, file, objectSize, queueMs).then((outcome) => {
        if (!failed) post({ type: 'done', id, file: outcome });
      }),
    );
  };
  const build = (message: Extract<ToFileWorker, { type: 'build' }>) =>
    track(
      buildTable(analytics, message.delimiter, message.csvPath, message.tablePath).then(
        () => post({ type: 'built', id: message.id }),
        (error: unknown) => post({ type: 'built', id: message.id, error: sentError(error) }),
      ),
    );

  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= stopOnce();
    return stopped;
  };
  const stopOnce = async () => {
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
  };

  // An error nothing caught would end the thread at once, and with DuckDB running in it, the whole process. The
  // thread ends anyway, but only once its queries have stopped; the server then fails the files it had.
  const fail = (error: unknown) => {
    if (failed) return;
    failed = true;
    logger.error({ err: error }, 'the file processing thread failed; it ends once its DuckDB queries stop');
    void stop().finally(() => process.exit(1));
  };
  process.on('uncaughtException', fail);
  process.on('unhandledRejection', fail);

  port.on('message', (message: ToFileWorker) => {
    switch (message.type) {
      case 'process':
        return handle(message.id, message.file, message.objectSize, message.queueMs);
      case 'build':
        return build(message);
      case 'tables-done': {
        const call = tableCalls.get(message.id);
        tableCalls.delete(message.id);
        if (message.error === undefined) call?.resolve();
        else call?.reject(receivedError(message.error));
        return;
      }
      case 'stop':
        void stop().then(() => port.close());
        return;
    }
  });
}
