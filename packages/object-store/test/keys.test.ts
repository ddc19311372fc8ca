import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alterRequests, BUCKET, createClient, sdkError, startTestStore, type TestStore } from './helpers.js';

let test: TestStore;
/** Holds the data directory and nothing else; the attacks aim here and above. */
let root: string;
const marker = `escape-${randomBytes(4).toString('hex')}`;

beforeAll(async () => {
  test = await startTestStore();
  root = path.dirname(test.directory);
  // A file that reads of `../../outside` would serve if keys could climb out of the bucket.
  await writeFile(path.join(root, 'outside._S3rver_object'), 'not for you');
});

afterAll(async () => {
  await test?.stop();
});

/** A client that sends `rawPath` (kept percent-encoded as given) instead of the path the SDK built, signed. */
function clientSendingRawPath(rawPath: string): S3Client {
  const client = createClient(test.store.endpoint, test.credentials);
  alterRequests(client, 'before', (request) => {
    request.path = rawPath;
  });
  return client;
}

function expectNothingOutside() {
  for (const level of [root, path.dirname(root), path.dirname(path.dirname(root))]) {
    expect(existsSync(path.join(level, `${marker}._S3rver_object`))).toBe(false);
    expect(existsSync(path.join(level, marker))).toBe(false);
  }
}

describe('keys that would leave the data directory', () => {
  const traversalKeys = [
    `../${marker}`,
    `../../${marker}`,
    `../../../${marker}`,
    `a/../../../${marker}`,
    `/${marker}`,
    `./${marker}`,
    `a/./${marker}`,
    `a//${marker}`,
    `${marker}/`,
    `a/..`,
  ];

  it.each(traversalKeys)('refuses to write or read %j', async (key) => {
    const write = test.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'escaped' }));
    expect(await sdkError(write)).toEqual({ name: 'InvalidArgument', status: 400 });
    const read = test.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    expect(await sdkError(read)).toEqual({ name: 'InvalidArgument', status: 400 });
    expectNothingOutside();
  });

  it.each([
    `/${BUCKET}/%2e%2e/%2e%2e/${marker}`,
    `/${BUCKET}/%2E%2E%2F%2E%2E%2F${marker}`,
    `/${BUCKET}/a/%2e%2e/%2e%2e/%2e%2e/${marker}`,
    `/${BUCKET}/..%2f..%2f${marker}`,
  ])('refuses the raw path %s', async (rawPath) => {
    const client = clientSendingRawPath(rawPath);
    const write = client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'placeholder', Body: 'escaped' }));
    expect(await sdkError(write)).toEqual({ name: 'InvalidArgument', status: 400 });
    client.destroy();
    expectNothingOutside();
  });

  it('does not serve a file outside the bucket', async () => {
    for (const rawPath of [`/${BUCKET}/%2e%2e/%2e%2e/outside`, `/${BUCKET}/../../outside`]) {
      const client = clientSendingRawPath(rawPath);
      const read = client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'placeholder' }));
      expect(await sdkError(read)).toEqual({ name: 'InvalidArgument', status: 400 });
      client.destroy();
    }
    const bucketNamedUp = clientSendingRawPath('/%2e%2e/outside');
    expect(
      await sdkError(bucketNamedUp.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'x' }))),
    ).toMatchObject({
      name: 'NoSuchBucket',
    });
    bucketNamedUp.destroy();
  });

  it('leaves the directory holding the data directory as it was', async () => {
    expect((await readdir(root)).sort()).toEqual(['data', 'outside._S3rver_object']);
    expect((await readdir(test.directory)).sort()).toEqual(['.tmp', BUCKET]);
  });
});

describe('keys the layout cannot hold', () => {
  it.each([
    ['a NUL', `bad/\u0000nul`, 'InvalidArgument'],
    ['a control character', `bad/\u001bescape`, 'InvalidArgument'],
    ['a segment that clashes with the layout', 'bad/x._S3rver_object/y', 'InvalidArgument'],
    ['more than 1024 bytes', `long/${'é'.repeat(511)}`, 'KeyTooLongError'],
    ['a last segment too long for a file name', `long/${'a'.repeat(240)}`, 'KeyTooLongError'],
    ['a directory segment too long for a file name', `long/${'a'.repeat(256)}/x`, 'KeyTooLongError'],
  ])('refuses a key with %s', async (_, key, code) => {
    const write = test.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'x' }));
    expect(await sdkError(write)).toEqual({ name: code, status: 400 });
  });

  it('accepts the longest segment that fits', async () => {
    const key = `long/${'a'.repeat(233)}`;
    await test.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'fits' }));
    const head = await test.client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
    expect(head.ContentLength).toBe(4);
  });
});
