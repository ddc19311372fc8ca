import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import {
  type Delimiter,
  type DynamoConnection,
  type FileRecord,
  finishProcessing,
  getFile,
} from '@leonidas/db';
import type { DuckDbOptions } from '../analysis/duckdb.js';
import type { Logger } from '../logger.js';
import type { StorageConfig } from '../storage/s3.js';
import { settledWithin } from '../within.js';
import { type FileProcessor, OUT_OF_ORDER, type ProcessingDeps, removeDerivedObjects } from './processing.js';

/** What the processing thread builds its own clients and DuckDB from (all plain data: it is cloned to it). */
export interface FileWorkerData {
  dynamo: DynamoConnection;
  tableName: string;
  storage: StorageConfig;
  duckdb: DuckDbOptions;
  maxUploadBytes: number;
  /** The scan's worker file (`scan-worker.js`) for large files, started from the processing thread. */
  scanWorkerUrl?: string | undefined;
  /** The folder of this thread's work folders, removed when it ends. */
  workDirectory: string;
}

export type ToFileWorker =
  | { type: 'process'; id: number; file: FileRecord; objectSize: number; queueMs: number }
  | { type: 'build'; id: number; delimiter: Delimiter; csvPath: string; tablePath: string }
  | { type: 'tables-done'; id: number; error?: SentError }
  | { type: 'stop' };

export type LogLevel = 'info' | 'warn' | 'error';

export type FromFileWorker =
  | { type: 'done'; id: number; file: FileRecord }
  | { type: 'built'; id: number; error?: SentError }
  | { type: 'tables'; id: number; op: 'adopt'; fileId: string; path: string }
  | { type: 'tables'; id: number; op: 'forget'; fileId: string }
  | { type: 'log'; level: LogLevel; details: Record<string, unknown>; message: string };

/** How long a stopping thread gets to end its files' work (DuckDB's is interrupted) and close. */
const STOP_WAIT_MS = 10_000;

/**
 * Files processed on a thread of their own, with their own event loop, database and store clients and DuckDB:
 * the API's requests on the server's loop no longer hold up every step of every file, nor do files the
 * requests. The queue (`FileWork`) and the claim stay on the server's thread; the thread is handed claimed files
 * and answers with their outcome. A processed file's table joins the server thread's query tables by message, and
 * the tables of files processed before tables existed are built in the thread too (its DuckDB's memory limit is
 * the one budget). Logs come back and go out through the server's logger.
 *
 * The thread starts with the first file, or before it (`warm`). If it ends by itself (an error nothing caught:
 * it first lets its DuckDB queries stop), the files it had are marked FAILED with what they wrote removed, and the
 * next file starts a new one. It is never terminated while DuckDB runs in it: an addon thread torn down mid-query
 * aborts the whole process. `close` asks it to interrupt its queries and end; files cut off that way stay
 * PROCESSING, as they would if the process ended, and are taken over once stale.
 */
