import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { type ErrorCount, Metrics, type OperationSummary } from './metrics.js';
import { type ProcessSample, sampleServer } from './process-stats.js';
import { emptyVerification, SimulatedUser, type Verification } from './user.js';

export interface LoadOptions {
  url: string;
  users: number;
  seconds: number;
  /** Sign-ups start spread over this time, so that 200 of them (argon2 each) do not land in one instant. */
  rampSeconds: number;
  /** The server process, to sample its memory and CPU (and those of the processes it started). */
  serverPid: number;
  thinkMs?: number;
  /** Whole scripts each user finishes even past the deadline (see `UserOptions.minScripts`). */
  minScripts?: number;
  replyTimeoutMs?: number;
  processingTimeoutMs?: number;
  /** How long the check after the run waits for replies and files still running. */
  verifyTimeoutMs?: number;
  onProgress?: (line: string) => void;
}

export interface ServerSample {
  server: ProcessSample;
  children: ProcessSample;
}

export interface LoadReport {
  users: number;
  seconds: number;
  /** How long signing every user up took (before the timed run). */
  signUpSeconds: number;
  /** From the timed run's start to the last user's end (the steps in flight at the deadline included). */
  loadSeconds: number;
  verifySeconds: number;
  scriptsStarted: number;
  scriptsCompleted: number;
  tokenRenewals: number;
  operations: OperationSummary[];
  /** Calls in the timed run (sign-up excluded). */
  totalOps: number;
  errors: ErrorCount[];
  unexpectedErrors: number;
  intendedErrors: number;
  verification: Verification;
  /** Messages and files lost or left unfinished, and deleted things still there: must be 0. */
  lost: number;
  before: ServerSample;
  after: ServerSample;
  peakServerRssBytes: number;
  peakChildrenRssBytes: number;
  /** CPU used during the load phase, as a share of one core. */
  cpu: { loadGenerator: number; server: number; children: number };
  /** The load generator's event-loop delay: if high, it, not the server, was the bottleneck. */
  loadGeneratorLoopDelayMs: { p50: number; p99: number };
  /** The machine's 1-minute load average before and at the end of the load: other work skews the figures. */
  loadAverage: { before: number; after: number };
  /** When each file was confirmed, in ms from the timed run's start, in order (see `floor.ts`). */
  fileConfirmsMs: number[];
}

const loadAverage = () => Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);

/** The only 429 the run intends: a user sending faster than `CHAT_SEND_PER_MINUTE`, who then waits and resends. */
const intended = (operation: string, code: string) =>
  operation === 'chat.send' && code === 'TOO_MANY_REQUESTS';

const VERIFY_CONCURRENCY = 8;

