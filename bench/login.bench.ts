/**
 * `auth.login` through the whole stack vs raw argon2 `verify`, in the same run on the same machine, and what
 * 50 logins in flight do to everyone else's latency.
 *
 * - Baseline: a separate Node process doing nothing but `argon2.verify` of a hash the server itself stored
 *   (so the hash parameters are the server's), 50 at once, on a libuv threadpool of the same size as the
 *   server's. Verifications/s.
 * - Leonidas: 50 concurrent `auth.login` calls over HTTP, each in a loop, 50 different accounts. Logins/s.
 *   The two alternate for a few rounds, so drift in the shared machine's load weighs on both alike.
 * - Latency: a probe process sends authenticated `project.list` at a steady rate, once alone and once while the
 *   50 logins run; p99 with logins / p99 alone. A request that needs the server's event loop and a database
 *   call must not queue behind password hashing. Beside it, the web app's page (`GET /`, a file read, so
 *   libuv's threadpool, where argon2 runs too), and how busy the server's main thread (its event loop) was.
 *
 * `BENCH_DURATION` (seconds a phase, default 6), `BENCH_ROUNDS` (default 2), `UV_THREADPOOL_SIZE` (for both the
 * server and the baseline, default libuv's 4).
 */
import { fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLeonidasClient } from '@leonidas/client';
import { createDb, createDocumentClient, getUserByEmail } from '@leonidas/db';
import argon2 from 'argon2';
import { reportGoal, startBenchStack } from './support.js';

const DURATION_MS = Number(process.env.BENCH_DURATION ?? 6) * 1000;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const CONCURRENCY = 50;
/** Completions in the first moments (JIT, connection pools, the threadpool filling up) are not counted. */
const WARM_UP_MS = 1000;
const PROBE_PER_SECOND = Number(process.env.BENCH_PROBE_RATE ?? 10);
/** libuv's default; whatever it is, the server and the baseline get the same. */
const THREADPOOL_SIZE = process.env.UV_THREADPOOL_SIZE ?? '4';
const PASSWORD = 'benchmark-password';
/**
 * While 50 logins run, every core is busy (argon2, the event loop serving the logins, DynamoDB Local), so a
 * probe's CPU work shares its core with about one other busy thread and can take up to twice as long: "unaffected"
 * is at most that. Waiting behind the logins' work (in libuv's queue, or on an event loop they saturate) would
 * show up as many times more.
 */
const P99_RATIO_GOAL = 2;

/**
 * Runs `task` from `concurrency` loops until `durationMs` has passed; counts the completions after the warm-up.
 * Rate = completions in the window / window length, so work still in flight at the end does not distort it.
 */
async function closedLoop(
  concurrency: number,
  durationMs: number,
  task: (worker: number) => Promise<void>,
): Promise<{ perSecond: number; completed: number }> {
  const start = performance.now();
  const countFrom = start + WARM_UP_MS;
  const end = countFrom + durationMs;
  let completed = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      while (performance.now() < end) {
        await task(worker);
        const now = performance.now();
        if (now >= countFrom && now < end) completed++;
      }
    }),
  );
  return { perSecond: completed / (durationMs / 1000), completed };
}

interface RawVerifyJob {
  hash: string;
  password: string;
  concurrency: number;
  durationMs: number;
}

interface ProbeJob {
  targets: { url: string; headers: Record<string, string> }[];
  perSecond: number;
  durationMs: number;
}

/** Per target, in the job's order. */
interface ProbeResult {
  latenciesMs: number[][];
  failures: number;
  /** What the first failed request got, to say in the error. */
  firstFailure?: string;
}

/** Child: raw argon2 verify, nothing else on this process's threadpool or event loop. */
async function rawVerify(job: RawVerifyJob): Promise<{ perSecond: number }> {
  return closedLoop(job.concurrency, job.durationMs, async () => {
    if (!(await argon2.verify(job.hash, job.password))) throw new Error('the baseline hash does not verify');
  });
}

/**
 * Child: one request to each target every 1/perSecond s whether or not earlier ones have answered (open loop),
 * so a stalled server shows up as latency rather than as fewer requests. Latency runs from the moment a request
 * is sent.
 */
