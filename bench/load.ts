/**
 * The load run: N simulated users, each a sequential script through the SDK over HTTP, run concurrently against
 * the built server in embedded mode (its own data folder, a free port, the offline analyst), then a check that
 * nothing they were told was stored is missing or unfinished. `pnpm load [--users N] [--seconds S]` (or
 * LOAD_USERS / LOAD_SECONDS); exits non-zero on any unexpected error or anything lost.
 */
import { parseArgs } from 'node:util';
import { formatReport, runLoad } from './load/run.js';
import { startLoadServer } from './load/server.js';

const { values } = parseArgs({
  options: {
    users: { type: 'string', default: process.env.LOAD_USERS ?? '200' },
    seconds: { type: 'string', default: process.env.LOAD_SECONDS ?? '60' },
    ramp: { type: 'string', default: process.env.LOAD_RAMP_SECONDS ?? '5' },
    think: { type: 'string', default: process.env.LOAD_THINK_MS ?? '0' },
  },
});

const positive = (name: string, value: string | undefined, allowZero = false) => {
  const number = Number(value);
  if (!Number.isFinite(number) || number < 0 || (!allowZero && number === 0))
    throw new Error(`--${name} must be a ${allowZero ? 'non-negative' : 'positive'} number, got ${value}`);
  return number;
};

async function main() {
  const users = Math.floor(positive('users', values.users));
  const seconds = positive('seconds', values.seconds);
  const server = await startLoadServer();
  try {
    console.log(`${users} users for ${seconds} s against ${server.url} (server pid ${server.pid})`);
    const report = await runLoad({
      url: server.url,
      serverPid: server.pid,
      users,
      seconds,
      rampSeconds: Math.min(positive('ramp', values.ramp, true), seconds / 2),
      thinkMs: positive('think', values.think, true),
      onProgress: (line) => console.log(line),
    });
    console.log(`\n${formatReport(report)}`);
    const logged = server.loggedErrors();
    if (logged.length > 0) {
      console.log(
        `\nThe server logged ${logged.length} errors; the first:\n${logged.slice(0, 5).join('\n')}`,
      );
    }
    if (report.unexpectedErrors > 0 || report.lost > 0) process.exitCode = 1;
  } finally {
    await server.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
