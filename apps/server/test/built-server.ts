import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';

/**
 * The production build of the server as its own process, the way `pnpm start` runs it. Shared by this package's
 * process tests, the web app's browser tests and the example service's test (`@leonidas/server/testing`).
 */
const serverDir = join(import.meta.dirname, '..');
const running = new Set<ServerProcess>();

export function buildServer(): void {
  execFileSync(process.execPath, ['build.mjs'], { cwd: serverDir, stdio: 'inherit' });
}

export interface ServerProcess {
  child: ChildProcess;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  output(): string;
  /** SIGTERM, then waits for the graceful exit (which also stops its DynamoDB Local and object store). */
  stop(): Promise<number | null>;
}

/** `nodeArgs` go to node itself, before the script (e.g. `--cpu-prof`, which NODE_OPTIONS does not take). */
export function startServerProcess(env: Record<string, string>, nodeArgs: string[] = []): ServerProcess {
  const child = spawn(process.execPath, [...nodeArgs, 'dist/main.js'], {
    cwd: serverDir,
    env: {
      ...process.env,
      NODE_ENV: 'production',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const server: ServerProcess = {
    child,
    exited,
    output: () => output,
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
  running.add(server);
  void exited.then(() => running.delete(server));
  return server;
}

export async function waitForHealthy(url: string, server: ServerProcess, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void server.exited.then(() => {
    exited = true;
  });
  while (Date.now() < deadline && !exited) {
    if (
      await fetch(`${url}/healthz`).then(
        (response) => response.ok,
        () => false,
      )
    )
      return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`the server did not become healthy:\n${server.output()}`);
}

/** Stops whatever a test left running (SIGTERM, so embedded stand-ins stop too). */
export async function stopAllServers(): Promise<void> {
  await Promise.all([...running].map((server) => server.stop()));
}
