import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { request } from 'node:http';
import path from 'node:path';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  BUCKET,
  errorOf,
  presignUpload,
  readObject,
  startTestStore,
  type TestStore,
  uploadForm,
} from './helpers.js';

let test: TestStore;
const MY_KEY = 'projects/mine/files/upload';
const VICTIM_KEY = 'projects/theirs/files/data';

beforeAll(async () => {
  test = await startTestStore();
});

afterAll(async () => {
  await test?.stop();
});

beforeEach(async () => {
  test.clock.offsetMs = 0;
  await test.client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: MY_KEY }));
});

const read = (key: string) => readObject(test.client, key);

const post = (url: string, form: FormData) => fetch(url, { method: 'POST', body: form });

/** The upload temp directory, which a refused upload must leave empty (cleanup may finish just after the answer). */
async function expectNoTempFiles() {
  const temp = path.join(test.directory, '.tmp');
  await expect.poll(() => readdir(temp), { timeout: 2000 }).toEqual([]);
}

describe('a presigned POST', () => {
  it('stores the form Content-Type (not the file part’s), the tagging, and ignores fields after the file', async () => {
    const { url, fields } = await presignUpload(test.client, MY_KEY, { contentType: 'text/csv' });
    const form = uploadForm(fields, 'a,b\n');
    form.append('key', VICTIM_KEY);
    const response = await post(url, form);
    expect(response.status).toBe(204);
    const object = await test.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: MY_KEY }));
    expect(object.ContentType).toBe('text/csv');
    expect(await object.Body?.transformToString()).toBe('a,b\n');
    expect(await read(VICTIM_KEY)).toBeUndefined();
  });

  it('answers 201 with a PostResponse when success_action_status 201 is in the policy', async () => {
    const { url, fields } = await createPresignedPost(test.client, {
      Bucket: BUCKET,
      Key: 'posted/201',
      Fields: { success_action_status: '201' },
    });
    const response = await post(url, uploadForm(fields, 'x'));
    expect(response.status).toBe(201);
    expect(await response.text()).toContain('<Key>posted/201</Key>');
  });
});

describe('a POST form that breaks its policy', () => {
  beforeEach(async () => {
    await test.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: VICTIM_KEY, Body: 'their data' }));
  });

  const refused = async (
    tamper: (fields: Record<string, string>) => void,
    expected: { status: number; code: string; message?: string },
    file: Uint8Array | string = 'my data',
  ) => {
    const { url, fields } = await presignUpload(test.client, MY_KEY, { maxBytes: 1024 });
    tamper(fields);
    const response = await post(url, uploadForm(fields, file));
    const error = await errorOf(response);
    expect(error).toMatchObject(expected);
    expect(await read(VICTIM_KEY)).toBe('their data');
    expect(await read(MY_KEY)).toBeUndefined();
    await expectNoTempFiles();
    return error;
  };

  it('refuses another key (an overwrite of someone else’s object)', async () => {
    const error = await refused(
      (fields) => {
        fields.key = VICTIM_KEY;
      },
      { status: 403, code: 'AccessDenied' },
    );
    expect(error.message).toContain('Policy Condition failed');
    expect(error.message).toContain(MY_KEY);
  });

  it('refuses another Content-Type', async () => {
    await refused(
      (fields) => {
        fields['Content-Type'] = 'text/html';
      },
      { status: 403, code: 'AccessDenied' },
    );
  });

  it('refuses another tagging', async () => {
    await refused(
      (fields) => {
        fields.tagging =
          '<Tagging><TagSet><Tag><Key>leonidas-state</Key><Value>confirmed</Value></Tag></TagSet></Tagging>';
      },
      { status: 403, code: 'AccessDenied' },
    );
  });

  it('refuses a field the policy does not cover', async () => {
    const error = await refused(
      (fields) => {
        fields['x-amz-meta-owner'] = 'me';
      },
      { status: 403, code: 'AccessDenied' },
    );
    expect(error.message).toBe('Invalid according to Policy: Extra input fields: x-amz-meta-owner');
  });

  it('refuses a tampered signature', async () => {
    await refused(
      (fields) => {
        const signature = fields['X-Amz-Signature'] ?? '';
        fields['X-Amz-Signature'] = `${signature.startsWith('a') ? 'b' : 'a'}${signature.slice(1)}`;
      },
      { status: 403, code: 'SignatureDoesNotMatch' },
    );
  });

  it('refuses a policy rewritten to allow more bytes', async () => {
    await refused(
      (fields) => {
        const policy = JSON.parse(Buffer.from(fields.Policy ?? '', 'base64').toString('utf8'));
        policy.conditions[0] = ['content-length-range', 1, 10 * 1024 * 1024];
        fields.Policy = Buffer.from(JSON.stringify(policy)).toString('base64');
      },
      { status: 403, code: 'SignatureDoesNotMatch' },
      randomBytes(4096),
    );
  });

  it('refuses an expired policy', async () => {
    const { url, fields } = await presignUpload(test.client, MY_KEY, { expires: 60 });
    test.clock.offsetMs = 61 * 1000;
    const error = await errorOf(await post(url, uploadForm(fields, 'late')));
    expect(error).toEqual({
      status: 403,
      code: 'AccessDenied',
      message: 'Invalid according to Policy: Policy expired.',
    });
    expect(await read(MY_KEY)).toBeUndefined();
  });

  it('refuses an empty file (under the minimum of 1 byte)', async () => {
    await refused(() => undefined, { status: 400, code: 'EntityTooSmall' }, '');
  });

  it('refuses a file over the maximum', async () => {
    await refused(() => undefined, { status: 400, code: 'EntityTooLarge' }, randomBytes(1025));
  });

  it('refuses a second file', async () => {
    const { url, fields } = await presignUpload(test.client, MY_KEY);
    const form = uploadForm(fields, 'one');
    form.append('file', new Blob(['two']), 'two.csv');
    expect(await errorOf(await post(url, form))).toMatchObject({ status: 400, code: 'InvalidArgument' });
    expect(await read(MY_KEY)).toBeUndefined();
    await expectNoTempFiles();
  });

  it('refuses a form posted to another bucket', async () => {
    const { url, fields } = await presignUpload(test.client, MY_KEY);
    const response = await post(url.replace(`/${BUCKET}`, '/other-bucket'), uploadForm(fields, 'x'));
    expect(await errorOf(response)).toMatchObject({ status: 404, code: 'NoSuchBucket' });
    expect(await read(MY_KEY)).toBeUndefined();
  });
});

