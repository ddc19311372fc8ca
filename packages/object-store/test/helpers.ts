import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import {
  generateCredentials,
  type ObjectStore,
  type ObjectStoreOptions,
  startObjectStore,
} from '../src/index.js';

export const BUCKET = 'leonidas-test';
export const REGION = 'eu-west-3';
export const WEB_ORIGIN = 'http://localhost:3000';

export interface TestStore {
  store: ObjectStore;
  directory: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** The app's client, with the store's key pair. */
  client: S3Client;
  /** Moves the store's clock (not the client's). */
  clock: { offsetMs: number };
  stop(): Promise<void>;
}

/** A client configured exactly like the app's. */
export function createClient(
  endpoint: string,
  credentials: { accessKeyId: string; secretAccessKey: string },
) {
  return new S3Client({
    region: REGION,
    endpoint,
    forcePathStyle: true,
    credentials,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** A store of its own on a fresh temp directory; `stop` removes both. */
export async function startTestStore(options: Partial<ObjectStoreOptions> = {}): Promise<TestStore> {
  const root = await mkdtemp(path.join(tmpdir(), 'object-store-test-'));
  const directory = path.join(root, 'data');
  const credentials = generateCredentials();
  const clock = { offsetMs: 0 };
  const store = await startObjectStore({
    directory,
    bucket: BUCKET,
    credentials,
    region: REGION,
    corsOrigins: [WEB_ORIGIN],
    now: () => Date.now() + clock.offsetMs,
    ...options,
  });
  const client = createClient(store.endpoint, credentials);
  return {
    store,
    directory,
    credentials,
    client,
    clock,
    async stop() {
      client.destroy();
      try {
        await store.stop();
      } finally {
        await rm(root, { recursive: true, force: true });
      }
    },
  };
}

/** An object's contents as text, or undefined when there is no such object. */
export async function readObject(client: S3Client, key: string): Promise<string | undefined> {
  try {
    const object = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    return (await object.Body?.transformToString()) ?? '';
  } catch (error) {
    if ((error as Error).name === 'NoSuchKey') return undefined;
    throw error;
  }
}

export const PENDING_TAGGING =
  '<Tagging><TagSet><Tag><Key>leonidas-state</Key><Value>pending</Value></Tag></TagSet></Tagging>';

/** A presigned POST built exactly as the app builds it. */
export function presignUpload(
  client: S3Client,
  key: string,
  options: { contentType?: string; maxBytes?: number; expires?: number } = {},
) {
  const contentType = options.contentType ?? 'text/csv';
  return createPresignedPost(client, {
    Bucket: BUCKET,
    Key: key,
    Conditions: [
      ['content-length-range', 1, options.maxBytes ?? 1024 * 1024],
      ['eq', '$Content-Type', contentType],
      ['eq', '$tagging', PENDING_TAGGING],
    ],
    Fields: { 'Content-Type': contentType, tagging: PENDING_TAGGING },
    Expires: options.expires ?? 300,
  });
}

/** What a browser sends for that form: every field, then the file last. */
export function uploadForm(
  fields: Record<string, string>,
  file: Uint8Array | string,
  filename = 'data.csv',
): FormData {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  form.append('file', new Blob([file], { type: 'application/octet-stream' }), filename);
  return form;
}

/** The parts of an S3 XML error document the tests look at. */
export async function errorOf(
  response: Response,
): Promise<{ status: number; code: string; message: string }> {
  const body = await response.text();
  return {
    status: response.status,
    code: /<Code>([^<]*)<\/Code>/.exec(body)?.[1] ?? '',
    message: /<Message>([^<]*)<\/Message>/.exec(body)?.[1] ?? '',
  };
}

/** The error an SDK call fails with (its name is the S3 error code, or the status name for HEAD). */
export async function sdkError(
  promise: Promise<unknown>,
): Promise<{ name: string; status: number | undefined }> {
  try {
    await promise;
  } catch (error) {
    const failure = error as Error & { $metadata?: { httpStatusCode?: number } };
    return { name: failure.name, status: failure.$metadata?.httpStatusCode };
  }
  throw new Error('Expected the call to fail');
}

interface OutgoingRequest {
  path: string;
  headers: Record<string, string>;
  body?: unknown;
}

/**
 * Lets a test change every request of `client` just before it is signed (what a client may sign for) or just
 * after (what an attacker on the way could do). Signing happens in the finalizeRequest step; the build step
 * comes before it, and a low-priority finalizeRequest middleware after it.
 */
export function alterRequests(
  client: S3Client,
  when: 'before' | 'after',
  alter: (request: OutgoingRequest) => void,
) {
  const altered = <Args extends { request: unknown }>(args: Args): Args => {
    alter(args.request as OutgoingRequest);
    return args;
  };
  const options = { priority: 'low', name: `alter-${when}-signing` } as const;
  if (when === 'before') {
    client.middlewareStack.add((next) => (args) => next(altered(args)), { ...options, step: 'build' });
  } else {
    client.middlewareStack.add((next) => (args) => next(altered(args)), {
      ...options,
      step: 'finalizeRequest',
    });
  }
}
