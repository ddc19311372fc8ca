import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';

/** The example runs as its own process against the built server in embedded mode, as a user would run both. */
const serverDir = join(import.meta.dirname, '../../../apps/server');
const dataDir = mkdtempSync(join(tmpdir(), 'leonidas-example-'));
let server: ChildProcess | undefined;
let url = '';

beforeAll(async () => {
  execFileSync(process.execPath, ['build.mjs'], { cwd: serverDir, stdio: 'inherit' });
  const port = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
  url = `http://127.0.0.1:${port}`;
  server = spawn(process.execPath, ['dist/main.js'], {
    cwd: serverDir,
    env: {
      ...process.env,
      NODE_ENV: 'production',
      PORT: String(port),
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      OFFLINE_TOKEN_DELAY_MS: '1',
    },
    stdio: 'ignore',
  });
  for (let i = 0; i < 300; i++) {
    if (
      await fetch(`${url}/healthz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the server did not start');
});

afterAll(async () => {
  if (server && server.exitCode === null) {
    server.kill('SIGTERM');
    await new Promise((resolve) => server?.once('exit', resolve));
  }
  rmSync(dataDir, { recursive: true, force: true });
});

it('signs in, uploads, asks DS Bro and prints the streamed reply', () => {
  const run = () =>
    execFileSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: join(import.meta.dirname, '..'),
      env: {
        ...process.env,
        LEONIDAS_URL: url,
        LEONIDAS_EMAIL: 'example@example.com',
        LEONIDAS_PASSWORD: 'example password 1',
      },
      encoding: 'utf8',
    });
  const first = run();
  expect(first).toContain('Uploaded visits.csv: 3 rows, 3 columns.');
  expect(first).toContain('[describe_file]');
  expect(first).toContain('**visits.csv** has **3 rows** and **3 columns**');
  expect(first).toContain('| revenue | number | 0 | 3 | 9,800.25 | 35,000.5 |');
  // A second run signs in to the same account instead of registering again.
  expect(run()).toContain('**visits.csv** has **3 rows**');
});
