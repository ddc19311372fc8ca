import { expect, inject, it } from 'vitest';
import { formatReport, runLoad } from '../load/run.js';

const USERS = Number(process.env.LOAD_TEST_USERS ?? 30);
const SECONDS = Number(process.env.LOAD_TEST_SECONDS ?? 20);

/**
 * The load run, CI-sized: the same users and scripts as `pnpm load`, asserting only correctness (no unexpected
 * error, nothing lost or left unfinished), never a latency or a rate, so a slow machine cannot fail it.
 */
it(`${USERS} users for ${SECONDS} s: no unexpected error, nothing lost`, async () => {
  const report = await runLoad({
    url: inject('loadServerUrl'),
    serverPid: inject('loadServerPid'),
    users: USERS,
    seconds: SECONDS,
    rampSeconds: 2,
    // Every user goes through every step at least once, however slow the machine is today.
    minScripts: 1,
  });
  console.log(formatReport(report));
  expect(report.scriptsCompleted).toBeGreaterThanOrEqual(USERS);
  expect(report.verification.messagesSent).toBeGreaterThan(0);
  expect(report.verification.filesConfirmed).toBeGreaterThan(0);
  expect(report.errors.filter((error) => !error.intended)).toEqual([]);
  expect(report.verification.problems).toEqual([]);
  expect(report.lost).toBe(0);
});
