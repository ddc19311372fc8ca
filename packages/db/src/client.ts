import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { waitForCommits } from './local/commits.js';

/**
 * Where and how to reach the database. Plain data (a structured clone of it reaches the same database the same
 * way), so a worker thread can be handed the server's connection and build its own client.
 */
export interface DynamoConnection {
  region: string;
  /** Unset for AWS itself; set for DynamoDB Local or another compatible endpoint. */
  endpoint?: string | undefined;
  /** Static credentials (DynamoDB Local accepts any); unset to use the AWS default credential chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string } | undefined;
  /**
   * For a database that can be down for a while (embedded mode restarting its DynamoDB Local): while it says
   * down, calls fail at once with `DatabaseUnavailableError` rather than go to an endpoint nobody should
   * answer on. Shared memory, so that every thread's client sees the same state.
   */
  availability?: Availability | undefined;
  /** DynamoDB Local with its data on disk: a transaction waits for its COMMIT (`local/commits.ts`). */
  waitsForCommits?: boolean | undefined;
}

/** Whether the database is up, in shared memory: set by whoever watches it, read by every thread's client. */
export type Availability = Int32Array;

export function newAvailability(up = true): Availability {
  const flag = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
  setAvailable(flag, up);
  return flag;
}

export function setAvailable(availability: Availability, up: boolean): void {
  Atomics.store(availability, 0, up ? 1 : 0);
}

export function isAvailable(availability: Availability): boolean {
  return Atomics.load(availability, 0) === 1;
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
  const { availability } = connection;
  if (availability) {
    client.middlewareStack.add(
      (next) => async (args) => {
        if (!isAvailable(availability)) throw new DatabaseUnavailableError();
        return next(args);
      },
      { step: 'initialize', name: 'leonidasDatabaseAvailable' },
    );
  }
  if (connection.waitsForCommits) waitForCommits(client);
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  });
}
