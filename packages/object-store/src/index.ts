export { generateCredentials } from './credentials.js';
export { type ObjectStore, type ObjectStoreOptions, startObjectStore } from './server.js';
