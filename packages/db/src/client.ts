import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export interface DynamoConnection {
  region: string;
  /** Unset for AWS itself; set for DynamoDB Local or another compatible endpoint. */
  endpoint?: string | undefined;
  /** Static credentials (DynamoDB Local accepts any); unset to use the AWS default credential chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string } | undefined;
  /**
   * For a database that can be down for a while (embedded mode restarting its DynamoDB Local): while this says
   * false, calls fail at once with `DatabaseUnavailableError` rather than go to an endpoint nobody should
   * answer on.
   */
  available?: (() => boolean) | undefined;
  /**
   * Additions to the client for this endpoint's own ways: DynamoDB Local on disk makes a transaction wait for
   * its COMMIT (`local/commits.ts`). Embedded-only code stays out of what the cloud deployment calls.
   */
  configureClient?: ((client: DynamoDBClient) => void) | undefined;
}

/** The database cannot be reached right now; trying again later may work. */
export class DatabaseUnavailableError extends Error {
  constructor(message = 'The database is not reachable.') {
    super(message);
    this.name = 'DatabaseUnavailableError';
  }
}

/** Network failures an AWS SDK call meets when its endpoint is down or unreachable. */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
]);

/**
 * Whether an AWS SDK call failed because its endpoint could not be reached (refused, reset, timed out, or
 * answering 503), not because of the request: for this package's database and the API's object store alike.
 */
export function isEndpointUnreachable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const code: unknown = Reflect.get(error, 'code');
  const name: unknown = Reflect.get(error, 'name');
  const metadata: unknown = Reflect.get(error, '$metadata');
  const status =
    typeof metadata === 'object' && metadata !== null ? Reflect.get(metadata, 'httpStatusCode') : undefined;
  return (
    (typeof code === 'string' && UNREACHABLE_CODES.has(code)) ||
    name === 'TimeoutError' ||
    name === 'ServiceUnavailable' ||
    status === 503
  );
}

/** Whether a failed call failed because the database could not be reached (not because of the request). */
export function isDatabaseUnavailable(error: unknown): boolean {
  return error instanceof DatabaseUnavailableError || isEndpointUnreachable(error);
}

export function createDocumentClient(connection: DynamoConnection): DynamoDBDocumentClient {
  const client = new DynamoDBClient({
    region: connection.region,
    ...(connection.endpoint ? { endpoint: connection.endpoint } : {}),
    ...(connection.credentials ? { credentials: connection.credentials } : {}),
    maxAttempts: 3,
    // A database that stops answering fails calls in bounded time instead of holding them.
    requestHandler: { connectionTimeout: 3_000, requestTimeout: 30_000 },
  });
  const { available } = connection;
  if (available) {
    client.middlewareStack.add(
      (next) => async (args) => {
        if (!available()) throw new DatabaseUnavailableError();
        return next(args);
      },
      { step: 'initialize', name: 'leonidasDatabaseAvailable' },
    );
  }
  connection.configureClient?.(client);
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  });
}
