/**
 * 100 chat sessions streaming at once from a stand-in model that emits a token every 20 ms: the latency the
 * whole stack adds from model token to client event (p50/p99), and server RSS per active stream, vs the same
 * tokens relayed by a bare Node SSE handler, measured in the same run; and, to show the floor of the stack itself,
 * by a tRPC subscription with nothing behind it (`trpc-relay-server.ts`). Each server first carries a few warm-up
 * streams, so what is measured is the cost of streams, not of code loaded and compiled on first use.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLeonidasClient } from '@leonidas/client';
import { freePort } from '@leonidas/db/local';
import { EventSource } from 'eventsource';
import { reportGoal, rssBytes, startBenchStack } from '/work/main/bench/support.js';
import { nowMs, startTokenModel } from '/work/main/bench/token-model.js';

const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 100);
const TOKENS = Number(process.env.BENCH_TOKENS ?? 100);
const INTERVAL_MS = 20;
/** Streams each server carries before it is measured (the same for both). */
const WARMUP = Number(process.env.BENCH_WARMUP ?? 5);

/** The fields of a chat event this bench reads. */
type ChatEvent = { type: string; runId?: string; text?: string; error?: string };

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
};
const latencies = (text: string, receivedAt: number) =>
  text
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .map((stamp) => {
      DIAG.push([Number(stamp), receivedAt - Number(stamp)]);
      return receivedAt - Number(stamp);
    });
const DIAG: [number, number][] = [];
function diag(label: string) {
  const start = Math.min(...DIAG.map(([at]) => at));
  const buckets = new Map<number, number[]>();
  for (const [at, latency] of DIAG) {
    const b = Math.floor((at - start) / 250);
    buckets.set(b, [...(buckets.get(b) ?? []), latency]);
  }
  console.log(label, [...buckets].sort((a, b) => a[0] - b[0]).map(([b, l]) => `${b * 250}ms:n=${l.length},p50=${percentile(l, 50).toFixed(0)},max=${Math.max(...l).toFixed(0)}`).join(' | '));
  DIAG.length = 0;
}

/** Samples a process's RSS until stopped; returns the peak. */
function sampleRss(pid: number) {
  let peak = rssBytes(pid);
  const timer = setInterval(() => {
    peak = Math.max(peak, rssBytes(pid));
  }, 20);
  return () => {
    clearInterval(timer);
    return peak;
  };
}

async function leonidas(modelUrl: string, workDir: string) {
  const stack = await startBenchStack(workDir, {
    LLM_PROVIDER: 'openai',
    OPENAI_BASE_URL: modelUrl,
    OPENAI_API_KEY: 'bench',
    CHAT_SEND_PER_MINUTE: '100000',
  });
  const { url, pid } = stack;
  try {
    const { accessToken } = await createLeonidasClient({ url }).auth.register.mutate({
      email: `bench-${Date.now()}@example.com`,
      password: 'benchmark-password',
    });
    const client = createLeonidasClient({ url, token: accessToken });
    const project = await client.project.create.mutate({ name: 'Bench' });
    const openSessions = (count: number) =>
      Promise.all(
        Array.from({ length: count }, () => client.session.create.mutate({ projectId: project.id })),
      );
    /**
     * One reply per session, all at once; the latency of every token received. Read with the same SSE client
     * and one JSON.parse per event, as the baseline's are, so what differs is what the servers add: the SDK's
     * own decoding (superjson, observables) would be this process's work, not the server's.
     */
    const stream = async (sessions: { id: string }[]) => {
      const samples: number[] = [];
      await Promise.all(
        sessions.map(
          (session) =>
            // Subscribed before sending, as the web app is, so every token is measured live, not replayed.
            new Promise<void>((resolve, reject) => {
              let runId: string | undefined;
              const input = encodeURIComponent(JSON.stringify({ json: { sessionId: session.id } }));
              const source = new EventSource(`${url}/trpc/chat.onEvents?input=${input}`, {
                fetch: (target, init) =>
                  fetch(target, {
                    ...init,
                    headers: { ...init.headers, authorization: `Bearer ${accessToken}` },
                  }),
              });
              const fail = (error: Error) => {
                source.close();
                reject(error);
              };
              source.addEventListener('connected', () => {
                client.chat.send
                  .mutate({ sessionId: session.id, content: 'stream', clientMessageId: session.id })
                  .then((sent) => {
                    runId = sent.runId;
                  }, fail);
              });
              source.onmessage = (message) => {
                const receivedAt = nowMs();
                const event = (JSON.parse(String(message.data)) as { json: ChatEvent }).json;
                if (event.type === 'message.delta') samples.push(...latencies(event.text ?? '', receivedAt));
                if (
                  event.runId === runId &&
                  (event.type === 'message.completed' || event.type === 'run.failed')
                ) {
                  source.close();
                  if (event.type === 'run.failed') reject(new Error(event.error));
                  else resolve();
                }
              };
              source.addEventListener('serialized-error', (message) => fail(new Error(String(message.data))));
            }),
        ),
      );
      return samples;
    };

    await stream(await openSessions(WARMUP));
    const sessions = await openSessions(SESSIONS);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const idle = rssBytes(pid);
    const stopSampling = sampleRss(pid);
    DIAG.length = 0;
    const samples = await stream(sessions);
    diag('leonidas');
    return { samples, idle, peak: stopSampling() };
  } finally {
    await stack.stop();
  }
}