async function probe(job: ProbeJob): Promise<ProbeResult> {
  const latenciesMs = job.targets.map((): number[] => []);
  let failures = 0;
  let firstFailure: string | undefined;
  const fail = (url: string, what: string) => {
    failures++;
    firstFailure ??= `GET ${new URL(url).pathname} ${what}`;
  };
  const intervalMs = 1000 / job.perSecond / job.targets.length;
  const start = performance.now();
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i * intervalMs < job.durationMs; i++) {
    const wait = start + i * intervalMs - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const target = i % job.targets.length;
    const { url, headers } = job.targets[target] ?? { url: '', headers: {} };
    const sent = performance.now();
    inFlight.push(
      fetch(url, { headers }).then(
        async (response) => {
          await response.arrayBuffer();
          if (response.ok) latenciesMs[target]?.push(performance.now() - sent);
          else fail(url, `answered HTTP ${response.status}`);
        },
        (error: unknown) => fail(url, `failed: ${String(error)}`),
      ),
    );
  }
  await Promise.all(inFlight);
  return { latenciesMs, failures, ...(firstFailure ? { firstFailure } : {}) };
}

/** Runs this file again as a child process in `mode` and returns what it reports. */
function inChild<Job, Result>(mode: string, job: Job): Promise<Result> {
  const child = fork(import.meta.filename, [mode, JSON.stringify(job)], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, UV_THREADPOOL_SIZE: THREADPOOL_SIZE },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', (result) => resolve(result as Result));
    child.once('exit', (code) => reject(new Error(`${mode} child exited with ${code} before reporting`)));
  });
}

async function runChild(mode: string, job: string): Promise<void> {
  const result = mode === 'raw-verify' ? await rawVerify(JSON.parse(job)) : await probe(JSON.parse(job));
  process.send?.(result, () => process.exit(0));
}

/** CPU time of a process's main thread, the one running its event loop (from `/proc`, so Linux only). */
function mainThreadCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  // utime and stime, in clock ticks of 10 ms (USER_HZ is 100 on Linux).
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

const round1 = (value: number) => Number(value.toFixed(1));

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? Number.NaN;
}

