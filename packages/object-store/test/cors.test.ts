import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUCKET, errorOf, startTestStore, type TestStore, WEB_ORIGIN } from './helpers.js';

let test: TestStore;
let bucketUrl: string;

beforeAll(async () => {
  test = await startTestStore();
  bucketUrl = `${test.store.endpoint}/${BUCKET}`;
  await test.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'shared.csv', Body: 'a,b' }));
});

afterAll(async () => {
  await test?.stop();
});

const preflight = (origin: string, method: string) =>
  fetch(bucketUrl, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': method,
      'access-control-request-headers': 'content-type,x-requested-with',
    },
  });

const accessControlHeaders = (response: Response) =>
  [...response.headers.keys()].filter((name) => name.startsWith('access-control-'));

describe('CORS preflight', () => {
  it('allows the configured origin to POST an upload form', async () => {
    const response = await preflight(WEB_ORIGIN, 'POST');
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe(WEB_ORIGIN);
    expect(response.headers.get('access-control-allow-methods')).toBe('GET, HEAD, POST, PUT');
    expect(response.headers.get('access-control-allow-headers')).toBe('content-type,x-requested-with');
    expect(response.headers.get('access-control-max-age')).toBe('3000');
    expect(response.headers.get('vary')).toBe(
      'Origin, Access-Control-Request-Headers, Access-Control-Request-Method',
    );
  });

  it('refuses any other origin, without allow headers', async () => {
    for (const origin of ['http://evil.example', 'http://localhost:3001', `${WEB_ORIGIN}/`]) {
      const response = await preflight(origin, 'POST');
      expect(accessControlHeaders(response)).toEqual([]);
      expect(await errorOf(response)).toMatchObject({ status: 403, code: 'AccessForbidden' });
    }
  });

  it('refuses methods outside GET, HEAD, POST and PUT', async () => {
    const response = await preflight(WEB_ORIGIN, 'DELETE');
    expect(accessControlHeaders(response)).toEqual([]);
    expect(response.status).toBe(403);
  });
});

describe('CORS on actual responses', () => {
  it('lets the configured origin read a download, and its ETag', async () => {
    const url = await getSignedUrl(test.client, new GetObjectCommand({ Bucket: BUCKET, Key: 'shared.csv' }));
    const response = await fetch(url, { headers: { origin: WEB_ORIGIN } });
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe(WEB_ORIGIN);
    expect(response.headers.get('access-control-expose-headers')).toBe('ETag');
    expect(response.headers.get('vary')).toBe('Origin');
  });

  it('tells a foreign origin nothing, even with a valid URL', async () => {
    const url = await getSignedUrl(test.client, new GetObjectCommand({ Bucket: BUCKET, Key: 'shared.csv' }));
    const response = await fetch(url, { headers: { origin: 'http://evil.example' } });
    expect(response.status).toBe(200);
    expect(accessControlHeaders(response)).toEqual([]);
    const refused = await fetch(`${bucketUrl}/shared.csv`, { headers: { origin: 'http://evil.example' } });
    expect(refused.status).toBe(403);
    expect(accessControlHeaders(refused)).toEqual([]);
  });
});
