import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  claimForProcessing,
  type Db,
  type Delimiter,
  type FileRecord,
  finishProcessing,
  getFile,
  isDatabaseUnavailable,
} from '@leonidas/db';
import { type CsvScan, CsvScanner } from '../analysis/csv-scan.js';
import type { Analytics } from '../analysis/duckdb.js';
import { profileTable, writeCsvTable, writeTable } from '../analysis/profile.js';
import { ScanInWorker } from '../analysis/scan-in-worker.js';
import type { TableCache } from '../analysis/table-cache.js';
import type { ApiDeps, FileSettings } from '../context.js';
import { errorSummary, type Logger } from '../logger.js';
import { formatBytes } from '../quotas.js';
import {
  InspectionStoppedError,
  ObjectTooLargeError,
  type Storage,
  StorageUnavailableError,
} from '../storage/s3.js';
import { WorkQueue } from '../work-queue.js';
import { PARQUET_CONTENT_TYPE, previewObjectKey, tableObjectKey } from './keys.js';
import { PREVIEW_ROWS } from './schema.js';

/** A PROCESSING file whose run started longer ago than this is taken over (its server went away). */
export const PROCESSING_STALE_MS = 15 * 60_000;

/** Files up to this size are processed in a lane of their own. */
export const SMALL_FILE_BYTES = 8 * 1024 * 1024;
/** How many more small files than large ones are processed at once. */
const SMALL_FILE_LANE_FACTOR = 3;

/**
 * Where files wait their turn to be processed: a few at once on this server (`perServer`), `perUser` for one
 * user. Small files have a lane of their own, so that large ones (minutes each) cannot hold up everyone's small
 * ones (a fraction of a second); more of them run at once, since they mostly wait on the store and the
 * database and take little of DuckDB's memory.
 */
export class FileWork {
  private readonly large: WorkQueue;
  private readonly small: WorkQueue;

  constructor(limits: { perServer: number; perUser: number }) {
    this.large = new WorkQueue({ perServer: limits.perServer, perKey: limits.perUser });
    this.small = new WorkQueue({
      perServer: limits.perServer * SMALL_FILE_LANE_FACTOR,
      perKey: limits.perUser,
    });
  }

  run<T>(userId: string, bytes: number, task: () => Promise<T>): Promise<T> {
    return (bytes <= SMALL_FILE_BYTES ? this.small : this.large).run(userId, task);
  }
}

/** What processing a file uses: the server's own, or those a worker thread builds (`processing-worker.ts`). */
export interface ProcessingDeps {
  db: Db;
  storage: Storage;
  analytics: Analytics;
  logger: Logger;
  files: Pick<FileSettings, 'maxUploadBytes' | 'scanWorker'>;
  /** The server's tables for queries: a processed file's table joins them, a deleted file's leaves. */
  tables: Pick<TableCache, 'adopt' | 'forget'>;
  /** Where each file gets its work folder. */
  workDirectory: string;
  /** Whether processing is being stopped: its refused writes are then for good, not to be waited out. */
  ending?: () => boolean;
}

