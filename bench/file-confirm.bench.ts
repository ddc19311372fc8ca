/**
 * `file.confirm` of a generated ~200 MB CSV through the whole stack (S3 download to a temp file, the streaming
 * CSV scan, DuckDB profiling, DynamoDB writes) vs DuckDB reading the same local file directly, in one run.
 * Prints MB/s for each, their ratio, and the server's peak RSS growth while it confirms.
 */
import { mkdtempSync, openAsBlob, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { createLeonidasClient, uploadForm } from '@leonidas/client';
import { generateCsv, rssBytes, startBenchStack } from './support.js';

const TARGET_MB = Number(process.env.BENCH_FILE_MB ?? 200);

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

async function main() {
  const workDir = mkdtempSync(join(tmpdir(), 'leonidas-bench-files-'));
  const csvPath = join(workDir, 'data.csv');
  const size = await generateCsv(csvPath, TARGET_MB * 1024 * 1024);
  const mb = size / (1024 * 1024);
  const stack = await startBenchStack(workDir, {
    MAX_UPLOAD_BYTES: String(size + 1),
    CONFIRM_WAIT_MS: '60000',
  });
  const { url, pid } = stack;
  try {
    const { accessToken } = await createLeonidasClient({ url }).auth.register.mutate({
      email: `bench-${Date.now()}@example.com`,
      password: 'benchmark-password',
    });
    const client = createLeonidasClient({ url, token: accessToken });
    const project = await client.project.create.mutate({ name: 'Bench' });
    const { file, upload } = await client.file.createUpload.mutate({
      projectId: project.id,
      filename: 'big.csv',
      size,
      contentType: 'text/csv',
    });
    const form = uploadForm(upload.fields, await openAsBlob(csvPath), 'big.csv');
    const uploadStart = performance.now();
    const posted = await fetch(upload.url, { method: 'POST', body: form });
    if (posted.status !== 204) throw new Error(`upload failed: ${posted.status}`);
    const uploadSeconds = (performance.now() - uploadStart) / 1000;

    const rssBefore = rssBytes(pid);
    let rssPeak = rssBefore;
    const sampler = setInterval(() => {
      rssPeak = Math.max(rssPeak, rssBytes(pid));
    }, 25);
    const start = performance.now();
    let result = await client.file.confirm.mutate({ fileId: file.id });
    while (result.status === 'PROCESSING') {
      await new Promise((resolve) => setTimeout(resolve, 100));
      result = await client.file.byId.query({ fileId: file.id });
    }
    const confirmSeconds = (performance.now() - start) / 1000;
    clearInterval(sampler);
    if (result.status !== 'COMPLETED')
      throw new Error(`confirm ended ${result.status}: ${result.failureReason}`);

    const direct = await duckDbDirect(csvPath);
    console.log(
      `\nfile.confirm of a ${mb.toFixed(0)} MB CSV (${result.metadata?.rowCount} rows, ${result.metadata?.columns.length} columns)`,
    );
    console.table([
      {
        what: 'Leonidas file.confirm (download, scan, profile, save)',
        seconds: confirmSeconds.toFixed(2),
        'MB/s': (mb / confirmSeconds).toFixed(0),
      },
      {
        what: 'DuckDB count(*) over read_csv (baseline)',
        seconds: direct.count.toFixed(2),
        'MB/s': (mb / direct.count).toFixed(0),
      },
      {
        what: 'DuckDB SUMMARIZE over read_csv (baseline)',
        seconds: direct.summarize.toFixed(2),
        'MB/s': (mb / direct.summarize).toFixed(0),
      },
    ]);
    console.log(`confirm throughput / DuckDB count(*): ${(direct.count / confirmSeconds).toFixed(2)}`);
    console.log(`confirm throughput / DuckDB SUMMARIZE: ${(direct.summarize / confirmSeconds).toFixed(2)}`);
    console.log(
      `server RSS: ${(rssBefore / 2 ** 20).toFixed(0)} MB before, peak ${(rssPeak / 2 ** 20).toFixed(0)} MB, growth ${((rssPeak - rssBefore) / 2 ** 20).toFixed(0)} MB`,
    );
    console.log(`(upload to the object store took ${uploadSeconds.toFixed(2)} s, not counted)`);
  } finally {
    await stack.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
