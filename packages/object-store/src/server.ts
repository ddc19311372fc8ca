import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import path from 'node:path';
import { Authenticator, PRESIGN_PARAMETERS } from './auth.js';
import { BodyVerifier, bodyExpectations, readSmallBody } from './body.js';
import {
  deleteObjects,
  headBucket,
  LIST_PARAMETERS,
  listObjectsV2,
  postObject,
} from './bucket-operations.js';
import { addCorsHeaders, answerPreflight } from './cors.js';
import { notImplemented, S3Error } from './errors.js';
import { type Exchange, type StoreContext, sendError } from './exchange.js';
import { ObjectFiles } from './files.js';
import {
  deleteObject,
  deleteObjectTagging,
  getObject,
  getObjectTagging,
  putObject,
  putObjectTagging,
  RESPONSE_OVERRIDES,
} from './object-operations.js';
import { headerValue, parseTarget, type RequestTarget } from './request.js';
import { settledWithin } from './within.js';

export interface ObjectStoreOptions {
  /** The data root (created if missing, mode 0700). */
  directory: string;
  /** The one bucket served (created if missing); any other bucket name is NoSuchBucket. */
  bucket: string;
  /** The only key pair accepted. */
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** Signatures must be scoped to this region (and service s3). Default us-east-1. */
  region?: string;
  /** Browser origins allowed by CORS, matched exactly (e.g. `http://localhost:3000`). */
  corsOrigins: string[];
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: a free port. */
  port?: number;
  /** Epoch milliseconds; default Date.now. */
  now?: () => number;
}

export interface ObjectStore {
  /** e.g. http://127.0.0.1:PORT */
  endpoint: string;
  port: number;
  stop(): Promise<void>;
}

/** Slow uploads are fine (no request timeout); a socket with no traffic at all for this long is closed. */
const IDLE_SOCKET_MS = 2 * 60 * 1000;
const HEADERS_TIMEOUT_MS = 60 * 1000;
/** How long `stop` waits for the requests being handled to settle once their connections are closed. */
const STOP_WAIT_MS = 5_000;

/** An operation that reads its own body (PutObject streams it to disk). */
type StreamingOperation = (context: StoreContext, exchange: Exchange) => Promise<void>;
/** An operation whose (small) body is read and verified against the signature before it runs. */
type BufferedOperation = (context: StoreContext, exchange: Exchange, body: Buffer) => Promise<void>;

type Route = { parameters: readonly string[] } & (
  | { streaming: StreamingOperation }
  | { buffered: BufferedOperation }
);

/** Parameters any request may carry: the SDK's operation marker and the presigning ones. */
const COMMON_PARAMETERS: ReadonlySet<string> = new Set(['x-id', ...PRESIGN_PARAMETERS]);

const TAGGING_OPERATIONS: Readonly<Record<string, BufferedOperation>> = {
  GET: getObjectTagging,
  PUT: putObjectTagging,
  DELETE: deleteObjectTagging,
};

function checkBucket(requested: string, bucket: string): void {
  if (requested === '') throw notImplemented('ListBuckets is not supported by this store.');
  if (requested !== bucket) {
    throw new S3Error(404, 'NoSuchBucket', 'The specified bucket does not exist', { BucketName: requested });
  }
}

function routeFor(method: string, target: RequestTarget): Route | undefined {
  const { key, query } = target;
  if (key === '') {
    if (method === 'HEAD') return { parameters: [], buffered: headBucket };
    if (method === 'GET' && query['list-type'] === '2') {
      return { parameters: LIST_PARAMETERS, buffered: listObjectsV2 };
    }
    if (method === 'POST' && 'delete' in query) return { parameters: ['delete'], buffered: deleteObjects };
    return undefined;
  }
  if ('tagging' in query) {
    const tagging = TAGGING_OPERATIONS[method];
    return tagging && { parameters: ['tagging'], buffered: tagging };
  }
  if (method === 'GET' || method === 'HEAD') {
    return { parameters: Object.keys(RESPONSE_OVERRIDES), buffered: getObject };
  }
  if (method === 'PUT') return { parameters: [], streaming: putObject };
  if (method === 'DELETE') return { parameters: [], buffered: deleteObject };
  return undefined;
}

const isPostUpload = (req: IncomingMessage, target: RequestTarget) =>
  req.method === 'POST' &&
  target.key === '' &&
  Object.keys(target.query).length === 0 &&
  (headerValue(req.headers, 'content-type') ?? '').toLowerCase().startsWith('multipart/form-data');

