import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
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

/**
 * The SDK as another team gets it: built, packed, installed with npm in a folder outside this workspace (so
 * nothing of the monorepo can be found), this example's code typechecked there with `strict` and
 * `skipLibCheck: false`, then run against the server. A wrong input must be a type error, not `any`.
 */
it('works from the packed package, installed with npm outside the workspace and typechecked strictly', () => {
  const root = join(import.meta.dirname, '..', '..', '..');
  const outside = mkdtempSync(join(tmpdir(), 'leonidas-sdk-user-'));
  try {
    execFileSync('pnpm', ['--filter', '@leonidas/client', 'run', 'build'], { cwd: root, stdio: 'inherit' });
    execFileSync('pnpm', ['pack', '--pack-destination', outside], {
      cwd: join(root, 'packages', 'client'),
      stdio: 'inherit',
    });
    const tarball = readdirSync(outside).find((name) => name.endsWith('.tgz')) ?? '';
    writeFileSync(
      join(outside, 'package.json'),
      JSON.stringify({ name: 'sdk-user', private: true, type: 'module' }),
    );
    execFileSync(
      'npm',
      // --prefer-offline: what npm has cached is used without asking the registry again (CI runs this test on
      // two Nodes; the second finds everything in the cache the first filled).
      [
        'install',
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        `./${tarball}`,
        'typescript@5.9.3',
        '@types/node@^20.19.0',
      ],
      { cwd: outside, stdio: 'inherit' },
    );
    mkdirSync(join(outside, 'src'));
    cpSync(join(import.meta.dirname, '..', 'src'), join(outside, 'src'), { recursive: true });
    const compilerOptions = {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      strict: true,
      skipLibCheck: false,
      types: ['node'],
      outDir: 'dist',
      rootDir: 'src',
    };
    writeFileSync(join(outside, 'tsconfig.json'), JSON.stringify({ compilerOptions, include: ['src'] }));
    const tsc = (project: string) =>
      spawnSync(
        process.execPath,
        [join(outside, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', project],
        {
          cwd: outside,
          encoding: 'utf8',
        },
      );
    const built = tsc('tsconfig.json');
    expect(built.stdout + built.stderr).toBe('');
    expect(built.status).toBe(0);

    writeFileSync(
      join(outside, 'wrong.ts'),
      [
        "import { createLeonidasClient } from '@leonidas/client';",
        "const client = createLeonidasClient({ url: 'http://localhost:3000' });",
        "await client.project.create.mutate({ nmae: 'typo' });",
        'const count: number = (await client.project.list.query()).items[0]?.name ?? 0;',
        'console.log(count);',
      ].join('\n'),
    );
    writeFileSync(
      join(outside, 'tsconfig.wrong.json'),
      JSON.stringify({
        compilerOptions: { ...compilerOptions, noEmit: true, rootDir: '.' },
        files: ['wrong.ts'],
      }),
    );
    const wrong = tsc('tsconfig.wrong.json');
    expect(wrong.status).not.toBe(0);
    expect(wrong.stdout).toMatch(/wrong\.ts\(3,.*'nmae' does not exist/);
    expect(wrong.stdout).toMatch(/wrong\.ts\(4,.*not assignable to type 'number'/);
    // Nothing but the user's own mistakes: the package itself checks clean.
    expect(wrong.stdout).not.toContain('node_modules');

    const output = execFileSync(process.execPath, ['dist/main.js'], {
      cwd: outside,
      env: {
        ...process.env,
        LEONIDAS_URL: url,
        LEONIDAS_EMAIL: 'packed@example.com',
        LEONIDAS_PASSWORD: 'packed password 1',
      },
      encoding: 'utf8',
    });
    expect(output).toContain('Uploaded visits.csv: 3 rows, 3 columns.');
    expect(output).toContain('**visits.csv** has **3 rows**');
  } finally {
    rmSync(outside, { recursive: true, force: true });
  }
}, 600_000); // builds the SDK (and the API's declarations), installs with npm and compiles twice: minutes on a busy machine