async function main() {
  const workDir = mkdtempSync(join(tmpdir(), 'leonidas-bench-login-'));
  // Request logging stays at its production default: it is part of the full stack's cost.
  const stack = await startBenchStack(workDir, {
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
    UV_THREADPOOL_SIZE: THREADPOOL_SIZE,
  });
  try {
    console.log(`registering ${CONCURRENCY} accounts`);
    const client = createLeonidasClient({ url: stack.url });
    const stamp = Date.now();
    const emails = Array.from({ length: CONCURRENCY }, (_, i) => `login-${stamp}-${i}@example.com`);
    for (const email of emails) await client.auth.register.mutate({ email, password: PASSWORD });
    const { accessToken } = await client.auth.login.mutate({ email: emails[0] ?? '', password: PASSWORD });
    const authed = createLeonidasClient({ url: stack.url, token: accessToken });
    for (let i = 0; i < 20; i++) await authed.project.create.mutate({ name: `Project ${i}` });

    // The hash exactly as the server stored it: its parameters are the server's, whatever they are.
    const db = createDb(createDocumentClient(stack.connection), 'bench');
    const hash = (await getUserByEmail(db, emails[0] ?? ''))?.passwordHash;
    if (!hash) throw new Error('no stored hash for the bench account');

    const loginUrl = `${stack.url}/trpc/auth.login`;
    const login = async (worker: number) => {
      const response = await fetch(loginUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ json: { email: emails[worker], password: PASSWORD } }),
      });
      await response.arrayBuffer();
      if (!response.ok) throw new Error(`auth.login answered ${response.status}`);
    };
    /** Keeps 50 logins in flight until `stop` resolves. */
    const loginsUntil = (stop: Promise<unknown>) => {
      let stopped = false;
      void stop.then(() => {
        stopped = true;
      });
      return Promise.all(
        Array.from({ length: CONCURRENCY }, async (_, worker) => {
          while (!stopped) await login(worker);
        }),
      );
    };

    console.log('raw argon2 verify vs auth.login');
    let rawCount = 0;
    let loginCount = 0;
    const rounds: Record<string, number>[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const raw = await inChild<RawVerifyJob, { perSecond: number }>('raw-verify', {
        hash,
        password: PASSWORD,
        concurrency: CONCURRENCY,
        durationMs: DURATION_MS,
      });
      const cpuBefore = mainThreadCpuMs(stack.pid);
      const startedAt = performance.now();
      const logins = await closedLoop(CONCURRENCY, DURATION_MS, login);
      const cpuMs = mainThreadCpuMs(stack.pid) - cpuBefore;
      const wallMs = performance.now() - startedAt;
      rawCount += raw.perSecond;
      loginCount += logins.perSecond;
      rounds.push({
        round,
        'raw verify/s': round1(raw.perSecond),
        'logins/s': round1(logins.perSecond),
        // Over the whole phase, warm-up and tail included: how much of its time the event loop was running.
        'event loop busy %': round1((cpuMs / wallMs) * 100),
      });
    }

    const input = encodeURIComponent(JSON.stringify({ json: { limit: 20 } }));
    const probeJob: ProbeJob = {
      targets: [
        {
          url: `${stack.url}/trpc/project.list?input=${input}`,
          headers: { authorization: `Bearer ${accessToken}` },
        },
        { url: `${stack.url}/`, headers: { accept: 'text/html' } },
      ],
      perSecond: PROBE_PER_SECOND,
      durationMs: DURATION_MS,
    };
    console.log('probes alone and during logins');
    await inChild<ProbeJob, ProbeResult>('probe', { ...probeJob, durationMs: 1000 }); // warm-up
    const alone: number[][] = [[], []];
    const during: number[][] = [[], []];
    let probeFailures = 0;
    let firstFailure: string | undefined;
    for (let round = 1; round <= ROUNDS; round++) {
      const quiet = await inChild<ProbeJob, ProbeResult>('probe', probeJob);
      let release = () => {};
      const running = loginsUntil(new Promise<void>((resolve) => (release = resolve)));
      // The threadpool and the event loop fill up before the probe starts measuring.
      await new Promise((resolve) => setTimeout(resolve, WARM_UP_MS));
      const busy = await inChild<ProbeJob, ProbeResult>('probe', probeJob);
      release();
      await running;
      for (const [target, latencies] of quiet.latenciesMs.entries()) alone[target]?.push(...latencies);
      for (const [target, latencies] of busy.latenciesMs.entries()) during[target]?.push(...latencies);
      probeFailures += quiet.failures + busy.failures;
      firstFailure ??= quiet.firstFailure ?? busy.firstFailure;
    }
    if (probeFailures > 0) {
      // The page is the web app's: a server built without it (`pnpm run build:stack` builds both) answers 404.
      throw new Error(`probe: ${probeFailures} failed requests, the first: ${firstFailure}`);
    }
    for (const latencies of [...alone, ...during]) latencies.sort((a, b) => a - b);
    const [listAlone = [], pageAlone = []] = alone;
    const [listDuring = [], pageDuring = []] = during;

    console.log(
      `\nlogin: ${CONCURRENCY} in flight, ${ROUNDS} rounds of ${DURATION_MS / 1000} s, UV_THREADPOOL_SIZE=${THREADPOOL_SIZE}, hash ${hash.split('$').slice(1, 4).join('$')}`,
    );
    console.table(rounds);
    console.log(`probes: ${PROBE_PER_SECOND} requests/s each (ms, from send to answer)`);
    console.table(
      (
        [
          ['project.list alone', listAlone],
          ['project.list during 50 logins', listDuring],
          ['GET / (a file) alone', pageAlone],
          ['GET / (a file) during 50 logins', pageDuring],
        ] as const
      ).map(([probe, sorted]) => ({
        probe,
        requests: sorted.length,
        p50: round1(percentile(sorted, 50)),
        p99: round1(percentile(sorted, 99)),
        max: round1(percentile(sorted, 100)),
      })),
    );
    reportGoal('login throughput / raw argon2 verify', loginCount / rawCount, '>=', 0.8);
    reportGoal(
      'project.list p99 during 50 logins / p99 alone',
      percentile(listDuring, 99) / percentile(listAlone, 99),
      '<=',
      P99_RATIO_GOAL,
    );
    console.log(
      `GET / p99 during 50 logins / p99 alone: ${(percentile(pageDuring, 99) / percentile(pageAlone, 99)).toFixed(2)}`,
    );
  } finally {
    await stack.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}

const [mode, job] = process.argv.slice(2);
if (mode && job) {
  await runChild(mode, job);
} else {
  await main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