export class FileThread implements FileProcessor {
  readonly thread = 'worker';
  private current: { worker: Worker; exited: Promise<void> } | undefined;
  private readonly files = new Map<number, { file: FileRecord; done: (file: FileRecord) => void }>();
  private readonly builds = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
  private nextId = 0;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly start: (data: FileWorkerData) => Worker,
    private readonly data: Omit<FileWorkerData, 'workDirectory'>,
    /** `workDirectory`: where each thread gets the folder of its files' work folders. */
    private readonly deps: Pick<ProcessingDeps, 'db' | 'storage' | 'tables' | 'logger' | 'workDirectory'>,
  ) {}

  warm(): void {
    if (!this.closing) this.running();
  }

  process(file: FileRecord, objectSize: number, queueMs: number): Promise<FileRecord> {
    if (this.closing) return Promise.resolve(file);
    const worker = this.running();
    if (!worker) return this.failUnprocessed(file);
    return new Promise<FileRecord>((done) => {
      const id = this.nextId++;
      this.files.set(id, { file, done });
      worker.postMessage({ type: 'process', id, file, objectSize, queueMs } satisfies ToFileWorker);
    });
  }

  buildTable(delimiter: Delimiter, csvPath: string, tablePath: string): Promise<void> {
    const worker = this.closing ? undefined : this.running();
    if (!worker) return Promise.reject(new Error('The file processing thread is not running'));
    return new Promise<void>((resolve, reject) => {
      const id = this.nextId++;
      this.builds.set(id, { resolve, reject });
      worker.postMessage({ type: 'build', id, delimiter, csvPath, tablePath } satisfies ToFileWorker);
    });
  }

  close(): Promise<void> {
    this.closing ??= this.stop();
    return this.closing;
  }

  private async stop(): Promise<void> {
    const current = this.current;
    if (!current) return;
    current.worker.postMessage({ type: 'stop' } satisfies ToFileWorker);
    // Not terminated when late (see above): the process's exit ends it.
    if (!(await settledWithin(current.exited, STOP_WAIT_MS))) {
      this.deps.logger.warn({ files: this.files.size }, 'the file processing thread did not stop in time');
    }
    this.settleAll(new Error('The server is stopping'), (file, done) => done(file));
  }

  /** The thread, started if none runs; undefined if it cannot be (the file then fails, and says so). */
  private running(): Worker | undefined {
    if (this.current) return this.current.worker;
    let directory: string | undefined;
    try {
      directory = mkdtempSync(join(this.deps.workDirectory, 'leonidas-files-'));
      const worker = this.start({ ...this.data, workDirectory: directory });
      const workDirectory = directory;
      const exited = new Promise<void>((resolve) => {
        worker.once('exit', (code) => {
          // What a thread that ended mid-file left (uploads being read, tables being written) goes first.
          void rm(workDirectory, { recursive: true, force: true })
            .catch(() => undefined)
            .then(() => {
              this.lost(worker, new Error(`The file processing thread exited (code ${code})`));
              resolve();
            });
        });
      });
      worker.on('message', (message: FromFileWorker) => this.receive(worker, message));
      // An 'exit' follows: the files fail then, once the thread is gone.
      worker.on('error', (error) =>
        this.deps.logger.error({ err: error }, 'the file processing thread failed'),
      );
      this.current = { worker, exited };
      return worker;
    } catch (error) {
      if (directory) void rm(directory, { recursive: true, force: true }).catch(() => undefined);
      this.deps.logger.error({ err: error }, 'the file processing thread could not start');
      return undefined;
    }
  }

  private receive(worker: Worker, message: FromFileWorker): void {
    switch (message.type) {
      case 'done': {
        this.files.get(message.id)?.done(message.file);
        this.files.delete(message.id);
        return;
      }
      case 'built': {
        const build = this.builds.get(message.id);
        this.builds.delete(message.id);
        if (message.error) build?.reject(receivedError(message.error));
        else build?.resolve();
        return;
      }
      case 'tables': {
        const { tables } = this.deps;
        const work =
          message.op === 'adopt' ? tables.adopt(message.fileId, message.path) : tables.forget(message.fileId);
        void work.then(
          () => worker.postMessage({ type: 'tables-done', id: message.id } satisfies ToFileWorker),
          (error: unknown) =>
            worker.postMessage({
              type: 'tables-done',
              id: message.id,
              error: sentError(error),
            } satisfies ToFileWorker),
        );
        return;
      }
      case 'log': {
        this.deps.logger[message.level](receivedDetails(message.details), message.message);
        return;
      }
    }
  }

  /** The thread ended by itself: its files fail, and the next file starts a new thread. */
  private lost(worker: Worker, reason: Error): void {
    if (this.current?.worker !== worker) return;
    this.current = undefined;
    // Stopping: `stop` settles what is left, as it is.
    if (this.closing) return;
    this.deps.logger.error(
      { err: reason, files: this.files.size },
      'the file processing thread stopped unexpectedly',
    );
    this.settleAll(reason, (file, done) => void this.failUnprocessed(file).then(done));
  }

  private settleAll(reason: Error, settleFile: (file: FileRecord, done: (file: FileRecord) => void) => void) {
    for (const { file, done } of this.files.values()) settleFile(file, done);
    this.files.clear();
    for (const { reject } of this.builds.values()) reject(reason);
    this.builds.clear();
  }

  /** A claimed file the thread did not finish: FAILED, and what it wrote removed. Never rejects. */
  private async failUnprocessed(file: FileRecord): Promise<FileRecord> {
    try {
      const failed = await finishProcessing(this.deps.db, {
        file,
        outcome: { status: 'FAILED', failureReason: OUT_OF_ORDER },
      });
      // Finished before the thread ended, deleted, or taken over by a newer run: nothing here to undo.
      if (!failed) return (await getFile(this.deps.db, file.fileId)) ?? file;
      await removeDerivedObjects(this.deps, file);
      return failed;
    } catch (error) {
      this.deps.logger.error({ err: error, fileId: file.fileId }, 'could not mark a file FAILED');
      return file;
    }
  }
}

/**
 * An error as it crosses between the threads. A cloned `Error` keeps its message, stack and cause but not its
 * name or code, which the log (and `isDatabaseUnavailable`-style checks) need.
 */
export interface SentError {
  name: string;
  message: string;
  stack?: string | undefined;
  code?: string;
  cause?: SentError;
}

export function sentError(error: unknown, depth = 0): SentError {
  if (!(error instanceof Error)) return { name: typeof error, message: String(error) };
  const code = (error as { code?: unknown }).code;
  return {
    name: error.name,
    message: error.message,
    stack: error.stack,
    ...(typeof code === 'string' ? { code } : {}),
    ...(error.cause !== undefined && depth < 2 ? { cause: sentError(error.cause, depth + 1) } : {}),
  };
}

export function receivedError(sent: SentError): Error {
  const error = new Error(sent.message, sent.cause ? { cause: receivedError(sent.cause) } : undefined);
  error.name = sent.name;
  error.stack = sent.stack;
  if (sent.code !== undefined) Object.assign(error, { code: sent.code });
  return error;
}

const SENT_ERROR = '__sentError';

/** A log line's details as they can cross: errors as `SentError`, anything that cannot be cloned named only. */
function sendableDetails(details: object): Record<string, unknown> {
  const sendable: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(details)) {
    if (value instanceof Error) sendable[key] = { [SENT_ERROR]: sentError(value) };
    else {
      try {
        structuredClone(value);
        sendable[key] = value;
      } catch {
        sendable[key] = `[${typeof value} that cannot be sent]`;
      }
    }
  }
  return sendable;
}

/** The details of a log line from the thread, with their errors as errors again. */
export function receivedDetails(details: Record<string, unknown>): Record<string, unknown> {
  const received: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(details)) {
    const sent = typeof value === 'object' && value !== null ? Reflect.get(value, SENT_ERROR) : undefined;
    received[key] = sent ? receivedError(sent as SentError) : value;
  }
  return received;
}

/** The thread's side of `FileThread`'s logging: each call becomes a message. */
export function loggerTo(post: (message: FromFileWorker) => void): Logger {
  const at = (level: LogLevel) => (details: object, message: string) =>
    post({ type: 'log', level, details: sendableDetails(details), message });
  return { info: at('info'), warn: at('warn'), error: at('error') };
}