/** Where claimed files are processed: on the server's thread, or on a thread of their own (`FileThread`). */
export interface FileProcessor {
  readonly thread: 'server' | 'worker';
  /** Gets ready now rather than with the first file (a thread takes a third of a second to load at rest). */
  warm(): void;
  /**
   * Never rejects: every way out ends the file COMPLETED or FAILED (or leaves it to a newer claim).
   * `queueMs`: how long it waited for its turn, for the log.
   */
  process(file: FileRecord, objectSize: number, queueMs: number): Promise<FileRecord>;
  /** Writes the Parquet table of the CSV at `csvPath` (for a file processed before tables existed). */
  buildTable(delimiter: Delimiter, csvPath: string, tablePath: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * The most the column names of one file may take, in UTF-8. The profile is kept in the file's DynamoDB item (at
 * most 400 KB): the rest of it is about 150 bytes a column (its statistics), so up to 1,000 columns fit beside
 * these names with room to spare. Beyond it the write itself failed, and the user read "a problem on our side".
 */
export const MAX_COLUMN_NAMES_BYTES = 128 * 1024;

/**
 * How long a processed file's outcome is tried again while the database cannot be reached (embedded DynamoDB
 * Local, when it stops, is started again within seconds). Given up at once, the file stayed PROCESSING until its
 * claim went stale (15 minutes), and was processed again then.
 */
const OUTCOME_RETRY_MS = 30_000;

async function whileUnreachable<T>(deps: ProcessingDeps, write: () => Promise<T>): Promise<T> {
  const giveUpAt = performance.now() + OUTCOME_RETRY_MS;
  for (let pause = 250; ; pause = Math.min(pause * 2, 4_000)) {
    try {
      return await write();
    } catch (error) {
      if (!isDatabaseUnavailable(error) || deps.ending?.() || performance.now() + pause > giveUpAt)
        throw error;
      await sleep(pause);
    }
  }
}

/** Files processed on the server's own thread (run from sources, or without a worker's file). */
export function processorInLine(deps: ProcessingDeps): FileProcessor {
  return {
    thread: 'server',
    warm: () => undefined,
    process: (file, objectSize, queueMs) => processClaimed(deps, file, objectSize, queueMs),
    buildTable: (delimiter, csvPath, tablePath) => buildTable(deps.analytics, delimiter, csvPath, tablePath),
    close: async () => undefined,
  };
}

export const OUT_OF_ORDER =
  'We could not process this file because of a problem on our side. Please upload it again.';
const STORAGE_DOWN =
  'Our file storage could not be reached while this file was processed. Please upload it again in a moment.';

/**
 * Claims an uploaded file and processes it: waits up to `confirmWaitMs` for the outcome and otherwise returns
 * the file as PROCESSING while the work finishes in the background.
 */
export async function startProcessing(
  deps: ApiDeps,
  file: FileRecord,
  objectSize: number,
): Promise<FileRecord> {
  const now = deps.clock.now();
  const claimed = await claimForProcessing(deps.db, {
    file,
    now,
    staleBefore: now - PROCESSING_STALE_MS,
  });
  // Someone else holds it or has finished it: confirming twice is harmless.
  if (!claimed) return (await getFile(deps.db, file.fileId)) ?? file;

  const run = processInTurn(deps, claimed, objectSize);
  let timer: NodeJS.Timeout | undefined;
  const waited = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), deps.files.confirmWaitMs);
  });
  const finished = await Promise.race([run, waited]);
  clearTimeout(timer);
  return finished ?? claimed;
}

/**
 * Processes a table DS Bro saved (written PROCESSING, claimed at its creation) exactly as an upload is, in the
 * same queue, and waits for the outcome.
 */
export function processGeneratedTable(deps: ApiDeps, file: FileRecord): Promise<FileRecord> {
  return processInTurn(deps, file, file.size);
}

/** Processing waits its turn (`FileWork`): a few files at once on this server, one at a time per user. */
function processInTurn(deps: ApiDeps, file: FileRecord, objectSize: number): Promise<FileRecord> {
  const queuedAt = performance.now();
  return deps.background.run(
    deps.fileWork.run(file.userId, objectSize, () =>
      deps.fileProcessor.process(file, objectSize, Math.round(performance.now() - queuedAt)),
    ),
  );
}

export async function buildTable(
  analytics: Analytics,
  delimiter: Delimiter,
  csvPath: string,
  tablePath: string,
): Promise<void> {
  await analytics.withConnection((connection) =>
    writeTable(connection, { path: csvPath, delimiter, tablePath }),
  );
}

/** See `FileProcessor.process`. */
export async function processClaimed(
  deps: ProcessingDeps,
  file: FileRecord,
  objectSize: number,
  queueMs: number,
): Promise<FileRecord> {
  try {
    return await processOnce(deps, file, objectSize, queueMs);
  } catch (error) {
    // A way out that failed too (its outcome could not be written, the work folder not made or removed): the file
    // stays as its claim left it, taken over once stale. Never a rejection: on the processing thread, one would
    // end the thread, and every file it has with it.
    deps.logger.error({ fileId: file.fileId, ...errorSummary(error) }, 'file processing failed');
    return file;
  }
}

