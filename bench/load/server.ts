import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@leonidas/db/local';
import { type ServerProcess, startServerProcess, waitForHealthy } from '@leonidas/server/testing';

/**
 * The server's settings for a load run; everything else is the embedded default. Limits are set so that only
 * intended 429s occur:
 * - every simulated user signs up from 127.0.0.1, so the per-address auth limit (60 a minute, meant for one
 *   person or one attacker) would refuse users that are in truth distinct people: raised out of the way;
 * - the per-user chat limit stays a real limit, above what one sequential script sends in a minute; a 429 there
 *   is the limit doing its job (the user waits as told and resends), counted apart;
 * - the quotas stay at their defaults: one user's script holds at most one pending upload and creates a few
 *   projects and sessions a minute, far below each.
 * Access tokens live 60 s (the shortest the server allows is 30), so that during the run every user's SDK renews
 * its token and resumes its live stream, as services running for hours do.
 */
export const LOAD_SERVER_ENV = {
  LLM_PROVIDER: 'offline',
  OFFLINE_TOKEN_DELAY_MS: '2',
  AUTH_RATE_LIMIT_PER_MINUTE: '1000000',
  CHAT_SEND_PER_MINUTE: '60',
  ACCESS_TOKEN_TTL_SECONDS: '60',
  LOG_LEVEL: 'warn',
} as const;

export interface LoadServer {
  url: string;
  pid: number;
  process: ServerProcess;
  /** Error lines the server logged (pino level 50 and up), for the report when something went wrong. */
  loggedErrors(): string[];
  /** SIGTERM and wait for the exit (which stops its DynamoDB Local and object store), then the data goes. */
  stop(): Promise<void>;
}

/** The built server (apps/server/dist) in embedded mode, with its data in a fresh temporary folder. */
export async function startLoadServer(env: Record<string, string> = {}): Promise<LoadServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'leonidas-load-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const server = startServerProcess(
    { ...LOAD_SERVER_ENV, PORT: String(port), DATA_DIR: dataDir, ...env },
    process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean),
  );
  const stop = async () => {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await waitForHealthy(url, server);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url,
    pid: server.child.pid ?? 0,
    process: server,
    loggedErrors: () =>
      server
        .output()
        .split('\n')
        .filter((line) => /"level":(50|60)/.test(line)),
    stop,
  };
}
