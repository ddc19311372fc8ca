import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  alterRequests,
  BUCKET,
  createClient,
  errorOf,
  readObject,
  sdkError,
  startTestStore,
  type TestStore,
} from './helpers.js';

let test: TestStore;
let objectUrl: string;
const KEY = 'private/secret.csv';
const CONTENTS = 'the owner only';

beforeAll(async () => {
  test = await startTestStore();
  objectUrl = `${test.store.endpoint}/${BUCKET}/${KEY}`;
});

afterAll(async () => {
  await test?.stop();
});

beforeEach(async () => {
  test.clock.offsetMs = 0;
  await test.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: KEY, Body: CONTENTS }));
});

const read = (key = KEY) => readObject(test.client, key);

const presignedGet = (client: S3Client, key: string, expiresIn = 60) =>
  getSignedUrl(
    client,
    new GetObjectCommand({
      Bucket: BUCKET,
      Key: key,
      ResponseContentDisposition: 'attachment; filename="a.csv"',
    }),
    { expiresIn },
  );

describe('requests without a valid signature', () => {
  it('refuses an unsigned GET without revealing the object', async () => {
    const response = await fetch(objectUrl);
    const error = await errorOf(response);
    expect(error).toMatchObject({ status: 403, code: 'AccessDenied' });
  });

  it('refuses an unsigned HEAD (no body, as on S3)', async () => {
    const response = await fetch(objectUrl, { method: 'HEAD' });
    expect(response.status).toBe(403);
    expect(response.headers.get('etag')).toBeNull();
    expect(await response.text()).toBe('');
  });

  it('refuses an unsigned PUT and keeps the object', async () => {
    const response = await fetch(objectUrl, { method: 'PUT', body: 'overwritten' });
    expect(await errorOf(response)).toMatchObject({ status: 403, code: 'AccessDenied' });
    expect(await read()).toBe(CONTENTS);
    const created = await fetch(`${test.store.endpoint}/${BUCKET}/private/new.csv`, {
      method: 'PUT',
      body: 'x',
    });
    expect(created.status).toBe(403);
    expect(await read('private/new.csv')).toBeUndefined();
  });

  it('refuses an unsigned DELETE and keeps the object', async () => {
    const response = await fetch(objectUrl, { method: 'DELETE' });
    expect(await errorOf(response)).toMatchObject({ status: 403, code: 'AccessDenied' });
    expect(await read()).toBe(CONTENTS);
  });

  it('refuses an unsigned listing', async () => {
    const response = await fetch(`${test.store.endpoint}/${BUCKET}?list-type=2`);
    const body = await response.clone().text();
    expect(await errorOf(response)).toMatchObject({ status: 403, code: 'AccessDenied' });
    expect(body).not.toContain(KEY);
  });

  it('refuses a POST form with no policy and stores nothing', async () => {
    const form = new FormData();
    form.append('key', 'private/posted.csv');
    form.append('file', new Blob(['posted']), 'posted.csv');
    const response = await fetch(`${test.store.endpoint}/${BUCKET}`, { method: 'POST', body: form });
    expect(await errorOf(response)).toMatchObject({ status: 403, code: 'AccessDenied' });
    expect(await read('private/posted.csv')).toBeUndefined();
  });

  it('refuses other authorization schemes, and two mechanisms at once', async () => {
    const v2 = await fetch(objectUrl, {
      headers: { authorization: `AWS ${test.credentials.accessKeyId}:c2lnbmF0dXJl` },
    });
    expect(await errorOf(v2)).toMatchObject({ status: 403, code: 'AccessDenied' });
    const url = await presignedGet(test.client, KEY);
    const both = await fetch(url, { headers: { authorization: 'AWS4-HMAC-SHA256 Credential=x' } });
    expect(await errorOf(both)).toMatchObject({ status: 400, code: 'InvalidArgument' });
  });

  it('refuses the wrong secret with SignatureDoesNotMatch', async () => {
    const forger = createClient(test.store.endpoint, {
      ...test.credentials,
      secretAccessKey: 'not-the-secret',
    });
    const write = forger.send(new PutObjectCommand({ Bucket: BUCKET, Key: KEY, Body: 'forged' }));
    expect(await sdkError(write)).toEqual({ name: 'SignatureDoesNotMatch', status: 403 });
    expect(await sdkError(forger.send(new ListObjectsV2Command({ Bucket: BUCKET })))).toEqual({
      name: 'SignatureDoesNotMatch',
      status: 403,
    });
    expect(await read()).toBe(CONTENTS);
    forger.destroy();
  });

  it('refuses another access key with InvalidAccessKeyId', async () => {
    const stranger = createClient(test.store.endpoint, {
      accessKeyId: 'AKIAOTHERKEY00000000',
      secretAccessKey: test.credentials.secretAccessKey,
    });
    const write = stranger.send(new PutObjectCommand({ Bucket: BUCKET, Key: KEY, Body: 'forged' }));
    expect(await sdkError(write)).toEqual({ name: 'InvalidAccessKeyId', status: 403 });
    expect(await read()).toBe(CONTENTS);
    stranger.destroy();
  });

  it('refuses a signed request whose body was changed after signing', async () => {
    const tampering = createClient(test.store.endpoint, test.credentials);
    alterRequests(tampering, 'after', (request) => {
      request.body = 'FORGED';
    });
    const write = tampering.send(new PutObjectCommand({ Bucket: BUCKET, Key: KEY, Body: 'honest' }));
    expect(await sdkError(write)).toEqual({ name: 'XAmzContentSHA256Mismatch', status: 400 });
    expect(await read()).toBe(CONTENTS);
    const create = tampering.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: 'private/tampered', Body: 'honest' }),
    );
    expect(await sdkError(create)).toMatchObject({ name: 'XAmzContentSHA256Mismatch' });
    expect(await read('private/tampered')).toBeUndefined();
    tampering.destroy();
  });

  it('refuses a signed request whose date is more than 15 minutes off', async () => {
    test.clock.offsetMs = 16 * 60 * 1000;
    const write = test.client.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: 'private/late', Body: 'late' }),
    );
    expect(await sdkError(write)).toEqual({ name: 'RequestTimeTooSkewed', status: 403 });
    test.clock.offsetMs = 0;
    expect(await read('private/late')).toBeUndefined();
  });

  it('refuses x-amz-* headers that were not signed', async () => {
    const url = await presignedGet(test.client, KEY);
    const response = await fetch(url, { headers: { 'x-amz-tagging': 'a=b' } });
    expect(await errorOf(response)).toMatchObject({ status: 403, code: 'AccessDenied' });
  });
});

