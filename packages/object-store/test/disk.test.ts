import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import path from 'node:path';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  PutObjectTaggingCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { BUCKET, errorOf, presignUpload, startTestStore, type TestStore, uploadForm } from './helpers.js';

let test: TestStore;
let bucketDirectory: string;

beforeAll(async () => {
  test = await startTestStore();
  bucketDirectory = path.join(test.directory, BUCKET);
});

afterAll(async () => {
  await test?.stop();
});

const md5 = (data: string) => createHash('md5').update(data).digest('hex');

async function readObject(key: string) {
  const object = await test.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return { object, body: (await object.Body?.transformToString()) ?? '' };
}

async function exists(key: string) {
  try {
    await test.client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
    return true;
  } catch (error) {
    if ((error as Error).name === 'NotFound') return false;
    throw error;
  }
}

/** Every path under `directory` with its permission bits. */
async function modesUnder(
  directory: string,
): Promise<{ file: string; mode: number; isDirectory: boolean }[]> {
  const entries = await readdir(directory, { recursive: true });
  return Promise.all(
    [directory, ...entries.map((entry) => path.join(directory, entry))].map(async (file) => {
      const stats = await stat(file);
      return { file, mode: stats.mode & 0o777, isDirectory: stats.isDirectory() };
    }),
  );
}

describe('objects written by s3rver 3.7.1', () => {
  it('are read back through the SDK, with their metadata and tags', async () => {
    const directory = path.join(bucketDirectory, 'legacy', 'files');
    await mkdir(directory, { recursive: true, mode: 0o755 });
    const contents = 'x,y\n1,2\n';
    await writeFile(path.join(directory, 'report.csv._S3rver_object'), contents, { mode: 0o644 });
    await writeFile(
      path.join(directory, 'report.csv._S3rver_metadata.json'),
      JSON.stringify({ 'content-type': 'text/csv', 'x-amz-meta-source': 's3rver' }, null, 2),
    );
    await writeFile(path.join(directory, 'report.csv._S3rver_object.md5'), md5(contents));
    await writeFile(
      path.join(directory, 'report.csv._S3rver_tagging.xml'),
      '<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/">\n  <TagSet>\n    <Tag>\n      <Key>leonidas-state</Key>\n      <Value>confirmed</Value>\n    </Tag>\n  </TagSet>\n</Tagging>',
    );

    const { object, body } = await readObject('legacy/files/report.csv');
    expect(body).toBe(contents);
    expect(object.ContentType).toBe('text/csv');
    expect(object.Metadata).toEqual({ source: 's3rver' });
    expect(object.ETag).toBe(`"${md5(contents)}"`);
    const tags = await test.client.send(
      new GetObjectTaggingCommand({ Bucket: BUCKET, Key: 'legacy/files/report.csv' }),
    );
    expect(tags.TagSet).toEqual([{ Key: 'leonidas-state', Value: 'confirmed' }]);
    const listed = await test.client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'legacy/' }));
    expect(listed.Contents?.map((entry) => [entry.Key, entry.Size])).toEqual([
      ['legacy/files/report.csv', 8],
    ]);

    await test.client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'legacy/files/report.csv' }));
    expect(existsSync(path.join(bucketDirectory, 'legacy'))).toBe(false);
  });

  it('get their missing md5 computed and written', async () => {
    const directory = path.join(bucketDirectory, 'legacy-md5');
    await mkdir(directory, { recursive: true });
    await writeFile(path.join(directory, 'data._S3rver_object'), 'no md5 yet');
    const { object } = await readObject('legacy-md5/data');
    expect(object.ETag).toBe(`"${md5('no md5 yet')}"`);
    expect(object.ContentType).toBe('binary/octet-stream');
    expect(await readFile(path.join(directory, 'data._S3rver_object.md5'), 'utf8')).toBe(md5('no md5 yet'));
  });
});

