import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  PutObjectTaggingCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { isEndpointUnreachable } from '@leonidas/db';

export interface StorageConfig {
  bucket: string;
  region: string;
  /** Unset for AWS S3; any S3-compatible endpoint otherwise (path-style addressing). */
  endpoint?: string | undefined;
  /** Where browsers reach the store, when it differs from where the server does. */
  publicEndpoint?: string | undefined;
  credentials?: { accessKeyId: string; secretAccessKey: string } | undefined;
}

/**
 * Uploads arrive tagged pending and are re-tagged once confirmed, so a bucket lifecycle rule can expire objects
 * that were never confirmed (a backstop to the server's own sweep; see infra/terraform).
 */
export const UPLOAD_STATE_TAG = 'leonidas-state';
/** Tries of a file upload on a dropped connection: the SDK's own default for the requests it retries. */
const UPLOAD_ATTEMPTS = 3;

const tagging = (state: 'pending' | 'confirmed') =>
  `<Tagging><TagSet><Tag><Key>${UPLOAD_STATE_TAG}</Key><Value>${state}</Value></Tag></TagSet></Tagging>`;

/** The inspection of a download found what it needed (a reason to refuse the file): the rest is not read. */
export class InspectionStoppedError extends Error {
  constructor() {
    super('Download stopped by its inspection');
    this.name = 'InspectionStoppedError';
  }
}

export class ObjectTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`Object is larger than ${limit} bytes`);
    this.name = 'ObjectTooLargeError';
  }
}

/**
 * The store could not be reached (refused, reset, timed out, or answering 503) after the SDK's retries: told
 * apart from the database being down, so the caller hears which part is missing.
 */
export class StorageUnavailableError extends Error {
  constructor(cause: unknown) {
    super('The object store could not be reached', { cause });
    this.name = 'StorageUnavailableError';
  }
}

/** The one S3 client of the API: presigned uploads and downloads, streaming reads, small JSON objects. */
export class Storage {
  readonly bucket: string;
  private readonly client: S3Client;
  private readonly presigner: S3Client;
  private destroyed = false;

  constructor(config: StorageConfig) {
    this.bucket = config.bucket;
    this.client = createClient(config, config.endpoint);
    this.presigner = config.publicEndpoint ? createClient(config, config.publicEndpoint) : this.client;
    // Checked before every attempt (inside the SDK's retries): a call cut off by `destroy` is not sent again.
    this.client.middlewareStack.add(
      (next) => async (args) => {
        if (this.destroyed)
          throw new StorageUnavailableError(new Error('The object store client was closed'));
        return next(args);
      },
      { step: 'deserialize', priority: 'high', name: 'storageClosed' },
    );
  }

  /** A browser-style multipart POST whose policy pins the key, the content type and the size range. */
  async presignUpload(input: {
    key: string;
    contentType: string;
    maxBytes: number;
    expiresInSeconds: number;
  }) {
    const { url, fields } = await createPresignedPost(this.presigner, {
      Bucket: this.bucket,
      Key: input.key,
      Conditions: [
        ['content-length-range', 1, input.maxBytes],
        ['eq', '$Content-Type', input.contentType],
        ['eq', '$tagging', tagging('pending')],
      ],
      Fields: { 'Content-Type': input.contentType, tagging: tagging('pending') },
      Expires: input.expiresInSeconds,
    });
    return { url, fields };
  }

  /** A short-lived GET that makes browsers save the object under `filename` (RFC 6266). */
  presignDownload(input: { key: string; filename: string; expiresInSeconds: number }): Promise<string> {
    return getSignedUrl(
      this.presigner,
      new GetObjectCommand({
        Bucket: this.bucket,
        Key: input.key,
        ResponseContentDisposition: contentDisposition(input.filename),
      }),
      { expiresIn: input.expiresInSeconds },
    );
  }