describe('presigned GETs', () => {
  it('serves the signed URL as it is', async () => {
    const response = await fetch(await presignedGet(test.client, KEY));
    expect(response.status).toBe(200);
    expect(await response.text()).toBe(CONTENTS);
  });

  it('refuses the URL with another key in the path', async () => {
    await test.client.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: 'private/other.csv', Body: 'someone else' }),
    );
    const url = new URL(await presignedGet(test.client, KEY));
    url.pathname = `/${BUCKET}/private/other.csv`;
    const response = await fetch(url);
    const body = await response.clone().text();
    expect(await errorOf(response)).toMatchObject({ status: 403, code: 'SignatureDoesNotMatch' });
    expect(body).not.toContain('someone else');
  });

  it('refuses the URL with a query parameter changed or added', async () => {
    const url = new URL(await presignedGet(test.client, KEY));
    url.searchParams.set('response-content-disposition', 'inline');
    expect(await errorOf(await fetch(url))).toMatchObject({ status: 403, code: 'SignatureDoesNotMatch' });
    const added = new URL(await presignedGet(test.client, KEY));
    added.searchParams.set('response-content-type', 'text/html');
    expect(await errorOf(await fetch(added))).toMatchObject({ status: 403, code: 'SignatureDoesNotMatch' });
  });

  it('refuses the URL with the signature changed', async () => {
    const url = new URL(await presignedGet(test.client, KEY));
    const signature = url.searchParams.get('X-Amz-Signature') ?? '';
    url.searchParams.set('X-Amz-Signature', `${signature.startsWith('0') ? '1' : '0'}${signature.slice(1)}`);
    expect(await errorOf(await fetch(url))).toMatchObject({ status: 403, code: 'SignatureDoesNotMatch' });
    url.searchParams.delete('X-Amz-Signature');
    expect(await errorOf(await fetch(url))).toMatchObject({
      status: 400,
      code: 'AuthorizationQueryParametersError',
    });
  });

  it('refuses the URL once it has expired', async () => {
    const url = await presignedGet(test.client, KEY, 60);
    test.clock.offsetMs = 59 * 1000;
    expect((await fetch(url)).status).toBe(200);
    test.clock.offsetMs = 61 * 1000;
    expect(await errorOf(await fetch(url))).toEqual({
      status: 403,
      code: 'AccessDenied',
      message: 'Request has expired',
    });
  });

  it('refuses a URL signed for another region', async () => {
    const elsewhere = createClient(test.store.endpoint, test.credentials);
    const url = await getSignedUrl(elsewhere, new GetObjectCommand({ Bucket: BUCKET, Key: KEY }), {
      signingRegion: 'us-west-2',
    });
    expect(await errorOf(await fetch(url))).toMatchObject({
      status: 400,
      code: 'AuthorizationQueryParametersError',
    });
    elsewhere.destroy();
  });
});

/** A client whose requests get `headers` set just before they are signed. */
function clientSigning(headers: Record<string, string>): S3Client {
  const client = createClient(test.store.endpoint, test.credentials);
  alterRequests(client, 'before', (request) => {
    Object.assign(request.headers, headers);
  });
  return client;
}

describe('body integrity', () => {
  it('verifies the CRC32 the SDK sends with DeleteObjects', async () => {
    const client = clientSigning({ 'x-amz-checksum-crc32': 'AAAAAA==' });
    const deletion = client.send(
      new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: [{ Key: KEY }] } }),
    );
    expect(await sdkError(deletion)).toEqual({ name: 'BadDigest', status: 400 });
    expect(await read()).toBe(CONTENTS);
    client.destroy();
  });

  it('verifies Content-MD5', async () => {
    const write = test.client.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: KEY,
        Body: 'changed',
        ContentMD5: 'AAAAAAAAAAAAAAAAAAAAAA==',
      }),
    );
    expect(await sdkError(write)).toEqual({ name: 'BadDigest', status: 400 });
    expect(await read()).toBe(CONTENTS);
  });

  it('refuses checksum algorithms and chunked payloads it cannot verify', async () => {
    const unverifiable: Record<string, string>[] = [
      { 'x-amz-checksum-crc32c': 'AAAAAA==' },
      { 'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD' },
    ];
    for (const headers of unverifiable) {
      const client = clientSigning(headers);
      const write = client.send(new PutObjectCommand({ Bucket: BUCKET, Key: KEY, Body: 'changed' }));
      expect(await sdkError(write)).toEqual({ name: 'NotImplemented', status: 501 });
      client.destroy();
    }
    expect(await read()).toBe(CONTENTS);
  });
});
