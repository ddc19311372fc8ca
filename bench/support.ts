import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

/** Starts the production build of the server as its own process, as `pnpm start` does. */
export function spawnServer(env: Record<string, string>): ChildProcess {
  return spawn(
    process.execPath,
    [
      ...(process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
      join(import.meta.dirname, '../apps/server/dist/main.js'),
    ],
    {
      env: { ...process.env, NODE_ENV: 'production', ...env },
      stdio: 'ignore',
    },
  );
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