async function processOnce(
  deps: ProcessingDeps,
  file: FileRecord,
  objectSize: number,
  queueMs: number,
): Promise<FileRecord> {
  let tableUpload: Promise<void> | undefined;
  /**
   * Processing is being stopped (the thread ends): what failed was the stop's doing, and the file stays as its claim
   * left it, taken over once stale, as when the process ends. One line says so, not the failures it caused.
   */
  const cutOff = () => {
    deps.logger.info({ fileId: file.fileId }, 'file processing cut off by the stop: left PROCESSING');
    return file;
  };
  /** Ends the file FAILED. A FAILED file keeps no table or preview: what this run wrote goes, once it is FAILED. */
  const fail = async (failureReason: string) => {
    const failed = await finishProcessing(deps.db, { file, outcome: { status: 'FAILED', failureReason } });
    // Not FAILED by this run (deleted, or taken over by a newer run): what is there is not this run's to remove.
    if (!failed) return file;
    if (tableUpload) {
      await tableUpload.catch(() => undefined);
      await removeDerivedObjects(deps, file).catch((error: unknown) => {
        deps.logger.warn({ err: error, fileId: file.fileId }, 'could not remove what a failed file left');
      });
    }
    return failed;
  };

  const limit = Math.min(file.size, deps.files.maxUploadBytes);
  // A store that does not enforce the upload policy (some S3-compatible ones) can hold more than was declared.
  if (objectSize > limit) {
    await deps.storage.delete(file.objectKey).catch((error: unknown) => {
      deps.logger.warn({ err: error, fileId: file.fileId }, 'could not delete an oversized upload');
    });
    return fail(
      objectSize > deps.files.maxUploadBytes
        ? `The uploaded file is ${objectSize} bytes, more than the limit of ${deps.files.maxUploadBytes} bytes.`
        : `The uploaded file is ${objectSize} bytes, more than the ${file.size} bytes announced for it.`,
    );
  }

  // Kept, whatever the outcome below: only never-confirmed uploads are left to the lifecycle rule. The tag is
  // written while the object downloads (one round trip less per file) and awaited before any outcome.
  const tagged = deps.storage.markConfirmed(file.objectKey);
  // Handled where it is awaited; this keeps an early way out from leaving a rejection unhandled.
  tagged.catch(() => undefined);
  const tableKey = tableObjectKey(file.projectId, file.fileId);
  // Closed however processing ends: a scan's worker thread must not outlive it.
  let scanning: ChunkScan | undefined;
  const workDir = await mkdtemp(join(deps.workDirectory, 'leonidas-file-'));
  try {
    const path = join(workDir, 'upload.csv');
    const tablePath = join(workDir, 'table.parquet');
    // How long it waited for its turn and how long each stage took, for the log line of a processed file.
    let mark = performance.now();
    const took: Record<'queue' | 'download' | 'table' | 'statistics' | 'save', number> = {
      queue: queueMs,
      download: 0,
      table: 0,
      statistics: 0,
      save: 0,
    };
    const lap = (stage: keyof typeof took) => {
      const now = performance.now();
      took[stage] = Math.round(now - mark);
      mark = now;
    };
    // The scan runs on the chunks as they arrive (a large file's in a worker thread, when the server has one);
    // its first failure ends the download there.
    const scanner = scannerFor(deps, objectSize);
    scanning = scanner;
    const bytes = await deps.storage
      .downloadToFile(file.objectKey, path, { maxBytes: limit, inspect: (chunk) => scanner.push(chunk) })
      .catch((error: unknown) => {
        if (error instanceof InspectionStoppedError) return 0;
        throw error;
      });
    await tagged;
    const scan = await scanner.end();
    lap('download');
    if (!scan.ok) return await fail(scan.reason);
    const profiled = await deps.analytics
      .withConnection(async (connection) => {
        const table = await writeCsvTable(connection, {
          path,
          delimiter: scan.delimiter,
          tablePath,
          firstRecord: scan.firstRecord,
          records: scan.records,
          shapes: scan.shapes,
          sampledValues: scan.sampledValues,
        });
        lap('table');
        // Refused before its statistics are computed: the profile would not fit the file's item.
        const namesBytes = table.columns.reduce((sum, column) => sum + Buffer.byteLength(column.name), 0);
        if (namesBytes > MAX_COLUMN_NAMES_BYTES) {
          return {
            ok: false as const,
            reason: `The column names take ${formatBytes(namesBytes)} in all; they can take at most ${formatBytes(MAX_COLUMN_NAMES_BYTES)}. Shorten them and upload the file again.`,
          };
        }
        // The table goes to storage while its statistics are computed: both only read the Parquet file.
        tableUpload = deps.storage.uploadFile(tableKey, tablePath, PARQUET_CONTENT_TYPE);
        tableUpload.catch(() => undefined);
        const result = await profileTable(connection, {
          tablePath,
          delimiter: scan.delimiter,
          previewRows: PREVIEW_ROWS,
          ...table,
        });
        lap('statistics');
        return { ok: true as const, ...result, detection: table.detection };
      })
      .catch((error: unknown) => {
        if (!deps.ending?.()) {
          deps.logger.warn(
            { fileId: file.fileId, ...errorSummary(error) },
            'DuckDB could not profile a scanned CSV',
          );
        }
        return {
          ok: false as const,
          reason: /^Out of Memory Error/.test(String((error as Error)?.message))
            ? 'This file needs more memory to profile than this server allows. Split it into smaller files, or ask the administrator to raise DUCKDB_MEMORY_LIMIT.'
            : // The scan accepted the structure, so this is about values DuckDB would not read: say so plainly.
              'We could not read the values in this file as CSV. Check it opens in a spreadsheet and upload it again.',
        };
      });
    if (!profiled.ok) return deps.ending?.() ? cutOff() : await fail(profiled.reason);
    const { profile, preview, detection } = profiled;
    await settled([
      tableUpload ?? Promise.resolve(),
      deps.storage.putJson(previewObjectKey(file.projectId, file.fileId), preview),
    ]);
    // This server has the table already: its first query needs no download.
    await deps.tables.adopt(file.fileId, tablePath);
    lap('save');
    deps.logger.info(
      { fileId: file.fileId, bytes, rows: profile.rowCount, types: detection, ms: took },
      'file processed',
    );
    const completed = await whileUnreachable(deps, () =>
      finishProcessing(deps.db, { file, outcome: { status: 'COMPLETED', metadata: profile, size: bytes } }),
    );
    if (completed) return completed;
    const now = await getFile(deps.db, file.fileId);
    // Deleted meanwhile (alone or with its project): its deletion may have swept the prefix before the preview
    // and table were written, so they go here. A newer claim of a file still there writes its own.
    if (!now) await removeDerivedObjects(deps, file);
    // As it is now: COMPLETED by this run when its write took but the answer was lost (and tried again), or
    // someone else's.
    return now ?? file;
  } catch (error) {
    // Nothing may still be reading the work folder once it is removed.
    await tableUpload?.catch(() => undefined);
    if (deps.ending?.()) return cutOff();
    if (error instanceof ObjectTooLargeError) {
      return fail(`The uploaded file is larger than the ${error.limit} bytes announced for it.`);
    }
    deps.logger.error({ fileId: file.fileId, ...errorSummary(error) }, 'file processing failed');
    return fail(error instanceof StorageUnavailableError ? STORAGE_DOWN : OUT_OF_ORDER).catch(() => file);
  } finally {
    await scanning?.close();
    await rm(workDir, { recursive: true, force: true });
  }
}

