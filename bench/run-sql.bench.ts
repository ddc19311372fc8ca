/**
 * DS Bro's run_sql through the whole stack: a chat message (`/sql ...`, the offline analyst calling the same
 * tool a model calls) to the tool's result event on the chat's open stream, on a generated ~60 MB, 1M-row CSV uploaded and confirmed
 * through the SDK. Warm (the table in the server's cache, as after confirm) and cold (the cache emptied, so the
 * Parquet table comes from storage first), against DuckDB run in this process on the same CSV and on the same
 * Parquet table, in the same run. Prints medians, their ratios, and the server's RSS.
 */
import { copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { type ChatEvent, createLeonidasClient, type LeonidasClient, uploadFile } from '@leonidas/client';
import { generateCsv, rssBytes, startBenchStack } from './support.js';

const TARGET_MB = Number(process.env.BENCH_SQL_MB ?? 60);
const REPEATS = Number(process.env.BENCH_SQL_REPEATS ?? 5);
const TABLE = 'big';
const QUERIES = {
  // Parquet answers this from its metadata: what is left is the stack's own cost per query.
  'count(*)': `SELECT count(*) AS n FROM ${TABLE}`,
  'group by': `SELECT city, count(*) AS n, round(sum(amount), 2) AS total FROM ${TABLE} GROUP BY city ORDER BY city`,
  'filter + count': `SELECT count(*) AS n FROM ${TABLE} WHERE active AND amount > 500`,
  'monthly average': `SELECT strftime(day, '%Y-%m') AS month, round(avg(amount), 2) AS average FROM ${TABLE} GROUP BY month ORDER BY month`,
};
type QueryName = keyof typeof QUERIES;

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

/** DuckDB's JSON rows write 64-bit integers as strings; run_sql gives those that fit a double as numbers. */
const comparable = (rows: unknown) =>
  JSON.stringify(rows, (_key, value: unknown) =>
    typeof value === 'string' && /^-?\d{1,15}$/.test(value) ? Number(value) : value,
  );

/**
 * A chat as the web app holds it: one live subscription, open before anything is sent, so a question's time is
 * from `chat.send` to the events, with no stream to open first.
 */
async function openChat(client: LeonidasClient, sessionId: string) {
  const events = new Map<string, ChatEvent[]>();
  const waiting = new Map<string, () => void>();
  let started: () => void = () => {};
  let failed: (error: unknown) => void = () => {};
  const ready = new Promise<void>((resolve, reject) => {
    started = resolve;
    failed = reject;
  });
  const subscription = client.chat.onEvents.subscribe(
    { sessionId },
    {
      onStarted: () => started(),
      onData: ({ data }) => {
        events.set(data.runId, [...(events.get(data.runId) ?? []), data]);
        waiting.get(data.runId)?.();
      },
      onError: (error) => failed(error),
    },
  );
  await ready;
  let n = 0;
  /** Seconds from sending `/sql` to the run_sql result, and to the finished reply; the result's rows. */
  const askSql = async (sql: string) => {
    const start = performance.now();
    const { runId } = await client.chat.send.mutate({
      sessionId,
      content: `/sql ${sql}`,
      clientMessageId: `q${n++}`,
    });
    let result = Number.NaN;
    let rows: unknown;
    for (;;) {
      const seen = events.get(runId) ?? [];
      const output = seen.find((event) => event.type === 'tool.result');
      if (output?.type === 'tool.result' && Number.isNaN(result)) {
        result = (performance.now() - start) / 1000;
        rows = (output.output as { rows?: unknown }).rows;
        if (rows === undefined) throw new Error(`run_sql failed: ${JSON.stringify(output.output)}`);
      }
      const end = seen.find((event) => event.type === 'message.completed' || event.type === 'run.failed');
      if (end?.type === 'run.failed') throw new Error(end.error);
      if (end) {
        events.delete(runId);
        return { result, reply: (performance.now() - start) / 1000, rows };
      }
      await new Promise<void>((resolve) => waiting.set(runId, resolve));
    }
  };
  return { askSql, close: () => subscription.unsubscribe() };
}

/** DuckDB in this process, reading `source` (a CSV or Parquet path) for each query, as a user would by hand. */
async function duckDb(source: string, reader: 'read_csv' | 'read_parquet') {
  const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
  const connection = await instance.connect();
  await connection.run(`CREATE VIEW ${TABLE} AS FROM ${reader}('${source}')`);
  const times: Partial<Record<QueryName, number>> = {};
  const answers: Partial<Record<QueryName, unknown>> = {};
  for (const [name, sql] of Object.entries(QUERIES) as [QueryName, string][]) {
    const samples: number[] = [];
    for (let i = 0; i < REPEATS; i++) {
      const start = performance.now();
      answers[name] = (await connection.runAndReadAll(sql)).getRowsJson();
      samples.push((performance.now() - start) / 1000);
    }
    times[name] = median(samples);
  }
  connection.closeSync();
  instance.closeSync();
  return { times, answers };
}

async function main() {
  const workDir = mkdtempSync(join(tmpdir(), 'leonidas-bench-sql-'));
  const csvPath = join(workDir, `${TABLE}.csv`);
  const size = await generateCsv(csvPath, TARGET_MB * 1024 * 1024);
  const stack = await startBenchStack(workDir, {
    MAX_UPLOAD_BYTES: String(size + 1),
    CONFIRM_WAIT_MS: '60000',
    CHAT_SEND_PER_MINUTE: '100000',
    OFFLINE_TOKEN_DELAY_MS: '0',
  });
  const { url, pid } = stack;
  const cache = join(workDir, 'data', 'cache', 'tables');
  try {
    const { accessToken } = await createLeonidasClient({ url }).auth.register.mutate({
      email: `bench-${Date.now()}@example.com`,
      password: 'benchmark-password',
    });
    const client = createLeonidasClient({ url, token: accessToken });
    const project = await client.project.create.mutate({ name: 'Bench' });
    const file = await uploadFile(client, { projectId: project.id, filename: `${TABLE}.csv`, data: csvPath });
    if (file.status !== 'COMPLETED') throw new Error(`upload ended ${file.status}: ${file.failureReason}`);
    const session = await client.session.create.mutate({ projectId: project.id });
    const chat = await openChat(client, session.id);
    // The server's own Parquet table (written at confirm), for the engine-only baseline.
    const parquetPath = join(workDir, `${TABLE}.parquet`);
    copyFileSync(join(cache, `${file.id}.parquet`), parquetPath);

    const idle = rssBytes(pid);
    let peak = idle;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssBytes(pid));
    }, 25);
    const warm: Partial<Record<QueryName, { result: number; reply: number }>> = {};
    const cold: Partial<Record<QueryName, number>> = {};
    const answers: Partial<Record<QueryName, unknown>> = {};
    for (const [name, sql] of Object.entries(QUERIES) as [QueryName, string][]) {
      const samples = [];
      for (let i = 0; i < REPEATS; i++) samples.push(await chat.askSql(sql));
      warm[name] = {
        result: median(samples.map((sample) => sample.result)),
        reply: median(samples.map((sample) => sample.reply)),
      };
      answers[name] = samples[0]?.rows;
      const colds: number[] = [];
      for (let i = 0; i < Math.min(REPEATS, 3); i++) {
        for (const entry of readdirSync(cache)) rmSync(join(cache, entry), { recursive: true, force: true });
        colds.push((await chat.askSql(sql)).result);
      }
      cold[name] = median(colds);
    }
    clearInterval(sampler);
    chat.close();
    const after = rssBytes(pid);

    const onCsv = await duckDb(csvPath, 'read_csv');
    const onParquet = await duckDb(parquetPath, 'read_parquet');
    for (const name of Object.keys(QUERIES) as QueryName[]) {
      // Same numbers as DuckDB on the CSV, or the comparison means nothing.
      const expected = comparable(onCsv.answers[name]);
      const got = comparable(answers[name]);
      if (expected !== got) throw new Error(`${name}: Leonidas answered ${got}, DuckDB ${expected}`);
    }

    const ms = (seconds: number | undefined) => ((seconds ?? Number.NaN) * 1000).toFixed(0);
    console.log(
      `\nrun_sql on a ${(size / 2 ** 20).toFixed(0)} MB CSV (${file.metadata?.rowCount} rows), median of ${REPEATS}, milliseconds`,
    );
    console.table(
      (Object.keys(QUERIES) as QueryName[]).map((name) => ({
        query: name,
        'DuckDB on CSV': ms(onCsv.times[name]),
        'DuckDB on Parquet': ms(onParquet.times[name]),
        'Leonidas warm (to result)': ms(warm[name]?.result),
        'Leonidas warm (to reply)': ms(warm[name]?.reply),
        'Leonidas cold (to result)': ms(cold[name]),
        'goal: 1.2 x CSV + 20': ms((onCsv.times[name] ?? 0) * 1.2 + 0.02),
        'warm / CSV': ((warm[name]?.result ?? 0) / (onCsv.times[name] ?? 1)).toFixed(2),
        'warm / Parquet': ((warm[name]?.result ?? 0) / (onParquet.times[name] ?? 1)).toFixed(2),
        'cold / CSV': ((cold[name] ?? 0) / (onCsv.times[name] ?? 1)).toFixed(2),
      })),
    );
    console.log(
      `server RSS: ${(idle / 2 ** 20).toFixed(0)} MB before, peak ${(peak / 2 ** 20).toFixed(0)} MB, ${(after / 2 ** 20).toFixed(0)} MB after`,
    );
  } finally {
    await stack.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
