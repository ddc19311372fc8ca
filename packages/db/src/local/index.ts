export { ensureTable } from './create-table.js';
export {
  type DynamoDbLocal,
  type DynamoDbLocalOptions,
  freePort,
  generateLocalCredentials,
  JavaMissingError,
  LOCAL_CREDENTIALS,
  LOCAL_REGION,
  type LocalCredentials,
  startDynamoDbLocal,
} from './dynamodb-local.js';
export { isLoopbackAddress, type ListeningSocket, listeningSockets, processTree } from './sockets.js';
