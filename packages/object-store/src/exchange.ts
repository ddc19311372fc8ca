import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Authenticator } from './auth.js';
import type { S3Error } from './errors.js';
import type { ObjectFiles } from './files.js';
import type { RequestTarget } from './request.js';
import { leaf, xmlDocument } from './xml.js';

/** What every operation works with: the one bucket and its files. */
export interface StoreContext {
  bucket: string;
  files: ObjectFiles;
  authenticator: Authenticator;
  now: () => number;
}

/** One authenticated request on its way through an operation. */
export interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  target: RequestTarget;
  /** What the signature says the body hashes to: hex SHA-256, or UNSIGNED-PAYLOAD. */
  payloadHash: string;
}

export function sendXml(res: ServerResponse, status: number, xml: string): void {
  res
    .writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(xml) })
    .end(xml);
}

/** How much of a refused request's body is read before answering, and for how long at most. */
const LINGER_BYTES = 1024 * 1024;
const LINGER_MS = 2_000;
/** How long the rest of a large refused body is read and dropped after the answer, at most. */
const DRAIN_MS = 10_000;

function once(run: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    run();
  };
}

/** S3's error document (no body for HEAD, as on S3; the SDK then names the error after the status). */
export function sendError(
  req: IncomingMessage,
  res: ServerResponse,
  error: S3Error,
  requestId: string,
): void {
  if (!req.complete) {
    // The rest of a small body is read (and dropped) before answering: closing a socket the client is still
    // writing to makes it fail with EPIPE instead of reading the answer (Node 24's fetch does).
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared <= LINGER_BYTES) {
      const answer = once(() => writeError(req, res, error, requestId));
      req.once('end', answer).once('error', answer).once('close', answer);
      setTimeout(answer, LINGER_MS).unref();
      req.resume();
      return;
    }
    // A large body (a refused upload) is answered at once; what the client still sends is read and dropped for
    // a moment, so that it reads the answer rather than failing on a reset socket, then the connection is cut.
    writeError(req, res, error, requestId, { keepReading: true });
    req.resume();
    setTimeout(() => {
      if (!req.complete) req.socket.destroy();
    }, DRAIN_MS).unref();
    return;
  }
  writeError(req, res, error, requestId);
}

function writeError(
  req: IncomingMessage,
  res: ServerResponse,
  error: S3Error,
  requestId: string,
  options: { keepReading?: boolean } = {},
): void {
  if (res.destroyed || res.headersSent) return;
  // Still not read whole (the client stopped sending): nothing more is read from this connection. Closing it
  // now would reset it under a client still sending, unless the caller keeps reading for a while.
  if (!req.complete && !options.keepReading) res.setHeader('connection', 'close');
  if (req.method === 'HEAD') {
    res.writeHead(error.status).end();
    return;
  }
  const details = Object.entries(error.details).map(([name, value]) => leaf(name, value));
  const xml = xmlDocument(
    'Error',
    [leaf('Code', error.code), leaf('Message', error.message), ...details, leaf('RequestId', requestId)],
    false,
  );
  sendXml(res, error.status, xml);
}