export async function runLoad(options: LoadOptions): Promise<LoadReport> {
  const signUpMetrics = new Metrics(intended);
  const metrics = new Metrics(intended);
  const verifyMetrics = new Metrics(intended);
  const progress = options.onProgress ?? (() => {});
  const users = Array.from(
    { length: options.users },
    (_, index) =>
      new SimulatedUser(
        index,
        {
          url: options.url,
          runTag: randomBytes(4).toString('hex'),
          replyTimeoutMs: options.replyTimeoutMs ?? 120_000,
          processingTimeoutMs: options.processingTimeoutMs ?? 60_000,
          thinkMs: options.thinkMs ?? 0,
          minScripts: options.minScripts ?? 0,
        },
        signUpMetrics,
      ),
  );

  // Sign-up first, all users at once (spread over the ramp): a burst of argon2 hashes and transactions that is
  // timed like every call, but kept out of the timed run, which measures signed-in users at work.
  progress(`  signing up ${options.users} users`);
  const signUpStarted = Date.now();
  const rampMs = options.rampSeconds * 1000;
  await Promise.all(
    users.map(async (user) => {
      await new Promise((resolve) => setTimeout(resolve, (rampMs * user.index) / options.users));
      await user.signUp();
    }),
  );
  const signUpSeconds = (Date.now() - signUpStarted) / 1000;

  const before = sampleServer(options.serverPid);
  const loadBefore = loadAverage();
  let loadAfter = loadBefore;
  let peakServer = before.server.rssBytes;
  let peakChildren = before.children.rssBytes;
  const sampler = setInterval(() => {
    const now = sampleServer(options.serverPid);
    peakServer = Math.max(peakServer, now.server.rssBytes);
    peakChildren = Math.max(peakChildren, now.children.rssBytes);
  }, 1000);
  const startedAt = Date.now();
  const startedAtMs = performance.now();
  const ticker = setInterval(() => {
    const done = users.reduce((sum, user) => sum + user.scriptsCompleted, 0);
    progress(`  ${Math.round((Date.now() - startedAt) / 1000)} s: ${done} scripts completed`);
  }, 10_000);
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const cpuBefore = process.cpuUsage();
  let cpuAfter = cpuBefore;
  let atEnd = before;
  let loadSeconds = 0;
  try {
    const endsAt = startedAt + options.seconds * 1000;
    await Promise.all(
      users.map((user) => {
        user.metrics = metrics;
        return user.work(endsAt);
      }),
    );
    loadSeconds = (Date.now() - startedAt) / 1000;
    cpuAfter = process.cpuUsage(cpuBefore);
    atEnd = sampleServer(options.serverPid);
    loadAfter = loadAverage();
  } finally {
    clearInterval(ticker);
    loopDelay.disable();
  }

  progress(`  load done in ${loadSeconds.toFixed(1)} s; checking what was stored`);
  const verifyStarted = Date.now();
  const deadline = verifyStarted + (options.verifyTimeoutMs ?? 120_000);
  const results: Verification[] = [];
  const queue = [...users];
  await Promise.all(
    Array.from({ length: VERIFY_CONCURRENCY }, async () => {
      for (let user = queue.shift(); user; user = queue.shift()) {
        user.metrics = verifyMetrics;
        results.push(await user.verify(deadline));
      }
    }),
  );
  const verifySeconds = (Date.now() - verifyStarted) / 1000;
  clearInterval(sampler);
  // Memory after the run, once the server has had a moment to finish what the run left it.
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const after = sampleServer(options.serverPid);

  const verification = sumVerifications(results);
  // Sign-up calls are rated over the sign-up's own time, the rest over the timed run's.
  const operations = [...signUpMetrics.summary(signUpSeconds), ...metrics.summary(loadSeconds)];
  const errors = [
    ...signUpMetrics.errorCounts(),
    ...metrics.errorCounts(),
    ...verifyMetrics.errorCounts().map((entry) => ({ ...entry, operation: `verify ${entry.operation}` })),
  ];
  const share = (ms: number) => ms / (loadSeconds * 1000);
  return {
    users: options.users,
    seconds: options.seconds,
    signUpSeconds,
    loadSeconds,
    verifySeconds,
    scriptsStarted: users.reduce((sum, user) => sum + user.scriptsStarted, 0),
    scriptsCompleted: users.reduce((sum, user) => sum + user.scriptsCompleted, 0),
    tokenRenewals: users.reduce((sum, user) => sum + user.renewals, 0),
    operations,
    totalOps: metrics.summary(loadSeconds).reduce((sum, op) => sum + op.count, 0),
    errors,
    unexpectedErrors: errors.filter((e) => !e.intended).reduce((sum, e) => sum + e.count, 0),
    intendedErrors: errors.filter((e) => e.intended).reduce((sum, e) => sum + e.count, 0),
    verification,
    lost:
      verification.messagesLost +
      verification.repliesUnfinished +
      verification.filesFailed +
      verification.filesStuck +
      verification.sessionsStuck +
      verification.deletedStillVisible +
      verification.incomplete,
    before,
    after,
    peakServerRssBytes: peakServer,
    peakChildrenRssBytes: peakChildren,
    cpu: {
      loadGenerator: share((cpuAfter.user + cpuAfter.system) / 1000),
      server: share(atEnd.server.cpuMs - before.server.cpuMs),
      children: share(atEnd.children.cpuMs - before.children.cpuMs),
    },
    loadGeneratorLoopDelayMs: { p50: loopDelay.percentile(50) / 1e6, p99: loopDelay.percentile(99) / 1e6 },
    loadAverage: { before: loadBefore, after: loadAfter },
    fileConfirmsMs: users
      .flatMap((user) => user.confirmedAt.map((at) => at - startedAtMs))
      .sort((a, b) => a - b),
  };
}

