export {
  type Availability,
  createDocumentClient,
  DatabaseUnavailableError,
  type DynamoConnection,
  isDatabaseUnavailable,
  isEndpointUnreachable,
  newAvailability,
  setAvailable,
} from './client.js';
export { createDb, type Db } from './db.js';
export {
  claimDeletion,
  type DeletionKind,
  extendDeletionLease,
  finishDeletion,
  listAbandonedDeletions,
} from './deletions.js';
export { FILE_SOURCES, FILE_STATUSES, MESSAGE_ROLES, MESSAGE_STATUSES } from './entities.js';
export { failedConditionIndexes, isConditionFailure, isTransactionConditionFailure } from './errors.js';
export * from './files.js';
export { pingTable } from './health.js';
export { newId } from './ids.js';
export * from './messages.js';
export type { KeyPage, StartKey } from './pagination.js';
export * from './projects.js';
export type * from './records.js';
export * from './refresh-tokens.js';
export * from './sessions.js';
export * from './shapes.js';
export { type GlobalIndexName, tableDefinition } from './table.js';
export * from './tree.js';
export { ensureUsage, getUsage } from './usage.js';
export * from './users.js';