describe('a hand-made multipart body', () => {
  /** Posts the parts as written, each `{ disposition, body }`, in one request; answers status and S3 code. */
  async function postParts(parts: { disposition: string; body: string }[]) {
    const { url } = await presignUpload(test.client, MY_KEY);
    const boundary = 'x';
    const body = `${parts.map((part) => `--${boundary}\r\nContent-Disposition: ${part.disposition}\r\n\r\n${part.body}\r\n`).join('')}--${boundary}--\r\n`;
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
      body,
    });
    return errorOf(response);
  }

  it.each([
    ['a field without a name', 'form-data'],
    ['a field with an empty name', 'form-data; name=""'],
    ['a file part without a name', 'form-data; filename="a.csv"'],
  ])('refuses %s without harm to the store', async (_label, disposition) => {
    expect(await postParts([{ disposition, body: 'v' }])).toMatchObject({ status: 400 });
    // Still serving.
    expect(
      (await test.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: MY_KEY, Body: 'ok' }))).ETag,
    ).toBeDefined();
  });

  it('keeps no trace of a file that arrives with a form already refused', async () => {
    const { fields } = await presignUpload(test.client, MY_KEY);
    const parts = Object.entries(fields).map(([name, value]) => ({
      disposition: `form-data; name="${name}"`,
      body: value,
    }));
    // The same field twice, then the file, all in one packet.
    const refused = await postParts([
      ...parts,
      { disposition: 'form-data; name="KEY"', body: MY_KEY },
      { disposition: 'form-data; name="file"; filename="a.csv"', body: 'a,b\n'.repeat(2000) },
    ]);
    expect(refused).toMatchObject({ status: 400, code: 'InvalidArgument' });
    await expectNoTempFiles();
  });
});

describe('many refused forms at once', () => {
  // Each refusal destroys its form part-way; a stream error nobody listens for would end the whole process,
  // which vitest reports as an unhandled error and fails the run.
  it('are each answered, and leave no unhandled error behind', async () => {
    const { url, fields } = await presignUpload(test.client, MY_KEY, { contentType: 'text/csv' });
    const body = randomBytes(512 * 1024);
    const statuses = await Promise.all(
      Array.from({ length: 30 }, (_, i) => {
        const form = uploadForm({ ...fields, key: `${VICTIM_KEY}-${i}` }, body);
        return post(url, form).then((response) => response.status);
      }),
    );
    expect(statuses).toEqual(Array.from({ length: 30 }, () => 403));
    await new Promise((resolve) => setTimeout(resolve, 200));
    await expectNoTempFiles();
  });
});

describe('an upload far over the maximum', () => {
  it('is refused through fetch, 50 MB against a 1 KB limit', async () => {
    const { url, fields } = await presignUpload(test.client, MY_KEY, { maxBytes: 1024 });
    // fetch gets the answer (not a broken pipe); that it comes before the body is read is the next test's.
    const response = await post(url, uploadForm(fields, new Uint8Array(50 * 1024 * 1024)));
    expect(await errorOf(response)).toMatchObject({ status: 400, code: 'EntityTooLarge' });
    expect(await read(MY_KEY)).toBeUndefined();
    await expectNoTempFiles();
  });

  it('is answered before the client has sent the rest of its body', async () => {
    const { url, fields } = await presignUpload(test.client, MY_KEY, { maxBytes: 1024 });
    const boundary = 'leonidas-test-boundary';
    const parts = Object.entries(fields).map(
      ([name, value]) =>
        `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`,
    );
    const head = Buffer.from(
      `${parts.join('')}--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n\r\n`,
    );
    const declaredFileBytes = 50 * 1024 * 1024;
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
    const outgoing = request(url, {
      method: 'POST',
      headers: {
        'content-type': `multipart/form-data; boundary=${boundary}`,
        'content-length': head.length + declaredFileBytes + tail.length,
      },
    });
    const answer = new Promise<{ status: number | undefined; body: string }>((resolve, reject) => {
      outgoing.on('response', (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => {
          body += chunk.toString();
        });
        response.on('end', () => resolve({ status: response.statusCode, body }));
      });
      outgoing.on('error', reject);
    });
    // Only the first 64 KB of the 50 MB are ever sent.
    outgoing.write(head);
    outgoing.write(Buffer.alloc(64 * 1024));
    const { status, body } = await answer;
    outgoing.destroy();
    expect(status).toBe(400);
    expect(body).toContain('<Code>EntityTooLarge</Code>');
    expect(await read(MY_KEY)).toBeUndefined();
    await expectNoTempFiles();
  });
});
