import type { IncomingMessage, ServerResponse } from 'node:http';
import { S3Error } from './errors.js';
import { headerValue } from './request.js';

const ALLOWED_METHODS: readonly string[] = ['GET', 'HEAD', 'POST', 'PUT'];
const MAX_AGE_SECONDS = 3000;

/** Actual responses: an allowed origin may read them (and the ETag); any other origin learns nothing. */
export function addCorsHeaders(
  req: IncomingMessage,
  res: ServerResponse,
  origins: ReadonlySet<string>,
): void {
  res.setHeader('Vary', 'Origin');
  const origin = headerValue(req.headers, 'origin');
  if (origin === undefined || !origins.has(origin)) return;
  res.setHeader('Access-Control-Allow-Origin', origin);
  res.setHeader('Access-Control-Expose-Headers', 'ETag');
}

/** Preflight requests, which S3 answers without a signature: allowed, or refused with no allow headers. */
export function answerPreflight(
  req: IncomingMessage,
  res: ServerResponse,
  origins: ReadonlySet<string>,
): void {
  res.setHeader('Vary', 'Origin, Access-Control-Request-Headers, Access-Control-Request-Method');
  const origin = headerValue(req.headers, 'origin');
  const method = headerValue(req.headers, 'access-control-request-method');
  if (
    origin === undefined ||
    method === undefined ||
    !origins.has(origin) ||
    !ALLOWED_METHODS.includes(method)
  ) {
    throw new S3Error(403, 'AccessForbidden', 'CORSResponse: This CORS request is not allowed.');
  }
  res.setHeader('Access-Control-Allow-Origin', origin);
  res.setHeader('Access-Control-Allow-Methods', ALLOWED_METHODS.join(', '));
  const requestedHeaders = headerValue(req.headers, 'access-control-request-headers');
  if (requestedHeaders !== undefined) res.setHeader('Access-Control-Allow-Headers', requestedHeaders);
  res.setHeader('Access-Control-Max-Age', String(MAX_AGE_SECONDS));
  res.setHeader('Access-Control-Expose-Headers', 'ETag');
  res.writeHead(200).end();
}