/** How a relay without sessions is reached: its script, its stream's path, and how its events read. */
interface Relay {
  script: string;
  path: string;
  /** The token stamps in one message event's data. */
  stamps(data: string): string;
  /** The event that ends a stream. */
  doneEvent: string;
}

const BARE_RELAY: Relay = {
  script: 'relay-server.ts',
  path: '/stream',
  stamps: (data) => data,
  doneEvent: 'done',
};
const TRPC_RELAY: Relay = {
  script: 'trpc-relay-server.ts',
  path: '/trpc/relay',
  stamps: (data) => (JSON.parse(data) as { json: ChatEvent }).json.text ?? '',
  doneEvent: 'return',
};

async function relay(modelUrl: string, server: Relay) {
  const port = await freePort();
  const child: ChildProcess = fork(join('/work/main/bench', server.script), [modelUrl, String(port)], {
    execArgv: ['--import', 'tsx'],
    stdio: 'ignore',
  });
  /** `count` streams at once; the latency of every token received. */
  const stream = async (count: number) => {
    const samples: number[] = [];
    await Promise.all(
      Array.from(
        { length: count },
        () =>
          new Promise<void>((resolve, reject) => {
            const source = new EventSource(`http://127.0.0.1:${port}${server.path}`);
            source.onmessage = (event) =>
              samples.push(...latencies(server.stamps(String(event.data)), nowMs()));
            source.addEventListener(server.doneEvent, () => {
              source.close();
              resolve();
            });
            source.onerror = () => {
              source.close();
              reject(new Error(`${server.script} stream failed`));
            };
          }),
      ),
    );
    return samples;
  };
  try {
    await new Promise((resolve) => child.once('message', resolve));
    await stream(WARMUP);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const idle = rssBytes(child.pid ?? 0);
    const stopSampling = sampleRss(child.pid ?? 0);
    DIAG.length = 0;
    const samples = await stream(SESSIONS);
    diag(server.script);
    return { samples, idle, peak: stopSampling() };
  } finally {
    child.kill('SIGTERM');
  }
}

async function main() {
  const workDir = mkdtempSync(join(tmpdir(), 'leonidas-bench-chat-'));
  const model = await startTokenModel(TOKENS, INTERVAL_MS);
  try {
    const base = await relay(model.baseUrl, BARE_RELAY);
    const framework = await relay(model.baseUrl, TRPC_RELAY);
    const full = await leonidas(model.baseUrl, workDir);
    const perStreamKb = (r: { idle: number; peak: number }) => (r.peak - r.idle) / SESSIONS / 1024;
    const row = (name: string, r: { samples: number[]; idle: number; peak: number }) => ({
      server: name,
      tokens: r.samples.length,
      'p50 ms': percentile(r.samples, 50).toFixed(2),
      'p99 ms': percentile(r.samples, 99).toFixed(2),
      'RSS/stream KB': perStreamKb(r).toFixed(0),
    });
    console.log(
      `\n${SESSIONS} concurrent sessions, ${TOKENS} tokens each, one every ${INTERVAL_MS} ms (after ${WARMUP} warm-up streams each)`,
    );
    console.table([
      row('bare Node SSE relay (baseline)', base),
      row('tRPC SSE relay, no storage (floor)', framework),
      row('Leonidas chat.onEvents', full),
    ]);
    const ratios = (r: typeof base) => ({
      p50: percentile(r.samples, 50) / percentile(base.samples, 50),
      p99: percentile(r.samples, 99) / percentile(base.samples, 99),
      memory: perStreamKb(r) / Math.max(1 / 1024, perStreamKb(base)),
    });
    const floor = ratios(framework);
    const { p50: p50Ratio, p99: p99Ratio, memory: memoryRatio } = ratios(full);
    console.log(`added latency p50 ratio: ${p50Ratio.toFixed(2)}, p99 ratio: ${p99Ratio.toFixed(2)}`);
    // What tRPC's SSE (the transport the design names) costs before any of Leonidas' own work.
    console.log(
      `tRPC relay alone / bare relay: p50 ${floor.p50.toFixed(2)}, p99 ${floor.p99.toFixed(2)}, memory ${floor.memory.toFixed(2)}`,
    );
    reportGoal(`chat relay added p99 / bare relay p99 at ${SESSIONS} streams`, p99Ratio, '<=', 2);
    reportGoal('chat relay memory per stream / bare relay', memoryRatio, '<=', 1.25);
  } finally {
    await model.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
