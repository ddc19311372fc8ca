/**
 * The worker thread's side of `ScanInWorker`: a `CsvScanner` fed the chunks the server posts, so that a large
 * file's scan runs beside its download instead of on the server's event loop. The server's build bundles it as a
 * file of its own (`dist/scan-worker.js`).
 */
import { parentPort } from 'node:worker_threads';
import { type CsvScan, CsvScanner } from './csv-scan.js';

/** What the server posts: a chunk of the file (a copy), or the end of it. */
export type ScanRequest = Uint8Array<ArrayBuffer> | 'end';
/**
 * What the worker answers: a chunk scanned (handed back, so its memory is used again for a later chunk), the scan's
 * first failure, or the whole scan at the end.
 */
export type ScanReply =
  | { type: 'scanned'; chunk: Uint8Array<ArrayBuffer> }
  | { type: 'failed'; reason: string }
  | { type: 'done'; scan: CsvScan };

const port = parentPort;
if (port) {
  const scanner = new CsvScanner();
  let failure: string | undefined;
  port.on('message', (request: ScanRequest) => {
    if (request === 'end') {
      const reply: ScanReply = {
        type: 'done',
        scan: failure === undefined ? scanner.end() : { ok: false, reason: failure },
      };
      port.postMessage(reply);
      return;
    }
    // After a failure the rest is not looked at: the server stops the download when it hears of it.
    if (failure === undefined) {
      failure = scanner.push(Buffer.from(request.buffer, request.byteOffset, request.byteLength));
      if (failure !== undefined) port.postMessage({ type: 'failed', reason: failure } satisfies ScanReply);
    }
    // The scanner keeps no reference to a chunk it was pushed, so the chunk can go back.
    port.postMessage({ type: 'scanned', chunk: request } satisfies ScanReply, [request.buffer]);
  });
}
