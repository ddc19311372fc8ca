export { ensureTable } from './create-table.js';
export {
  type DynamoDbLocal,
  type DynamoDbLocalOptions,
  freePort,
  JavaMissingError,
  LOCAL_CREDENTIALS,
  LOCAL_REGION,
  startDynamoDbLocal,
} from './dynamodb-local.js';
