/**
 * `file.confirm` through the whole stack (S3 download to a temp file, the streaming CSV scan, DuckDB profiling,
 * the Parquet copy and preview written back to S3, DynamoDB writes), in one run:
 * - a generated ~200 MB CSV (BENCH_FILE_MB) vs DuckDB's own read_csv + profile of the same local file
 *   (`SUMMARIZE` over `read_csv`: types, nulls, distinct counts, min/max/mean, in one statement), with the
 *   server's peak RSS growth while it confirms;
 * - the fixed cost of a file: the time to confirm a ~300-row CSV on the idle stack, p50 of 20.
 */
import { mkdtempSync, openAsBlob, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { createLeonidasClient, type LeonidasClient, uploadForm } from '@leonidas/client';
import { generateCsv, reportGoal, rssBytes, startBenchStack } from './support.js';

const TARGET_MB = Number(process.env.BENCH_FILE_MB ?? 200);
const SMALL_FILES = 20;
const SMALL_FILE_ROWS = 300;

/** A small CSV in the shape of `generateCsv`'s (which writes 10,000 rows at a time). */
function writeSmallCsv(path: string): number {
  const cities = ['Paris', 'Zürich', 'Lima', 'Tōkyō', 'Nairobi', 'Oslo'];
  const lines = ['id,city,amount,day,active,note'];
  for (let id = 1; id <= SMALL_FILE_ROWS; id++) {
    const day = `2024-${String((id % 12) + 1).padStart(2, '0')}-${String((id % 28) + 1).padStart(2, '0')}`;
    lines.push(
      `${id},${cities[id % cities.length]},${((id * 7919) % 100_000) / 100},${day},${id % 3 === 0},"note ${id % 97}, ok"`,
    );
  }
  writeFileSync(path, `${lines.join('\n')}\n`);
  return statSync(path).size;
}

async function duckDbDirect(path: string) {
  const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
  const connection = await instance.connect();
  const time = async (sql: string) => {
    const start = performance.now();
    await connection.runAndReadAll(sql);
    return (performance.now() - start) / 1000;
  };
  const count = await time(`SELECT count(*) FROM read_csv('${path}')`);
  const summarize = await time(`SUMMARIZE SELECT * FROM read_csv('${path}')`);
  connection.closeSync();
  instance.closeSync();
  return { count, summarize };
}

/** Uploads the file and confirms it, waiting while it is PROCESSING; returns the outcome and the confirm time. */
async function confirmUpload(client: LeonidasClient, projectId: string, path: string, size: number) {
  const { file, upload } = await client.file.createUpload.mutate({
    projectId,
    filename: 'data.csv',
    size,
    contentType: 'text/csv',
  });
  const form = uploadForm(upload.fields, await openAsBlob(path), 'data.csv');
  const uploadStart = performance.now();
  const posted = await fetch(upload.url, { method: 'POST', body: form });
  if (posted.status !== 204) throw new Error(`upload failed: ${posted.status}`);
  const uploadSeconds = (performance.now() - uploadStart) / 1000;

  const start = performance.now();
  let result = await client.file.confirm.mutate({ fileId: file.id });
  while (result.status === 'PROCESSING') {
    await new Promise((resolve) => setTimeout(resolve, 20));
    result = await client.file.byId.query({ fileId: file.id });
  }
  const confirmSeconds = (performance.now() - start) / 1000;
  if (result.status !== 'COMPLETED')
    throw new Error(`confirm ended ${result.status}: ${result.failureReason}`);
  return { result, confirmSeconds, uploadSeconds };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

async function main() {
  const workDir = mkdtempSync(join(tmpdir(), 'leonidas-bench-files-'));
  const csvPath = join(workDir, 'data.csv');
  const smallPath = join(workDir, 'small.csv');
  const size = await generateCsv(csvPath, TARGET_MB * 1024 * 1024);
  const smallSize = writeSmallCsv(smallPath);
  const mb = size / (1024 * 1024);
  // The server's own default unless BENCH_DUCKDB_MEMORY_LIMIT says otherwise (to try another default).
  const memoryLimit = process.env.BENCH_DUCKDB_MEMORY_LIMIT;
  const stack = await startBenchStack(workDir, {
    MAX_UPLOAD_BYTES: String(size + 1),
    CONFIRM_WAIT_MS: '60000',
    ...(memoryLimit ? { DUCKDB_MEMORY_LIMIT: memoryLimit } : {}),
  });
  const { url, pid } = stack;
  try {
    const { accessToken } = await createLeonidasClient({ url }).auth.register.mutate({
      email: `bench-${Date.now()}@example.com`,
      password: 'benchmark-password',
    });
    const client = createLeonidasClient({ url, token: accessToken });
    const project = await client.project.create.mutate({ name: 'Bench' });

    // The fixed cost first, on a stack that has processed nothing yet but the one warm-up file.
    await confirmUpload(client, project.id, smallPath, smallSize);
    const smallSeconds: number[] = [];
    let smallRows = 0;
    for (let i = 0; i < SMALL_FILES; i++) {
      const { result, confirmSeconds } = await confirmUpload(client, project.id, smallPath, smallSize);
      smallSeconds.push(confirmSeconds);
      smallRows = result.metadata?.rowCount ?? 0;
    }

    // The baseline before and after the confirm: the machine is shared, so the two are averaged.
    const directBefore = await duckDbDirect(csvPath);
    const rssBefore = rssBytes(pid);
    let rssPeak = rssBefore;
    const sampler = setInterval(() => {
      rssPeak = Math.max(rssPeak, rssBytes(pid));
    }, 25);
    const big = await confirmUpload(client, project.id, csvPath, size).finally(() => clearInterval(sampler));
    const directAfter = await duckDbDirect(csvPath);
    const direct = {
      count: (directBefore.count + directAfter.count) / 2,
      summarize: (directBefore.summarize + directAfter.summarize) / 2,
    };
    const { result, confirmSeconds, uploadSeconds } = big;

    console.log(
      `\nfile.confirm of a ${mb.toFixed(0)} MB CSV (${result.metadata?.rowCount} rows, ${result.metadata?.columns.length} columns), DUCKDB_MEMORY_LIMIT ${memoryLimit ?? "the server's default"}`,
    );
    console.table([
      {
        what: 'Leonidas file.confirm (download, scan, profile, save)',
        seconds: confirmSeconds.toFixed(2),
        'MB/s': (mb / confirmSeconds).toFixed(0),
      },
      {
        what: 'DuckDB count(*) over read_csv (reference)',
        seconds: direct.count.toFixed(2),
        'MB/s': (mb / direct.count).toFixed(0),
      },
      {
        what: 'DuckDB SUMMARIZE over read_csv (baseline: read + profile)',
        seconds: direct.summarize.toFixed(2),
        'MB/s': (mb / direct.summarize).toFixed(0),
      },
    ]);
    console.log(
      `DuckDB runs: count ${directBefore.count.toFixed(2)} / ${directAfter.count.toFixed(2)} s, SUMMARIZE ${directBefore.summarize.toFixed(2)} / ${directAfter.summarize.toFixed(2)} s (before / after the confirm)`,
    );
    console.log(`confirm throughput / DuckDB count(*): ${(direct.count / confirmSeconds).toFixed(2)}`);
    console.log(
      `server RSS: ${(rssBefore / 2 ** 20).toFixed(0)} MB before, peak ${(rssPeak / 2 ** 20).toFixed(0)} MB, growth ${((rssPeak - rssBefore) / 2 ** 20).toFixed(0)} MB`,
    );
    console.log(`(upload to the object store took ${uploadSeconds.toFixed(2)} s, not counted)`);
    console.log(
      `small file (${smallRows} rows, ${(smallSize / 1024).toFixed(0)} KB) on the idle stack: file.confirm p50 ${(median(smallSeconds) * 1000).toFixed(0)} ms, min ${(Math.min(...smallSeconds) * 1000).toFixed(0)} ms, max ${(Math.max(...smallSeconds) * 1000).toFixed(0)} ms (${SMALL_FILES} files, one at a time)`,
    );
    reportGoal(
      'file.confirm throughput / DuckDB read_csv + SUMMARIZE of the same local file',
      direct.summarize / confirmSeconds,
      '>=',
      0.5,
    );
    reportGoal(
      `server RSS growth confirming the ${mb.toFixed(0)} MB CSV (MB)`,
      (rssPeak - rssBefore) / 2 ** 20,
      '<=',
      150,
      0,
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
