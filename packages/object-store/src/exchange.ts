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

/** S3's error document (no body for HEAD, as on S3; the SDK then names the error after the status). */
export function sendError(
  req: IncomingMessage,
  res: ServerResponse,
  error: S3Error,
  requestId: string,
): void {
  // A body we have not read (a refused upload) is not worth reading to keep the connection: close it instead.
  if (!req.complete) res.setHeader('connection', 'close');
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
