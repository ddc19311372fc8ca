import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@leonidas/db/local';
import {
  buildServer,
  type ServerProcess,
  startServerProcess,
  waitForHealthy,
} from '@leonidas/server/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';

/** The example runs as its own process against the built server in embedded mode, as a user would run both. */
const dataDir = mkdtempSync(join(tmpdir(), 'leonidas-example-'));
let server: ServerProcess | undefined;
let url = '';

beforeAll(async () => {
  buildServer();
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  server = startServerProcess({
    PORT: String(port),
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    OFFLINE_TOKEN_DELAY_MS: '1',
  });
  await waitForHealthy(url, server);
});

afterAll(async () => {
  await server?.stop();
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
  expect(first).toContain('**visits.csv** has **3 rows**');
  expect(first).toContain('its table is `visits`');
  expect(first).toContain('| revenue | number | 0 | 3 | 9,800.25 | 35,000.5 |');
  // A second run signs in to the same account instead of registering again.
  expect(run()).toContain('**visits.csv** has **3 rows**');
});
