import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, openSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ensureTable, freePort, startDynamoDbLocal } from '@leonidas/db/local';
import { generateCredentials, startObjectStore } from '@leonidas/object-store';

/** Starts the production build of the server as its own process, as `pnpm start` does. */
export function spawnServer(env: Record<string, string>): ChildProcess {
  const nodeArgs = process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  // BENCH_SERVER_LOG=<file>: the server's log lines go there, from `info` on (e.g. each file's stage times).
  const log = process.env.BENCH_SERVER_LOG ? openSync(process.env.BENCH_SERVER_LOG, 'a') : 'ignore';
  return spawn(process.execPath, [...nodeArgs, join(import.meta.dirname, '../apps/server/dist/main.js')], {
    env: {
      ...process.env,
      NODE_ENV: 'production',
      ...env,
      ...(log === 'ignore' ? {} : { LOG_LEVEL: 'info' }),
    },
    stdio: ['ignore', log, log],
  });
}

export async function waitForHealthy(url: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} did not come up`);
}

export const rssBytes = (pid: number) =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;

/**
 * DynamoDB Local and the object store, and the built server against them as its own process, configured as a
 * cloud deployment is: one key pair and region for both services, as a task role would give. `connection` is
 * how a baseline reaches the same table. `stop` ends all three.
 */
export async function startBenchStack(workDir: string, env: Record<string, string>) {
  const region = 'us-east-1';
  const credentials = generateCredentials();
  const dynamo = await startDynamoDbLocal({ credentials });
  const connection = { ...dynamo.connection, region };
  const store = await startObjectStore({
    directory: join(workDir, 's3'),
    bucket: 'bench',
    credentials,
    region,
    corsOrigins: [],
  });
  await ensureTable(connection, 'bench');
  const port = await freePort();
  const server = spawnServer({
    PORT: String(port),
    DATA_DIR: join(workDir, 'data'),
    DYNAMODB_ENDPOINT: dynamo.endpoint,
    TABLE_NAME: 'bench',
    AWS_REGION: region,
    S3_BUCKET: 'bench',
    S3_ENDPOINT: store.endpoint,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    JWT_SECRET: randomBytes(32).toString('base64url'),
    AUTH_RATE_LIMIT_PER_MINUTE: '100000',
    LOG_LEVEL: 'warn',
    ...env,
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (server.exitCode === null) {
      server.kill('SIGTERM');
      await new Promise((resolve) => server.once('exit', resolve));
    }
    await store.stop();
    await dynamo.stop();
  };
  try {
    await waitForHealthy(`${url}/healthz`);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, pid: server.pid ?? 0, connection, stop };
}

/**
 * Writes a CSV of at least `targetBytes` (about 60 bytes a row: id, city, amount, day, active, note), the same
 * rows every time. Returns its size.
 */
export async function generateCsv(path: string, targetBytes: number): Promise<number> {
  const out = createWriteStream(path);
  const cities = ['Paris', 'Zürich', 'Lima', 'Tōkyō', 'Nairobi', 'Oslo'];
  out.write('id,city,amount,day,active,note\n');
  let bytes = 0;
  let id = 0;
  while (bytes < targetBytes) {
    const lines: string[] = [];
    for (let i = 0; i < 10_000; i++) {
      id++;
      const day = `2024-${String((id % 12) + 1).padStart(2, '0')}-${String((id % 28) + 1).padStart(2, '0')}`;
      lines.push(
        `${id},${cities[id % cities.length]},${((id * 7919) % 100_000) / 100},${day},${id % 3 === 0},"note ${id % 97}, ok"`,
      );
    }
    const chunk = `${lines.join('\n')}\n`;
    bytes += Buffer.byteLength(chunk);
    if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  await new Promise<void>((resolve) => out.end(() => resolve()));
  return statSync(path).size;
}

/**
 * One line per goal of issue 16, the same shape in every bench so `pnpm bench` can be read (and grepped) as a
 * whole: `GOAL <what>: <value> (goal <op> <target>) met|NOT met`.
 */
export function reportGoal(
  what: string,
  value: number,
  op: '>=' | '<=',
  target: number,
  digits = 2,
): boolean {
  const met = op === '>=' ? value >= target : value <= target;
  console.log(`GOAL ${what}: ${value.toFixed(digits)} (goal ${op} ${target}) ${met ? 'met' : 'NOT met'}`);
  return met;
}
