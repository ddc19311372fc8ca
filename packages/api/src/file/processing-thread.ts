import type { Worker } from 'node:worker_threads';
import { type DynamoConnection, type FileRecord, finishProcessing } from '@leonidas/db';
import type { DuckDbOptions } from '../analysis/duckdb.js';
import type { Logger } from '../logger.js';
import type { StorageConfig } from '../storage/s3.js';
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
}

export type ToFileWorker =
  | { type: 'process'; id: number; file: FileRecord; objectSize: number; queueMs: number }
  | { type: 'tables-done'; id: number; error?: string }
  | { type: 'stop' };

export type LogLevel = 'info' | 'warn' | 'error';

export type FromFileWorker =
  | { type: 'done'; id: number; file: FileRecord }
  | { type: 'tables'; id: number; op: 'adopt'; fileId: string; path: string }
  | { type: 'tables'; id: number; op: 'forget'; fileId: string }
  | { type: 'log'; level: LogLevel; details: Record<string, unknown>; message: string };

/** How long a stopping thread gets to end its files' work (DuckDB's is interrupted) and close. */
const STOP_WAIT_MS = 10_000;

/**
 * Files processed on a thread of their own, with their own event loop, database and store clients and DuckDB:
 * the API's requests on the server's loop no longer hold up every step of every file, nor do files the
 * requests. The queue (`FileWork`) and the claim stay on the server's thread; the thread is handed claimed files
 * and answers with their outcome. A processed file's table joins the server thread's query tables by message.
 * Logs come back and go out through the server's logger.
 *
 * The thread starts with the first file, or before it (`warm`). If it ends by itself (an uncaught error), the
 * files it had are marked FAILED with their derived objects removed, and the next file starts a new one. It is
 * never terminated while DuckDB runs in it: an addon thread torn down mid-query aborts the whole process. `close`
 * asks it to interrupt its queries and end; files cut off that way stay PROCESSING, as they would if the process
 * ended, and are taken over once stale.
 */
export class FileThread implements FileProcessor {
  readonly thread = 'worker';
  private worker: Worker | undefined;
  private readonly files = new Map<number, { file: FileRecord; done: (file: FileRecord) => void }>();
  private nextId = 0;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly start: (data: FileWorkerData) => Worker,
    private readonly data: FileWorkerData,
    private readonly deps: Pick<ProcessingDeps, 'db' | 'storage' | 'tables' | 'logger'>,
  ) {}

  warm(): void {
    if (!this.closing) this.running();
  }

  process(file: FileRecord, objectSize: number, queueMs: number): Promise<FileRecord> {
    if (this.closing) return Promise.resolve(file);
    return new Promise<FileRecord>((done) => {
      const id = this.nextId++;
      this.files.set(id, { file, done });
      const message: ToFileWorker = { type: 'process', id, file, objectSize, queueMs };
      this.running().postMessage(message);
    });
  }

  close(): Promise<void> {
    this.closing ??= this.stop();
    return this.closing;
  }

  private async stop(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    const message: ToFileWorker = { type: 'stop' };
    worker.postMessage(message);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), STOP_WAIT_MS);
    });
    // Not terminated when late (see above): the process's exit ends it.
    if ((await Promise.race([exited, late])) === 'late') {
      this.deps.logger.warn({ files: this.files.size }, 'the file processing thread did not stop in time');
    }
    clearTimeout(timer);
    for (const { file, done } of this.files.values()) done(file);
    this.files.clear();
  }

  private running(): Worker {
    if (this.worker) return this.worker;
    const worker = this.start(this.data);
    this.worker = worker;
    worker.on('message', (message: FromFileWorker) => this.receive(worker, message));
    worker.on('error', (error) => this.lost(worker, error));
    worker.on('exit', (code) =>
      this.lost(worker, new Error(`The file processing thread exited (code ${code})`)),
    );
    return worker;
  }

  private receive(worker: Worker, message: FromFileWorker): void {
    switch (message.type) {
      case 'done': {
        this.files.get(message.id)?.done(message.file);
        this.files.delete(message.id);
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
              error: String(error),
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
    if (this.worker !== worker || this.closing) return;
    this.worker = undefined;
    const lost = [...this.files.values()];
    this.files.clear();
    this.deps.logger.error(
      { err: reason, files: lost.length },
      'the file processing thread stopped unexpectedly',
    );
    for (const { file, done } of lost) {
      void this.failLost(file).then(done, () => done(file));
    }
  }

  private async failLost(file: FileRecord): Promise<FileRecord> {
    // A FAILED file keeps no table or preview; the thread may have written them before it ended.
    await removeDerivedObjects(this.deps, file).catch(() => undefined);
    return (
      (await finishProcessing(this.deps.db, {
        file,
        outcome: { status: 'FAILED', failureReason: OUT_OF_ORDER },
      })) ?? file
    );
  }
}

/**
 * An error cloned to another thread keeps its message, stack and cause, but not its name or code: the thread
 * sends those beside it (`sendableDetails`) and they are put back on this side (`receivedDetails`), for the
 * log's error serializer.
 */
const ERROR_FIELDS = '__errorFields';

function sendableDetails(details: object): Record<string, unknown> {
  const sendable: Record<string, unknown> = {};
  const fields: Record<string, { name: string; code?: string }> = {};
  for (const [key, value] of Object.entries(details)) {
    if (value instanceof Error) {
      const code = (value as { code?: unknown }).code;
      fields[key] = { name: value.name, ...(typeof code === 'string' ? { code } : {}) };
    }
    sendable[key] = value;
  }
  return Object.keys(fields).length > 0 ? { ...sendable, [ERROR_FIELDS]: fields } : sendable;
}

export function receivedDetails(details: Record<string, unknown>): Record<string, unknown> {
  const { [ERROR_FIELDS]: fields, ...rest } = details;
  if (!fields) return rest;
  for (const [key, { name, code }] of Object.entries(
    fields as Record<string, { name: string; code?: string }>,
  )) {
    const error = rest[key];
    if (error instanceof Error) Object.assign(error, { name, ...(code ? { code } : {}) });
  }
  return rest;
}

/** The worker's side of `FileThread`'s logging: each call becomes a message. */
export function loggerTo(post: (message: FromFileWorker) => void): Logger {
  const at = (level: LogLevel) => (details: object, message: string) => {
    try {
      post({ type: 'log', level, details: sendableDetails(details), message });
    } catch {
      // Something in the details cannot be cloned (a function deep in an error's cause): the line still goes.
      post({ type: 'log', level, details: { unsendableDetails: Object.keys(details) }, message });
    }
  };
  return { info: at('info'), warn: at('warn'), error: at('error') };
}
