/**
 * The worker thread a store runs in (`startObjectStoreInWorker`): started by message, stopped by message. The
 * server's build bundles it as a file of its own (`dist/store-worker.js`).
 */
import { parentPort } from 'node:worker_threads';
import type { StoreWorkerReply, StoreWorkerRequest } from './in-worker.js';
import { type ObjectStore, startObjectStore } from './server.js';

const port = parentPort;
if (!port) throw new Error('store-worker.ts runs in a worker thread');
const reply = (message: StoreWorkerReply) => port.postMessage(message);

let store: ObjectStore | undefined;
port.on('message', (request: StoreWorkerRequest) => {
  if (request.type === 'start') {
    startObjectStore(request.options).then(
      (started) => {
        store = started;
        reply({ type: 'listening', endpoint: started.endpoint, port: started.port });
      },
      (error: unknown) => reply({ type: 'failed', message: (error as Error)?.message ?? String(error) }),
    );
  } else {
    // Stopped once: a second request (or one after a failed start) only answers.
    const stopping = store;
    store = undefined;
    void (stopping?.stop() ?? Promise.resolve())
      .catch(() => undefined)
      .finally(() => reply({ type: 'stopped' }));
  }
});
