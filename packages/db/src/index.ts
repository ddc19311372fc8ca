export { createDocumentClient, type DynamoConnection } from './client.js';
export { createDb, type Db } from './db.js';
export { isConditionFailure, isTransactionConditionFailure } from './errors.js';
export { newId } from './ids.js';
export type { KeyPage, StartKey } from './pagination.js';
export * from './projects.js';
export * from './refresh-tokens.js';
export { type GlobalIndexName, keyAttributesOf, tableDefinition } from './table.js';
export * from './users.js';