function sumVerifications(results: readonly Verification[]): Verification {
  const total = emptyVerification();
  for (const result of results) {
    for (const key of Object.keys(total) as (keyof Verification)[]) {
      if (key === 'problems') total.problems.push(...result.problems);
      else total[key] += result[key];
    }
  }
  total.problems = total.problems.slice(0, 20);
  return total;
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
const ms = (value: number) => (Number.isNaN(value) ? '-' : value < 10 ? value.toFixed(1) : value.toFixed(0));
const percent = (share: number) => `${(share * 100).toFixed(0)}%`;

/** The report as Markdown (tables paste into the README as they are). */
export function formatReport(report: LoadReport): string {
  const lines: string[] = [];
  const v = report.verification;
  lines.push(
    `${report.users} users signed up in ${report.signUpSeconds.toFixed(1)} s, then ${report.seconds} s of work (load phase ${report.loadSeconds.toFixed(1)} s, check ${report.verifySeconds.toFixed(1)} s): ${report.scriptsCompleted} scripts completed of ${report.scriptsStarted} started, ${report.totalOps} calls, ${(report.totalOps / report.loadSeconds).toFixed(0)} calls/s; ${report.tokenRenewals} token renewals`,
    '',
    '| operation | calls | ops/s | p50 ms | p99 ms | max ms | errors |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...report.operations.map(
      (op) =>
        `| ${op.name} | ${op.count} | ${op.opsPerSecond.toFixed(1)} | ${ms(op.p50Ms)} | ${ms(op.p99Ms)} | ${ms(op.maxMs)} | ${op.errors} |`,
    ),
    '',
    `Errors: ${report.unexpectedErrors} unexpected, ${report.intendedErrors} intended (429 on chat.send, waited and resent)`,
  );
  if (report.errors.length > 0) {
    lines.push(
      '',
      '| operation | code | count | intended | example |',
      '|---|---|---:|---|---|',
      ...report.errors.map(
        (e) =>
          `| ${e.operation} | ${e.code} | ${e.count} | ${e.intended ? 'yes' : 'no'} | ${e.example.replace(/\|/g, '/')} |`,
      ),
    );
  }
  lines.push(
    '',
    `Check: ${v.messagesSent} messages accepted, ${v.messagesLost} missing, ${v.repliesUnfinished} without a complete reply; ` +
      `${v.filesConfirmed} files confirmed, ${v.filesCompleted} COMPLETED, ${v.filesFailed} FAILED, ${v.filesStuck} stuck; ` +
      `${v.sessionsStuck} sessions stuck, ${v.deletedStillVisible} deleted still visible, ${v.incomplete} checks incomplete: lost = ${report.lost}`,
    ...v.problems.map((p) => `  - ${p}`),
    '',
    `Server RSS: ${mb(report.before.server.rssBytes)} before, ${mb(report.peakServerRssBytes)} peak, ${mb(report.after.server.rssBytes)} after` +
      ` (DynamoDB Local JVM: ${mb(report.before.children.rssBytes)} before, ${mb(report.peakChildrenRssBytes)} peak, ${mb(report.after.children.rssBytes)} after)`,
    `CPU during the load (share of one core, 2 cores in all): server ${percent(report.cpu.server)}, DynamoDB Local ${percent(report.cpu.children)}, load generator ${percent(report.cpu.loadGenerator)} ` +
      `(its event-loop delay p50 ${ms(report.loadGeneratorLoopDelayMs.p50)} ms, p99 ${ms(report.loadGeneratorLoopDelayMs.p99)} ms)`,
    `Machine load average (1 min): ${report.loadAverage.before.toFixed(2)} at the start, ${report.loadAverage.after.toFixed(2)} at the end of the load`,
  );
  return lines.join('\n');
}
