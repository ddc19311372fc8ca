export { generateCredentials } from './credentials.js';
export {
  type ObjectStoreInWorker,
  startObjectStoreInWorker,
  type WorkerStoreOptions,
} from './in-worker.js';
export { type ObjectStore, type ObjectStoreOptions, startObjectStore } from './server.js';