/** A scan fed chunk by chunk: `push` answers false once the file is refused. */
interface ChunkScan {
  push(chunk: Buffer): boolean | Promise<boolean>;
  end(): CsvScan | Promise<CsvScan>;
  close(): Promise<void>;
}

/**
 * Where a file is scanned: a large one (minutes of download, about 1 s of scan per 200 MB) in a worker thread
 * when the server has one, so the scan runs beside the download's own work on the event loop; a small one in
 * line, which costs less than starting a worker.
 */
function scannerFor(deps: ProcessingDeps, objectSize: number): ChunkScan {
  if (deps.files.scanWorker && objectSize > SMALL_FILE_BYTES)
    return new ScanInWorker(deps.files.scanWorker());
  const scanner = new CsvScanner();
  let failure: string | undefined;
  return {
    push: (chunk) => {
      failure = scanner.push(chunk);
      return failure === undefined;
    },
    end: () => (failure === undefined ? scanner.end() : { ok: false, reason: failure }),
    close: async () => undefined,
  };
}

/** Waits for every write (none is left running), then throws the first failure, if any. */
async function settled(writes: Promise<unknown>[]): Promise<void> {
  const outcomes = await Promise.allSettled(writes);
  for (const outcome of outcomes) if (outcome.status === 'rejected') throw outcome.reason;
}

/** The objects processing writes for a file: what a file deleted while it was processed must not keep. */
export async function removeDerivedObjects(
  deps: Pick<ProcessingDeps, 'storage' | 'tables'>,
  file: FileRecord,
): Promise<void> {
  await deps.tables.forget(file.fileId);
  await deps.storage.delete(previewObjectKey(file.projectId, file.fileId));
  await deps.storage.delete(tableObjectKey(file.projectId, file.fileId));
}
