import type { Worker } from 'node:worker_threads';
import type { CsvScan } from './csv-scan.js';
import type { ScanReply, ScanRequest } from './scan-worker.js';

/** Bytes of copies posted to the worker and not yet scanned, above which the download waits for it. */
const MAX_QUEUED_BYTES = 4 * 1024 * 1024;
/** The buffers handed back and forth are this size, a socket's largest read; other chunks get copies of their size. */
const BUFFER_BYTES = 64 * 1024;

/**
 * A `CsvScanner` in a worker thread (`scan-worker.ts`), fed as the file downloads: the scan of a large file
 * (about 0.75 s of CPU for 200 MB) then runs beside the download's own work instead of after it on the event
 * loop. Chunks are copied to the worker; at most `MAX_QUEUED_BYTES` wait there, so a slow scan slows the
 * download rather than filling memory. A failure is heard a few chunks after the chunk that caused it.
 *
 * The copies' buffers go back and forth: the worker hands each one back once scanned, and the next chunk is
 * copied into it. A fresh buffer a chunk was garbage in the worker once scanned, and V8 lets such memory outside
 * its heap grow by 64 MB before it collects: the download of a 200 MB file grew the server by about 100 MB, and
 * now by about 55 MB (the worker itself is 20 MB of it).
 */
export class ScanInWorker {
  private queued = 0;
  private failed = false;
  private readonly waiting: (() => void)[] = [];
  /** Buffers the worker handed back, for the next chunks' copies. */
  private readonly spare: ArrayBuffer[] = [];
  private readonly result: Promise<CsvScan>;

  constructor(private readonly worker: Worker) {
    this.result = new Promise<CsvScan>((resolve, reject) => {
      worker.on('message', (reply: ScanReply) => {
        if (reply.type === 'failed') this.failed = true;
        else if (reply.type === 'done') resolve(reply.scan);
        else {
          this.queued -= reply.chunk.buffer.byteLength;
          if (reply.chunk.buffer.byteLength === BUFFER_BYTES) this.spare.push(reply.chunk.buffer);
          if (this.queued <= MAX_QUEUED_BYTES / 2) this.resume();
        }
      });
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`the scan's worker stopped (exit code ${code})`)));
    });
    // Handled where it is awaited (`end`); a download that fails first never gets there. A worker that is gone
    // scans nothing more: the download stops rather than waiting for it.
    this.result.catch(() => {
      this.failed = true;
      this.resume();
    });
  }

  /** Posts a chunk: false once the scan has failed; a promise while the worker is behind. */
  push(chunk: Buffer): boolean | Promise<boolean> {
    if (this.failed) return false;
    // A copy of its own, moved rather than copied again (a chunk may be a view of a larger, shared buffer): in a
    // pooled buffer when the chunk fills at least half of one, else of its own size. What waits is counted by the
    // buffers' size, so the limit bounds the memory whatever the chunks' sizes.
    const pooled = chunk.length > BUFFER_BYTES / 2 && chunk.length <= BUFFER_BYTES;
    const buffer =
      (pooled ? this.spare.pop() : undefined) ?? new ArrayBuffer(pooled ? BUFFER_BYTES : chunk.length);
    this.queued += buffer.byteLength;
    const copy = new Uint8Array(buffer, 0, chunk.length);
    copy.set(chunk);
    this.worker.postMessage(copy satisfies ScanRequest, [buffer]);
    if (this.queued <= MAX_QUEUED_BYTES) return true;
    return new Promise<boolean>((resolve) => {
      this.waiting.push(() => resolve(!this.failed));
    });
  }

  /** The whole scan, once the worker has seen every chunk (or its failure). */
  end(): Promise<CsvScan> {
    this.worker.postMessage('end' satisfies ScanRequest);
    return this.result;
  }

  /** Stops the worker, whatever its state. */
  async close(): Promise<void> {
    this.spare.length = 0;
    this.resume();
    await this.worker.terminate();
  }

  private resume(): void {
    for (const resume of this.waiting.splice(0)) resume();
  }
}
