import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { createDocumentClient } from '../client.js';
import { createDb } from '../db.js';
import { createProject, getProject } from '../projects.js';
import { ensureTable } from './create-table.js';
import {
  generateLocalCredentials,
  JavaMissingError,
  JVM_OPTIONS,
  LOCAL_CREDENTIALS,
  LOCAL_REGION,
  startDynamoDbLocal,
} from './dynamodb-local.js';
import { isLoopbackAddress, listeningSockets, processTree } from './sockets.js';

/** The command line of the JVM listening on `port` (a child of this process), as the kernel has it. */
function jvmCommandLine(port: number): string[] {
  const pid = listeningSockets(processTree(process.pid))?.find((socket) => socket.port === port)?.pid;
  if (!pid) throw new Error('no JVM found on the port');
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
}

describe('DynamoDB Local launcher', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'leonidas-ddb-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('keeps data on disk across a restart and creates the table only once', async () => {
    const key = { userId: 'u1', projectId: 'p1' };
    const first = await startDynamoDbLocal({ dbPath: dataDir });
    try {
      const connection = { region: LOCAL_REGION, endpoint: first.endpoint, credentials: LOCAL_CREDENTIALS };
      expect(await ensureTable(connection, 'leonidas')).toBe('created');
      expect(await ensureTable(connection, 'leonidas')).toBe('existed');
      const db = createDb(createDocumentClient(connection), 'leonidas');
      await createProject(db, { ...key, name: 'kept', description: '', maxProjects: 1 });
    } finally {
      await first.stop();
    }

    const second = await startDynamoDbLocal({ dbPath: dataDir });
    try {
      const connection = { region: LOCAL_REGION, endpoint: second.endpoint, credentials: LOCAL_CREDENTIALS };
      expect(await ensureTable(connection, 'leonidas')).toBe('existed');
      const db = createDb(createDocumentClient(connection), 'leonidas');
      expect((await getProject(db, key))?.name).toBe('kept');
    } finally {
      await second.stop();
    }
    // Stopped means nothing answers on that port any more.
    const stopped = { region: LOCAL_REGION, endpoint: second.endpoint, credentials: LOCAL_CREDENTIALS };
    await expect(ensureTable(stopped, 'leonidas')).rejects.toThrow();
  }, 120_000); // two JVM starts, which take far longer on a loaded machine

  it('answers a transaction only once it is committed, so a JVM killed right after its answer keeps it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'leonidas-ddb-commit-'));
    const key = { userId: 'u1', projectId: 'p1' };
    const first = await startDynamoDbLocal({ dbPath: dir });
    try {
      await ensureTable(first.connection, 'leonidas');
      const documentClient = createDocumentClient(first.connection);
      const sent: string[] = [];
      documentClient.middlewareStack.add(
        (next, context) => (args) => {
          sent.push(String(context.commandName));
          return next(args);
        },
        { step: 'finalizeRequest' },
      );
      // A project is created in a transaction (the project and the user's quota), after setting up the quota.
      await createProject(createDb(documentClient, 'leonidas'), {
        ...key,
        name: 'kept',
        description: '',
        maxProjects: 1,
      });
      // DynamoDB Local queued the COMMIT when it answered; the read that came after it has run, so it is done.
      expect(sent.slice(-2)).toEqual(['TransactWriteItemsCommand', 'GetItemCommand']);
      const jvm = listeningSockets(processTree(process.pid))?.find(
        (socket) => socket.port === first.port,
      )?.pid;
      if (!jvm) throw new Error('no JVM found on the port');
      process.kill(jvm, 'SIGKILL');
      await first.exited;
      documentClient.destroy();
    } finally {
      await first.stop();
    }
    const second = await startDynamoDbLocal({ dbPath: dir });
    try {
      const db = createDb(createDocumentClient(second.connection), 'leonidas');
      expect((await getProject(db, key))?.name).toBe('kept');
    } finally {
      await second.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('shares the reads that wait for COMMITs, each sent after the answers it covers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'leonidas-ddb-commits-'));
    const local = await startDynamoDbLocal({ dbPath: dir });
    try {
      await ensureTable(local.connection, 'leonidas');
      const documentClient = createDocumentClient(local.connection);
      // When each transaction was answered and each waiting read sent and back, in one sequence.
      let clock = 0;
      const answered = new Map<string, number>();
      const reads: { sent: number; back: number }[] = [];
      documentClient.middlewareStack.add(
        (next, context) => async (args) => {
          const read = context.commandName === 'GetItemCommand' ? { sent: ++clock, back: 0 } : undefined;
          const output = await next(args);
          if (read) reads.push({ ...read, back: ++clock });
          const id = /"#?(t-\d+)"/.exec(JSON.stringify(args.input))?.[1];
          if (context.commandName === 'TransactWriteItemsCommand' && id) answered.set(id, ++clock);
          return output;
        },
        { step: 'finalizeRequest' },
      );
      const ids = Array.from({ length: 30 }, (_, i) => `t-${i}`);
      const resolved = new Map<string, number>();
      await Promise.all(
        ids.map(async (id) => {
          await documentClient.send(
            new TransactWriteCommand({
              TransactItems: [{ Put: { TableName: 'leonidas', Item: { pk: id, sk: id } } }],
            }),
          );
          resolved.set(id, ++clock);
        }),
      );
      for (const id of ids) {
        const answer = answered.get(id) ?? Number.NaN;
        const done = resolved.get(id) ?? Number.NaN;
        // A read sent after this transaction's answer, back before its call returned.
        expect(
          reads.some((read) => read.sent > answer && read.back < done),
          id,
        ).toBe(true);
      }
      expect(reads.length).toBeGreaterThan(0);
      expect(reads.length).toBeLessThan(ids.length / 2);
      documentClient.destroy();
    } finally {
      await local.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('keeps its data private: other credentials see an empty database, no web page may call it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'leonidas-ddb-private-'));
    const owner = generateLocalCredentials();
    const local = await startDynamoDbLocal({ dbPath: dir, credentials: owner });
    try {
      expect(await ensureTable(local.connection, 'leonidas')).toBe('created');
      const tablesAs = async (credentials: { accessKeyId: string; secretAccessKey: string }) => {
        const client = createDocumentClient({ ...local.connection, credentials });
        try {
          return (await client.send(new ListTablesCommand({}))).TableNames;
        } finally {
          client.destroy();
        }
      };
      expect(await tablesAs(owner)).toEqual(['leonidas']);
      // Any other key, even with the owner's secret: DynamoDB Local checks no signature, the key id is the lock.
      expect(await tablesAs({ accessKeyId: 'intruder', secretAccessKey: owner.secretAccessKey })).toEqual([]);
      expect(await tablesAs(LOCAL_CREDENTIALS)).toEqual([]);

      // A web page's preflight gets no allowance, whatever its origin.
      for (const origin of ['https://evil.example', 'http://localhost:3000', 'null']) {
        const preflight = await fetch(local.endpoint, {
          method: 'OPTIONS',
          headers: {
            origin,
            'access-control-request-method': 'POST',
            'access-control-request-headers': 'authorization,content-type,x-amz-target',
          },
        });
        expect(preflight.headers.get('access-control-allow-origin'), origin).toBeNull();
      }
    } finally {
      await local.stop();
    }

    // An install from before, written with -sharedDb, keeps its data under its new private key.
    const [ownFile] = readdirSync(dir).filter((name) => name.startsWith(owner.accessKeyId));
    renameSync(join(dir, ownFile ?? ''), join(dir, 'shared-local-instance.db'));
    const upgraded = generateLocalCredentials();
    const restarted = await startDynamoDbLocal({ dbPath: dir, credentials: upgraded });
    try {
      expect(await ensureTable(restarted.connection, 'leonidas')).toBe('existed');
      expect(existsSync(join(dir, 'shared-local-instance.db'))).toBe(false);
    } finally {
      await restarted.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('listens on loopback only, on a port its own JVM chose and reported', async () => {
    const local = await startDynamoDbLocal();
    try {
      expect(local.loopbackOnly).toBe(true);
      const sockets = listeningSockets(processTree(process.pid)) ?? [];
      const listening = sockets.filter((socket) => socket.port === local.port);
      expect(listening).toHaveLength(1);
      expect(isLoopbackAddress(listening[0]?.address ?? '')).toBe(true);
      expect(listening[0]?.pid).not.toBe(process.pid);
      // The JVM options go before the launcher's source file: after it they would be the program's arguments.
      const command = jvmCommandLine(local.port);
      const launcher = command.findIndex((argument) => argument.endsWith('.java'));
      expect(launcher).toBeGreaterThan(0);
      for (const option of JVM_OPTIONS) expect(command.slice(0, launcher)).toContain(option);
    } finally {
      await local.stop();
    }
    // Stopped means exited: nothing is left listening.
    await local.exited;
  }, 60_000);

  it('without a JDK compiler, runs the plain jar and still serves only the secret key', async () => {
    const owner = generateLocalCredentials();
    const local = await startDynamoDbLocal({ credentials: owner, withoutLoopbackLauncher: true });
    try {
      expect(local.loopbackOnly).toBe(false);
      const command = jvmCommandLine(local.port);
      for (const option of JVM_OPTIONS) expect(command.slice(0, command.indexOf('-jar'))).toContain(option);
      expect(await ensureTable(local.connection, 'leonidas')).toBe('created');
      const other = createDocumentClient({ ...local.connection, credentials: LOCAL_CREDENTIALS });
      try {
        expect((await other.send(new ListTablesCommand({}))).TableNames).toEqual([]);
      } finally {
        other.destroy();
      }
    } finally {
      await local.stop();
    }
  }, 60_000);

  it('says plainly that Java is missing', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      await expect(startDynamoDbLocal()).rejects.toBeInstanceOf(JavaMissingError);
      await expect(startDynamoDbLocal()).rejects.toThrow(/Java 17 or newer/);
    } finally {
      process.env.PATH = path;
    }
  });
});
