import type { Worker } from 'node:worker_threads';
import type { ObjectStore, ObjectStoreOptions } from './server.js';

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
  const send = (request: StoreWorkerRequest) => worker.postMessage(request);
  return new Promise<ObjectStoreInWorker>((resolve, reject) => {
    const onReply = (reply: StoreWorkerReply) => {
      if (reply.type === 'failed') {
        void worker.terminate();
        reject(new Error(reply.message));
      } else if (reply.type === 'listening') {
        worker.off('message', onReply);
        resolve({ endpoint: reply.endpoint, port: reply.port, exited, stop: () => stop(worker, exited) });
      }
    };
    worker.on('message', onReply);
    // A thread that ends before it listens (it failed to load, or threw) says why here.
    void exited.then((reason) => reject(reason));
    send({ type: 'start', options });
  });
}

/** Asks the thread to close the store (its connections with it), then ends the thread. */
async function stop(worker: Worker, exited: Promise<Error>): Promise<void> {
  const stopped = new Promise<void>((resolve) => {
    const onReply = (reply: StoreWorkerReply) => {
      if (reply.type !== 'stopped') return;
      worker.off('message', onReply);
      resolve();
    };
    worker.on('message', onReply);
  });
  worker.postMessage({ type: 'stop' } satisfies StoreWorkerRequest);
  // A thread already gone has nothing to stop.
  await Promise.race([stopped, exited]);
  await worker.terminate();
}
