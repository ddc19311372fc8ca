import { randomBytes } from 'node:crypto';
import { readdirSync, readlinkSync } from 'node:fs';
import { get as get_ } from 'node:http';
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  DeleteObjectTaggingCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  PutObjectTaggingCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUCKET, presignUpload, sdkError, startTestStore, type TestStore, uploadForm } from './helpers.js';

let test: TestStore;

beforeAll(async () => {
  test = await startTestStore();
});

afterAll(async () => {
  await test?.stop();
});

const put = (
  Key: string,
  Body: string | Uint8Array = Key,
  extra: Partial<ConstructorParameters<typeof PutObjectCommand>[0]> = {},
) => test.client.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body, ...extra }));

const get = (Key: string) => test.client.send(new GetObjectCommand({ Bucket: BUCKET, Key }));

async function listAll(input: { Prefix?: string; MaxKeys?: number; StartAfter?: string }) {
  const pages: string[][] = [];
  let ContinuationToken: string | undefined;
  do {
    const page = await test.client.send(
      new ListObjectsV2Command({ Bucket: BUCKET, ...input, ContinuationToken }),
    );
    pages.push((page.Contents ?? []).map((object) => object.Key ?? ''));
    expect(page.KeyCount).toBe(page.Contents?.length ?? 0);
    ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (ContinuationToken);
  return pages;
}

describe('objects through the SDK', () => {
  it('puts, gets, heads and deletes a string object with its metadata', async () => {
    const put1 = await put('notes/hello.txt', 'hello, world', {
      ContentType: 'text/plain; charset=utf-8',
      ContentDisposition: 'attachment; filename="hello.txt"',
      CacheControl: 'no-cache',
      Metadata: { origin: 'test' },
      Tagging: 'a=1&b=two%20words',
    });
    expect(put1.ETag).toBe('"e4d7f1b4ed2e42d15898f4b27b019da4"');

    const object = await get('notes/hello.txt');
    expect(await object.Body?.transformToString()).toBe('hello, world');
    expect(object.ContentType).toBe('text/plain; charset=utf-8');
    expect(object.ContentDisposition).toBe('attachment; filename="hello.txt"');
    expect(object.CacheControl).toBe('no-cache');
    expect(object.Metadata).toEqual({ origin: 'test' });
    expect(object.ContentLength).toBe(12);
    expect(object.ETag).toBe(put1.ETag);
    expect(object.TagCount).toBe(2);

    const head = await test.client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'notes/hello.txt' }));
    expect(head.ContentLength).toBe(12);
    expect(head.ContentType).toBe('text/plain; charset=utf-8');
    expect(head.LastModified?.getTime()).toBeGreaterThan(Date.now() - 60_000);

    await test.client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'notes/hello.txt' }));
    expect(await sdkError(get('notes/hello.txt'))).toEqual({ name: 'NoSuchKey', status: 404 });
  });

  it('round-trips 3 MB of random bytes exactly, with the default content type', async () => {
    const bytes = randomBytes(3 * 1024 * 1024);
    await put('blobs/random.bin', bytes);
    const object = await get('blobs/random.bin');
    expect(Buffer.from((await object.Body?.transformToByteArray()) ?? []).equals(bytes)).toBe(true);
    expect(object.ContentLength).toBe(bytes.length);
  });

  it('sends 6 MB exactly to a reader that stops for a while, and closes the file for one that leaves', async () => {
    const bytes = randomBytes(6 * 1024 * 1024);
    await put('blobs/slow.bin', bytes);
    const url = await getSignedUrl(
      test.client,
      new GetObjectCommand({ Bucket: BUCKET, Key: 'blobs/slow.bin' }),
    );
    // A reader that stops leaves chunks waiting in the socket and in the store's stream: they must arrive
    // intact and in order once it reads again.
    const received = await new Promise<Buffer>((resolve, reject) => {
      get_(url, (response) => {
        const chunks: Buffer[] = [];
        response.once('data', () => {
          response.pause();
          setTimeout(() => response.resume(), 300);
        });
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve(Buffer.concat(chunks)));
        response.on('error', reject);
      }).on('error', reject);
    });
    expect(received.equals(bytes)).toBe(true);

    // The files of the store this process has open (the store runs in it).
    const openFiles = () =>
      readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`).startsWith(test.directory);
        } catch {
          return false;
        }
      }).length;
    await new Promise<void>((resolve, reject) => {
      const request = get_(url, (response) => {
        response.once('data', () => {
          request.destroy();
          resolve();
        });
      });
      request.on('error', () => undefined);
      setTimeout(() => reject(new Error('no data')), 5000);
    });
    await expect.poll(openFiles, { timeout: 5000 }).toBe(0);
  });

  it('answers NotFound to HEAD and NoSuchKey to GET of a missing key; the bucket exists', async () => {
    expect(
      await sdkError(test.client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'missing' }))),
    ).toEqual({
      name: 'NotFound',
      status: 404,
    });
    expect(await sdkError(get('missing/key'))).toEqual({ name: 'NoSuchKey', status: 404 });
    expect((await test.client.send(new HeadBucketCommand({ Bucket: BUCKET }))).$metadata.httpStatusCode).toBe(
      200,
    );
    expect(await sdkError(test.client.send(new HeadBucketCommand({ Bucket: 'another-bucket' })))).toEqual({
      name: 'NotFound',
      status: 404,
    });
  });

  it('deletes a key that does not exist without complaint', async () => {
    const result = await test.client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'never/was' }));
    expect(result.$metadata.httpStatusCode).toBe(204);
  });
});

describe('listing', () => {
  beforeAll(async () => {
    const keys = Array.from({ length: 25 }, (_, index) => `list/page/${String(index).padStart(2, '0')}.csv`);
    await Promise.all(keys.map((key) => put(key)));
  });

  it('pages through 25 keys ten at a time with continuation tokens', async () => {
    const pages = await listAll({ Prefix: 'list/page/', MaxKeys: 10 });
    expect(pages.map((page) => page.length)).toEqual([10, 10, 5]);
    expect(pages.flat()).toEqual(
      Array.from({ length: 25 }, (_, index) => `list/page/${String(index).padStart(2, '0')}.csv`),
    );
  });

  it('starts after a given key', async () => {
    const [page = []] = await listAll({ Prefix: 'list/page/', StartAfter: 'list/page/21.csv' });
    expect(page).toEqual(['list/page/22.csv', 'list/page/23.csv', 'list/page/24.csv']);
  });

  it('lists a partial prefix, and sizes, etags and dates', async () => {
    const page = await test.client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'list/page/1' }));
    expect(page.Contents?.map((object) => object.Key)).toEqual(
      Array.from({ length: 10 }, (_, index) => `list/page/1${index}.csv`),
    );
    const [first] = page.Contents ?? [];
    expect(first?.Size).toBe('list/page/10.csv'.length);
    expect(first?.ETag).toMatch(/^"[0-9a-f]{32}"$/);
    expect(first?.StorageClass).toBe('STANDARD');
    expect(first?.LastModified?.getTime()).toBeGreaterThan(Date.now() - 60_000);
    expect(page.Prefix).toBe('list/page/1');
    expect(page.IsTruncated).toBe(false);
  });

  it('orders keys by UTF-8 bytes, not by JavaScript string order', async () => {
    // U+FF5E sorts after U+1F600 in UTF-16 code units but before it in UTF-8 bytes; both sort after 'z'.
    const keys = ['order/😀', 'order/～', 'order/z', 'order/a/b', 'order/a', 'order/a-b'];
    await Promise.all(keys.map((key) => put(key)));
    const [page = []] = await listAll({ Prefix: 'order/' });
    expect(page).toEqual(['order/a', 'order/a-b', 'order/a/b', 'order/z', 'order/～', 'order/😀']);
  });

  it('finds a prefix among 2,000 unrelated keys', async () => {
    const unrelated = Array.from({ length: 2000 }, (_, index) => `noise/${index % 40}/${index}`);
    for (let start = 0; start < unrelated.length; start += 100) {
      await Promise.all(unrelated.slice(start, start + 100).map((key) => put(key, 'x')));
    }
    await Promise.all(
      ['projects/A/files/1', 'projects/A/files/2', 'projects/AB/files/3'].map((key) => put(key)),
    );
    const [page = []] = await listAll({ Prefix: 'projects/A/' });
    expect(page).toEqual(['projects/A/files/1', 'projects/A/files/2']);
    const everything = (await listAll({})).flat();
    expect(everything.filter((key) => key.startsWith('noise/'))).toHaveLength(2000);
  });
});

describe('DeleteObjects', () => {
  it('deletes keys with spaces, &, + and unicode, quietly or not', async () => {
    const keys = [
      'batch/with space.csv',
      'batch/a&b<c>.csv',
      'batch/1+1=2.csv',
      'batch/héllo wörld ✓.csv',
      'batch/quote\'"s',
    ];
    await Promise.all(keys.map((key) => put(key)));
    const result = await test.client.send(
      new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: keys.map((Key) => ({ Key })) } }),
    );
    expect(result.Deleted?.map((deleted) => deleted.Key).sort()).toEqual([...keys].sort());
    expect(result.Errors ?? []).toEqual([]);
    const [page = []] = await listAll({ Prefix: 'batch/' });
    expect(page).toEqual([]);

    await put('batch/again');
    const quiet = await test.client.send(
      new DeleteObjectsCommand({
        Bucket: BUCKET,
        Delete: { Objects: [{ Key: 'batch/again' }], Quiet: true },
      }),
    );
    expect(quiet.Deleted ?? []).toEqual([]);
    expect(await sdkError(get('batch/again'))).toMatchObject({ name: 'NoSuchKey' });
  });

  it('reports a key the store cannot hold as a per-key error', async () => {
    const result = await test.client.send(
      new DeleteObjectsCommand({
        Bucket: BUCKET,
        Delete: { Objects: [{ Key: '../escape' }, { Key: 'batch/fine' }] },
      }),
    );
    expect(result.Deleted?.map((deleted) => deleted.Key)).toEqual(['batch/fine']);
    expect(result.Errors?.map((error) => [error.Key, error.Code])).toEqual([
      ['../escape', 'InvalidArgument'],
    ]);
  });
});

describe('tagging', () => {
  it('puts, gets and deletes tags', async () => {
    await put('tagged/object.csv');
    const tagSet = async () =>
      (await test.client.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: 'tagged/object.csv' })))
        .TagSet;
    expect(await tagSet()).toEqual([]);
    await test.client.send(
      new PutObjectTaggingCommand({
        Bucket: BUCKET,
        Key: 'tagged/object.csv',
        Tagging: {
          TagSet: [
            { Key: 'leonidas-state', Value: 'confirmed' },
            { Key: 'a&b', Value: '<x y>' },
          ],
        },
      }),
    );
    expect(await tagSet()).toEqual([
      { Key: 'leonidas-state', Value: 'confirmed' },
      { Key: 'a&b', Value: '<x y>' },
    ]);
    expect((await get('tagged/object.csv')).TagCount).toBe(2);
    await test.client.send(new DeleteObjectTaggingCommand({ Bucket: BUCKET, Key: 'tagged/object.csv' }));
    expect(await tagSet()).toEqual([]);
  });

  it('refuses tags on a missing object and more than ten tags', async () => {
    const tagging = (Key: string, count: number) =>
      test.client.send(
        new PutObjectTaggingCommand({
          Bucket: BUCKET,
          Key,
          Tagging: {
            TagSet: Array.from({ length: count }, (_, index) => ({ Key: `k${index}`, Value: 'v' })),
          },
        }),
      );
    expect(await sdkError(tagging('tagged/missing', 1))).toEqual({ name: 'NoSuchKey', status: 404 });
    await put('tagged/many');
    expect(await sdkError(tagging('tagged/many', 11))).toEqual({ name: 'InvalidTag', status: 400 });
  });
});

describe('presigned URLs', () => {
  it('serves a presigned GET with the requested Content-Disposition, and the safety headers', async () => {
    await put('downloads/report.csv', 'a,b\n1,2\n', { ContentType: 'text/csv' });
    const url = await getSignedUrl(
      test.client,
      new GetObjectCommand({
        Bucket: BUCKET,
        Key: 'downloads/report.csv',
        ResponseContentDisposition: 'attachment; filename="report (1).csv"',
      }),
      { expiresIn: 60 },
    );
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-disposition')).toBe('attachment; filename="report (1).csv"');
    expect(response.headers.get('content-type')).toBe('text/csv');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('content-security-policy')).toBe("default-src 'none'; sandbox");
    expect(await response.text()).toBe('a,b\n1,2\n');
  });

  it('takes a browser upload through a presigned POST built like the app builds it', async () => {
    const key = 'projects/p1/files/f1';
    const contents = randomBytes(64 * 1024);
    const { url, fields } = await presignUpload(test.client, key, { contentType: 'text/csv' });
    const response = await fetch(url, { method: 'POST', body: uploadForm(fields, contents) });
    expect(response.status).toBe(204);
    expect(response.headers.get('etag')).toMatch(/^"[0-9a-f]{32}"$/);

    const object = await get(key);
    expect(object.ContentType).toBe('text/csv');
    expect(Buffer.from((await object.Body?.transformToByteArray()) ?? []).equals(contents)).toBe(true);
    const tags = await test.client.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: key }));
    expect(tags.TagSet).toEqual([{ Key: 'leonidas-state', Value: 'pending' }]);
  });
});