  /** The object's size, or null when there is no such object. */
  async size(key: string): Promise<number | null> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return head.ContentLength ?? 0;
    } catch (error) {
      if (isMissingObject(error)) return null;
      throw error;
    }
  }

  /**
   * Streams the object to a file, never holding it in memory; stops once it exceeds `maxBytes`. Each chunk is
   * also handed to `inspect` on the way, so a check can run while the file arrives; when it answers `false` the
   * download stops there (`InspectionStoppedError`).
   */
  async downloadToFile(
    key: string,
    path: string,
    options: { maxBytes: number; inspect?: (chunk: Buffer) => boolean | Promise<boolean> },
  ): Promise<number> {
    const object = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    if (!(object.Body instanceof Readable)) throw new Error('S3 returned no readable body');
    let bytes = 0;
    const limit = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        bytes += chunk.length;
        if (bytes > options.maxBytes) return callback(new ObjectTooLargeError(options.maxBytes));
        const inspected = options.inspect?.(chunk) ?? true;
        if (inspected === true) return callback(null, chunk);
        if (inspected === false) return callback(new InspectionStoppedError());
        // The inspector is behind: the download waits for it.
        inspected.then(
          (go) => (go ? callback(null, chunk) : callback(new InspectionStoppedError())),
          (error: unknown) => callback(error as Error),
        );
      },
    });
    await pipeline(object.Body, limit, createWriteStream(path));
    return bytes;
  }

  /** Marks an upload as confirmed, so the lifecycle rule for abandoned uploads leaves it alone. */
  async markConfirmed(key: string): Promise<void> {
    await this.client.send(
      new PutObjectTaggingCommand({
        Bucket: this.bucket,
        Key: key,
        Tagging: { TagSet: [{ Key: UPLOAD_STATE_TAG, Value: 'confirmed' }] },
      }),
    );
  }

  /** For tests: a deployment never reads tags, so its role is not granted s3:GetObjectTagging. */
  async tagsOf(key: string): Promise<Record<string, string>> {
    const { TagSet = [] } = await this.client.send(
      new GetObjectTaggingCommand({ Bucket: this.bucket, Key: key }),
    );
    return Object.fromEntries(TagSet.map((tag) => [tag.Key ?? '', tag.Value ?? '']));
  }

  async putJson(key: string, value: unknown, contentType = 'application/json'): Promise<void> {
    await this.putObject(key, JSON.stringify(value), contentType);
  }

  async putObject(key: string, body: string | Buffer, contentType: string): Promise<void> {
    await this.client.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: contentType }),
    );
  }

  /**
   * Streams a local file into the object, never holding it in memory. The SDK does not retry a request whose
   * body is a stream (it cannot read it twice), so one dropped connection (a keep-alive socket the store closed
   * as it was reused) would fail the upload: it is tried again here, from a fresh read of the file, as the SDK
   * retries any other request.
   */
  async uploadFile(key: string, path: string, contentType: string): Promise<void> {
    const { size } = await stat(path);
    for (let attempt = 1; ; attempt++) {
      try {
        await this.client.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: key,
            Body: createReadStream(path),
            ContentLength: size,
            ContentType: contentType,
          }),
        );
        return;
      } catch (error) {
        const retry =
          error instanceof StorageUnavailableError && attempt < UPLOAD_ATTEMPTS && !this.destroyed;
        if (!retry) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
      }
    }
  }

  /** The stored JSON value, or null when there is no such object. */
  async getJson(key: string): Promise<unknown> {
    try {
      const object = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return JSON.parse((await object.Body?.transformToString('utf-8')) ?? 'null');
    } catch (error) {
      if (isMissingObject(error)) return null;
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  /** Deletes every object under the prefix, a thousand at a time. */
  async deletePrefix(prefix: string): Promise<number> {
    let deleted = 0;
    let continuationToken: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: prefix,
          ContinuationToken: continuationToken,
        }),
      );
      const keys = (page.Contents ?? []).flatMap((object) => (object.Key ? [{ Key: object.Key }] : []));
      if (keys.length > 0) {
        await this.client.send(
          new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: keys, Quiet: true } }),
        );
        deleted += keys.length;
      }
      continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (continuationToken);
    return deleted;
  }

  async listKeys(prefix: string): Promise<string[]> {
    const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix }));
    return (page.Contents ?? []).flatMap((object) => (object.Key ? [object.Key] : []));
  }

  /**
   * Closes the connections: calls in flight fail (they are not retried) and later calls fail at once, as
   * `StorageUnavailableError`.
   */
  destroy(): void {
    this.destroyed = true;
    this.client.destroy();
    if (this.presigner !== this.client) this.presigner.destroy();
  }
}

/**
 * A missing object, as HEAD (`NotFound`, no body to name it) and GET (`NoSuchKey`) report it: a 404 either way.
 * A 403 is not taken for one: S3 answers 403 for a missing key only to a caller without s3:ListBucket on the
 * bucket, which infra/terraform grants for that reason, so a 403 here is a real refusal (a wrong key, a policy
 * or a bucket that is not ours) and must surface rather than make files look deleted.
 */
export function isMissingObject(error: unknown): boolean {
  const { name, $metadata } = error as { name?: unknown; $metadata?: { httpStatusCode?: unknown } };
  // A missing bucket is a misconfiguration, not a missing file (GET names it; HEAD cannot).
  if (name === 'NoSuchBucket') return false;
  return name === 'NotFound' || name === 'NoSuchKey' || $metadata?.httpStatusCode === 404;
}

function createClient(config: StorageConfig, endpoint: string | undefined): S3Client {
  const client = new S3Client({
    region: config.region,
    ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
    ...(config.credentials ? { credentials: config.credentials } : {}),
    // S3-compatible stores (MinIO, the embedded one) do not take the SDK's default flexible checksums.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  // Outermost, so it sees what is left once the SDK's own retries are spent.
  client.middlewareStack.add(
    (next) => async (args) => {
      try {
        return await next(args);
      } catch (error) {
        throw isEndpointUnreachable(error) ? new StorageUnavailableError(error) : error;
      }
    },
    { step: 'initialize', priority: 'high', name: 'storageUnavailable' },
  );
  return client;
}

/** `attachment` with an ASCII fallback name and the exact name percent-encoded as UTF-8 (RFC 6266 / 5987). */
export function contentDisposition(filename: string): string {
  const fallback = filename
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^\x20-\x7e]/g, '_')
    .replace(/["\\]/g, '_');
  const encoded = encodeURIComponent(filename).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}