describe('the files this store writes', () => {
  it('keep s3rver’s layout', async () => {
    await test.client.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: 'layout/a b/c.csv',
        Body: 'abc',
        ContentType: 'text/csv',
        Tagging: 'k=v',
      }),
    );
    const directory = path.join(bucketDirectory, 'layout', 'a b');
    expect((await readdir(directory)).sort()).toEqual([
      'c.csv._S3rver_metadata.json',
      'c.csv._S3rver_object',
      'c.csv._S3rver_object.md5',
    ]);
    expect(await readFile(path.join(directory, 'c.csv._S3rver_object'), 'utf8')).toBe('abc');
    expect(await readFile(path.join(directory, 'c.csv._S3rver_object.md5'), 'utf8')).toBe(md5('abc'));
    expect(JSON.parse(await readFile(path.join(directory, 'c.csv._S3rver_metadata.json'), 'utf8'))).toEqual({
      'content-type': 'text/csv',
      'x-amz-tagging': 'k=v',
    });
  });

  it('are private to their owner even under a umask that would strip the owner’s bits: 0700 and 0600', async () => {
    const previous = process.umask(0o277);
    const own = await startTestStore().finally(() => process.umask(previous));
    try {
      process.umask(0o277);
      await own.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'modes/deep/er/object', Body: 'x' }));
      await own.client.send(
        new PutObjectTaggingCommand({
          Bucket: BUCKET,
          Key: 'modes/deep/er/object',
          Tagging: { TagSet: [{ Key: 'a', Value: 'b' }] },
        }),
      );
      const { url, fields } = await presignUpload(own.client, 'modes/posted/object');
      expect((await fetch(url, { method: 'POST', body: uploadForm(fields, 'posted') })).status).toBe(204);
      process.umask(previous);
      const modes = await modesUnder(own.directory);
      expect(modes.map((entry) => path.relative(own.directory, entry.file)).sort()).toEqual([
        '',
        '.tmp',
        BUCKET,
        `${BUCKET}/modes`,
        `${BUCKET}/modes/deep`,
        `${BUCKET}/modes/deep/er`,
        `${BUCKET}/modes/deep/er/object._S3rver_metadata.json`,
        `${BUCKET}/modes/deep/er/object._S3rver_object`,
        `${BUCKET}/modes/deep/er/object._S3rver_object.md5`,
        `${BUCKET}/modes/posted`,
        `${BUCKET}/modes/posted/object._S3rver_metadata.json`,
        `${BUCKET}/modes/posted/object._S3rver_object`,
        `${BUCKET}/modes/posted/object._S3rver_object.md5`,
      ]);
      for (const { file, mode, isDirectory } of modes) {
        expect({ file, mode: mode.toString(8) }).toEqual({ file, mode: isDirectory ? '700' : '600' });
      }
    } finally {
      process.umask(previous);
      await own.stop();
    }
  });
});

/** Sends the start of an upload, waits until the store is writing it to a temp file, then drops the connection. */
async function abandonUpload(url: string, headers: Record<string, string | number>, start: Buffer) {
  const outgoing = request(url, { method: headers['content-type'] ? 'POST' : 'PUT', headers });
  outgoing.on('error', () => undefined);
  outgoing.write(start);
  const temp = path.join(test.directory, '.tmp');
  await expect.poll(async () => (await readdir(temp)).length, { timeout: 5000 }).toBeGreaterThan(0);
  outgoing.destroy();
  await expect.poll(() => readdir(temp), { timeout: 5000 }).toEqual([]);
}

describe('a client that goes away mid-upload', () => {
  it('leaves no object after an abandoned PUT, and the store keeps serving', async () => {
    const url = await getSignedUrl(test.client, new PutObjectCommand({ Bucket: BUCKET, Key: 'aborted/put' }));
    await abandonUpload(url, { 'content-length': 1024 * 1024 }, Buffer.alloc(256 * 1024));
    expect(await exists('aborted/put')).toBe(false);
    await test.client.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: 'aborted/after', Body: 'still here' }),
    );
    expect((await readObject('aborted/after')).body).toBe('still here');
  });

  it('leaves no object after an abandoned POST upload', async () => {
    const { url, fields } = await presignUpload(test.client, 'aborted/post', { maxBytes: 10 * 1024 * 1024 });
    const boundary = 'abandoned-boundary';
    const form = Object.entries(fields).map(
      ([name, value]) =>
        `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`,
    );
    const start = Buffer.concat([
      Buffer.from(
        `${form.join('')}--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n\r\n`,
      ),
      Buffer.alloc(256 * 1024, 'a'),
    ]);
    await abandonUpload(
      url,
      { 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': 4 * 1024 * 1024 },
      start,
    );
    expect(await exists('aborted/post')).toBe(false);
  });
});

describe('concurrent writes and deletes in one directory', () => {
  it('never fail a put, although deletes prune the directories they empty', async () => {
    for (let round = 0; round < 40; round += 1) {
      await test.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `race/${round}/old`, Body: 'old' }));
      await Promise.all([
        test.client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: `race/${round}/old` })),
        test.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `race/${round}/new`, Body: 'new' })),
      ]);
      expect(await exists(`race/${round}/new`)).toBe(true);
      expect(await exists(`race/${round}/old`)).toBe(false);
    }
  });
});

describe('an unexpected failure', () => {
  it('is a 500 InternalError that tells nothing about the store’s insides', async () => {
    await test.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'broken/object', Body: 'x' }));
    await test.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'broken/neighbour', Body: 'fine' }));
    await writeFile(path.join(bucketDirectory, 'broken', 'object._S3rver_metadata.json'), '{ not json');
    await chmod(path.join(bucketDirectory, 'broken', 'object._S3rver_metadata.json'), 0o600);
    const logged = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const url = await getSignedUrl(
        test.client,
        new GetObjectCommand({ Bucket: BUCKET, Key: 'broken/object' }),
      );
      const response = await fetch(url);
      const body = await response.clone().text();
      expect(await errorOf(response)).toMatchObject({ status: 500, code: 'InternalError' });
      expect(body).not.toContain(test.directory);
      expect(body).not.toContain('JSON');
      expect(logged).toHaveBeenCalled();
    } finally {
      logged.mockRestore();
    }
    expect((await readObject('broken/neighbour')).body).toBe('fine');
  });
});