async function handleRequest(
  context: StoreContext,
  origins: ReadonlySet<string>,
  req: IncomingMessage,
  res: ServerResponse,
) {
  const requestId = randomBytes(8).toString('hex').toUpperCase();
  res.setHeader('x-amz-request-id', requestId);
  // Whatever a user uploaded must never run as a page of this origin.
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('content-security-policy', "default-src 'none'; sandbox");
  try {
    if (req.method === 'OPTIONS') {
      answerPreflight(req, res, origins);
      return;
    }
    addCorsHeaders(req, res, origins);
    const target = parseTarget(req.url ?? '/');
    if (isPostUpload(req, target)) {
      checkBucket(target.bucket, context.bucket);
      await postObject(context, req, res);
      return;
    }
    const payloadHash = await context.authenticator.authenticate(req, target);
    checkBucket(target.bucket, context.bucket);
    const method = req.method ?? '';
    const route = routeFor(method, target);
    if (!route) throw notImplemented(`This ${method} request is not supported by this store.`);
    const unsupported = Object.keys(target.query).filter(
      (name) => !COMMON_PARAMETERS.has(name) && !route.parameters.includes(name),
    );
    if (unsupported.length > 0) {
      throw notImplemented(
        `These query parameters are not supported by this store: ${unsupported.join(', ')}`,
      );
    }
    const exchange = { req, res, target, payloadHash };
    if ('streaming' in route) {
      await route.streaming(context, exchange);
    } else {
      const body = await readSmallBody(req, new BodyVerifier(bodyExpectations(req.headers, payloadHash)));
      await route.buffered(context, exchange, body);
    }
  } catch (error) {
    // Nobody is left to answer (the client went away, or the object is half sent).
    if (res.headersSent || req.socket.destroyed) {
      res.destroy();
      return;
    }
    if (error instanceof S3Error) {
      sendError(req, res, error, requestId);
      return;
    }
    console.error(`object-store: request ${requestId} failed`, error);
    sendError(
      req,
      res,
      new S3Error(500, 'InternalError', 'We encountered an internal error. Please try again.'),
      requestId,
    );
  }
}

function checkOptions(options: ObjectStoreOptions): void {
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(options.bucket) || options.bucket.includes('..')) {
    throw new Error(`Invalid bucket name: ${options.bucket}`);
  }
  if (!/^[A-Za-z0-9]+$/.test(options.credentials.accessKeyId) || options.credentials.secretAccessKey === '') {
    throw new Error('The object store needs an alphanumeric access key id and a secret');
  }
  if (options.region !== undefined && !/^[a-z0-9-]+$/.test(options.region)) {
    throw new Error(`Invalid region: ${options.region}`);
  }
}

/** Starts the store: a local stand-in for S3 that enforces what S3 enforces for the flows the app uses. */
export async function startObjectStore(options: ObjectStoreOptions): Promise<ObjectStore> {
  checkOptions(options);
  const host = options.host ?? '127.0.0.1';
  const now = options.now ?? Date.now;
  const files = await ObjectFiles.open(path.resolve(options.directory), options.bucket);
  const authenticator = new Authenticator({
    credentials: { ...options.credentials },
    region: options.region ?? 'us-east-1',
    now,
  });
  const context: StoreContext = { bucket: options.bucket, files, authenticator, now };
  const origins = new Set(options.corsOrigins);
  // The requests being handled: `stop` waits for them, so that none is cut off half-way through writing an
  // object (its files moved one by one) when what runs the store ends right after (a worker thread is terminated).
  const handling = new Set<Promise<void>>();
  const server = createServer({ requestTimeout: 0, headersTimeout: HEADERS_TIMEOUT_MS }, (req, res) => {
    const handled = handleRequest(context, origins, req, res).catch(() => {
      res.destroy();
    });
    handling.add(handled);
    void handled.finally(() => handling.delete(handled));
  });
  // With no 'timeout' listener, Node destroys the idle socket.
  server.setTimeout(IDLE_SOCKET_MS);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') {
    throw new Error('The object store is not listening on TCP');
  }
  return {
    endpoint: `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`,
    port: address.port,
    // The connections are closed at once; a request cut off that way stops where it can clean up (an upload's
    // staged file is removed), and one committing an object finishes it. A request that has not settled by
    // STOP_WAIT_MS is not waited for: stopping must end.
    stop: async () => {
      await new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
      await settledWithin(Promise.allSettled([...handling]), STOP_WAIT_MS);
    },
  };
}
