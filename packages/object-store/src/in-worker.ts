import type { Worker } from 'node:worker_threads';
import type { ObjectStore, ObjectStoreOptions } from './server.js';
import { settledWithin } from './within.js';

/** The options of a store in a worker thread: what can cross to the thread (its clock is the thread's own). */
export type WorkerStoreOptions = Omit<ObjectStoreOptions, 'now'>;

/** From this side to the thread (`store-worker.ts`). */
export type StoreWorkerRequest = { type: 'start'; options: WorkerStoreOptions } | { type: 'stop' };
/** From the thread. */
export type StoreWorkerReply =
  | { type: 'listening'; endpoint: string; port: number }
  | { type: 'failed'; message: string }
  | { type: 'stopped' };

export interface ObjectStoreInWorker extends ObjectStore {
  /** Resolves when the thread has ended, by `stop` or not, with what ended it. */
  exited: Promise<Error>;
}

/**
 * The store on an event loop of its own, in a worker thread running `store-worker.ts` (`worker`, just made):
 * its uploads, downloads and signature checks then neither wait for the server's requests nor hold them up.
 * Under issue 16's mixed load, on the server's loop a presigned upload took 1.1-1.8 s at the median; here 35 ms.
 */
export function startObjectStoreInWorker(
  options: WorkerStoreOptions,
  worker: Worker,
): Promise<ObjectStoreInWorker> {
  let failure: Error | undefined;
  worker.once('error', (error) => {
    failure = error;
  });
  const exited = new Promise<Error>((resolve) => {
    worker.once('exit', (code) =>
      resolve(failure ?? new Error(`The object store's thread ended (exit code ${code})`)),
    );
  });
  return new Promise<ObjectStoreInWorker>((resolve, reject) => {
    const fail = (error: Error) => {
      clearTimeout(timer);
      void worker.terminate();
      reject(error);
    };
    const timer = setTimeout(
      () => fail(new Error(`The object store's thread did not start within ${START_TIMEOUT_MS / 1000} s`)),
      START_TIMEOUT_MS,
    );
    const onReply = (reply: StoreWorkerReply) => {
      if (reply.type === 'failed') fail(new Error(reply.message));
      else if (reply.type === 'listening') {
        clearTimeout(timer);
        worker.off('message', onReply);
        let stopped: Promise<void> | undefined;
        resolve({
          endpoint: reply.endpoint,
          port: reply.port,
          exited,
          stop: () => {
            stopped ??= stop(worker, exited);
            return stopped;
          },
        });
      }
    };
    worker.on('message', onReply);
    // A thread that ends before it listens (it failed to load, or threw) says why here.
    void exited.then((reason) => {
      clearTimeout(timer);
      reject(reason);
    });
    try {
      send(worker, { type: 'start', options });
    } catch (error) {
      // Options that cannot cross to the thread (a function passed where the type does not show it).
      fail(error as Error);
    }
  });
}

/** How long a thread may take to load the store and listen. */
const START_TIMEOUT_MS = 30_000;
/** How long a stopping store may take to finish the requests it was handling before its thread is ended. */
const STOP_TIMEOUT_MS = 10_000;

const send = (worker: Worker, request: StoreWorkerRequest) => worker.postMessage(request);

/**
 * Asks the thread to stop the store, which closes its connections and waits for the requests it was handling
 * (an object being written is finished), then ends the thread.
 */
async function stop(worker: Worker, exited: Promise<Error>): Promise<void> {
  let onReply: ((reply: StoreWorkerReply) => void) | undefined;
  const stopped = new Promise<void>((resolve) => {
    onReply = (reply) => {
      if (reply.type === 'stopped') resolve();
    };
    worker.on('message', onReply);
  });
  send(worker, { type: 'stop' });
  // A thread already gone has nothing to stop.
  await settledWithin(Promise.race([stopped, exited]), STOP_TIMEOUT_MS);
  if (onReply) worker.off('message', onReply);
  await worker.terminate();
}
