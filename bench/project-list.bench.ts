/**
 * Authenticated `project.list` through the whole stack (production build: Express, helmet, CORS, the request log,
 * tRPC, superjson, zod, dynamodb-toolbox) vs a plain Express handler doing the same JWT check and Query, and vs
 * the same work as a bare tRPC query (the floor of the stack), all against one DynamoDB Local, driven by
 * autocannon in the same run. Prints each and their ratios.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLeonidasClient } from '@leonidas/client';
import { freePort } from '@leonidas/db/local';
import autocannon from 'autocannon';
import { cpuMs } from './load/process-stats.js';
import { reportGoal, startBenchStack } from './support.js';

const DURATION_SECONDS = Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const PROJECTS = 20;
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP ?? 5);

const children: ChildProcess[] = [];
const stopChildren = () => {
  for (const child of children) child.kill('SIGTERM');
};

interface Target {
  title: string;
  url: string;
  pid: number;
}

const drive = (target: Target, token: string, duration: number) =>
  autocannon({
    url: target.url,
    connections: CONNECTIONS,
    duration,
    headers: { authorization: `Bearer ${token}` },
  });

/**
 * Drives one server; also reads the CPU time its process used per request, which (unlike req/s) does not
 * depend on what else the machine is doing: the figure that says where a gap comes from.
 */
async function load(target: Target, token: string) {
  const cpuBefore = cpuMs(target.pid);
  const result = await drive(target, token, DURATION_SECONDS);
  const cpuPerRequestUs = ((cpuMs(target.pid) - cpuBefore) * 1000) / Math.max(1, result.requests.total);
  const failures = result.errors + result.non2xx;
  if (failures > 0) throw new Error(`${target.title}: ${failures} failed requests`);
  return {
    title: target.title,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    cpuPerRequestUs,
  };
}

async function main() {
  const secret = randomBytes(32).toString('base64url');
  const workDir = mkdtempSync(join(tmpdir(), 'leonidas-bench-list-'));
  // Request logging stays at its production default: it is part of the full stack's cost.
  const stack = await startBenchStack(workDir, {
    JWT_SECRET: secret,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
  });
  const serverUrl = stack.url;
  const tableName = 'bench';
  try {
    const { accessToken } = await createLeonidasClient({ url: serverUrl }).auth.register.mutate({
      email: `bench-${Date.now()}@example.com`,
      password: 'benchmark-password',
    });
    const client = createLeonidasClient({ url: serverUrl, token: accessToken });
    for (let i = 0; i < PROJECTS; i++) await client.project.create.mutate({ name: `Project ${i}` });

    const baselinePort = await freePort();
    const baseline = fork(
      join(import.meta.dirname, 'baseline-server.ts'),
      [JSON.stringify(stack.connection), tableName, secret, String(baselinePort)],
      { execArgv: ['--import', 'tsx'], stdio: 'ignore' },
    );
    children.push(baseline);
    await new Promise((resolve) => baseline.once('message', resolve));
    const baselineUrl = `http://127.0.0.1:${baselinePort}/projects`;
    const baselineCheck = (await (
      await fetch(baselineUrl, { headers: { authorization: `Bearer ${accessToken}` } })
    ).json()) as { items: unknown[] };
    if (baselineCheck.items.length !== PROJECTS)
      throw new Error('baseline does not return the same projects');
    const floorCheck = (await (
      await fetch(`http://127.0.0.1:${baselinePort}/trpc/projects`, {
        headers: { authorization: `Bearer ${accessToken}` },
      })
    ).json()) as { result: { data: { json: { items: unknown[] } } } };
    if (floorCheck.result.data.json.items.length !== PROJECTS)
      throw new Error('the tRPC baseline does not return the same projects');

    const input = encodeURIComponent(JSON.stringify({ json: { limit: 20 } }));
    const targets: Target[] = [
      { title: 'plain Express (baseline)', url: baselineUrl, pid: baseline.pid ?? 0 },
      {
        title: 'tRPC + superjson, same work (floor)',
        url: `http://127.0.0.1:${baselinePort}/trpc/projects`,
        pid: baseline.pid ?? 0,
      },
      {
        title: 'Leonidas project.list',
        url: `${serverUrl}/trpc/project.list?input=${input}`,
        pid: stack.pid,
      },
    ];
    // Every server is warmed up before any is measured: DynamoDB Local's JVM, which all of them query, gets
    // faster as it compiles, and warming each just before its own run favoured whichever ran last.
    for (const target of targets) await drive(target, accessToken, WARMUP_SECONDS);
    const results = [];
    for (const target of targets) results.push(await load(target, accessToken));

    console.log(
      `\nproject.list, ${PROJECTS} projects a page, ${CONNECTIONS} connections, ${DURATION_SECONDS} s each`,
    );
    console.table(
      results.map((r) => ({
        server: r.title,
        'req/s': Math.round(r.rps),
        'p50 ms': r.p50,
        'p99 ms': r.p99,
        'server CPU µs/request': Math.round(r.cpuPerRequestUs),
      })),
    );
    type Result = (typeof results)[0];
    const [base, floor, full] = results as [Result, Result, Result];
    console.log(`p50 latency ratio: ${(full.p50 / base.p50).toFixed(2)}`);
    console.log(`server CPU per request ratio: ${(full.cpuPerRequestUs / base.cpuPerRequestUs).toFixed(2)}`);
    // What tRPC's adapter and superjson cost before any of Leonidas' own work, and what Leonidas adds to them.
    console.log(
      `tRPC alone / plain Express: throughput ${(floor.rps / base.rps).toFixed(2)}, p99 ${(floor.p99 / base.p99).toFixed(2)}, CPU per request ${(floor.cpuPerRequestUs / base.cpuPerRequestUs).toFixed(2)}`,
    );
    console.log(
      `Leonidas / tRPC alone: throughput ${(full.rps / floor.rps).toFixed(2)}, CPU per request ${(full.cpuPerRequestUs / floor.cpuPerRequestUs).toFixed(2)}`,
    );
    reportGoal('project.list throughput / plain Express', full.rps / base.rps, '>=', 0.8);
    reportGoal('project.list p99 / plain Express p99', full.p99 / base.p99, '<=', 1.25);
  } finally {
    stopChildren();
    await stack.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}

process.on('SIGINT', () => {
  stopChildren();
  process.exit(130);
});
main().catch((error: unknown) => {
  console.error(error);
  stopChildren();
  process.exitCode = 1;
});
