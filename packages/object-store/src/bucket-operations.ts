import type { IncomingMessage, ServerResponse } from 'node:http';
import { requireChecksumHeader } from './body.js';
import { invalidArgument, malformedXml, S3Error } from './errors.js';
import { type Exchange, type StoreContext, sendXml } from './exchange.js';
import { continuationToken, keyAfterToken, listObjects } from './list.js';
import { receivePostUpload } from './post-upload.js';
import { headerValue, queryValue } from './request.js';
import { branch, leaf, parseXmlDocument, xmlChildren, xmlDocument, xmlText } from './xml.js';

const MAX_KEYS = 1000;

export const LIST_PARAMETERS: readonly string[] = [
  'list-type',
  'prefix',
  'max-keys',
  'continuation-token',
  'start-after',
  'fetch-owner',
];

export async function headBucket(_context: StoreContext, { res }: Exchange) {
  res.writeHead(200).end();
}

export async function listObjectsV2({ bucket, files }: StoreContext, { res, target }: Exchange) {
  const parameter = (name: string) => queryValue(target.query, name);
  const prefix = parameter('prefix') ?? '';
  const requestedMaxKeys = parameter('max-keys') ?? String(MAX_KEYS);
  if (!/^\d+$/.test(requestedMaxKeys)) {
    throw invalidArgument('Provided max-keys not an integer or within integer range');
  }
  const maxKeys = Math.min(Number(requestedMaxKeys), MAX_KEYS);
  const token = parameter('continuation-token');
  const startAfter = parameter('start-after');
  const after = token === undefined ? (startAfter ?? '') : keyAfterToken(token);
  const { objects, truncatedAfter } = await listObjects(files, { prefix, after, maxKeys });
  const contents = objects.map((object) =>
    branch('Contents', [
      leaf('Key', object.key),
      leaf('LastModified', object.lastModified.toISOString()),
      leaf('ETag', `"${object.md5}"`),
      leaf('Size', object.size),
      leaf('StorageClass', 'STANDARD'),
    ]),
  );
  const xml = xmlDocument('ListBucketResult', [
    leaf('Name', bucket),
    leaf('Prefix', prefix),
    ...(token === undefined ? [] : [leaf('ContinuationToken', token)]),
    ...(startAfter === undefined ? [] : [leaf('StartAfter', startAfter)]),
    leaf('KeyCount', objects.length),
    leaf('MaxKeys', maxKeys),
    leaf('IsTruncated', truncatedAfter !== undefined),
    ...(truncatedAfter === undefined
      ? []
      : [leaf('NextContinuationToken', continuationToken(truncatedAfter))]),
    ...contents,
  ]);
  sendXml(res, 200, xml);
}

const MAX_DELETE_KEYS = 1000;

export async function deleteObjects({ files }: StoreContext, { req, res }: Exchange, body: Buffer) {
  requireChecksumHeader(req.headers);
  const request = parseXmlDocument(body.toString('utf8'), 'Delete');
  const objects = request.Object;
  if (!Array.isArray(objects) || objects.length > MAX_DELETE_KEYS) throw malformedXml();
  const keys = objects.map((object: unknown) => xmlText(xmlChildren(object).Key));
  const quiet = request.Quiet !== undefined && xmlText(request.Quiet).trim() === 'true';
  const results: string[] = [];
  for (const key of keys) {
    try {
      await files.delete(key);
      if (!quiet) results.push(branch('Deleted', [leaf('Key', key)]));
    } catch (error) {
      // A key this store refuses cannot exist; S3 reports per-key errors in the result rather than failing all.
      if (!(error instanceof S3Error)) throw error;
      results.push(
        branch('Error', [leaf('Key', key), leaf('Code', error.code), leaf('Message', error.message)]),
      );
    }
  }
  sendXml(res, 200, xmlDocument('DeleteResult', results));
}

/** A browser upload: the form carries its own authorization (a signed policy). */
export async function postObject(context: StoreContext, req: IncomingMessage, res: ServerResponse) {
  const { key, md5, status } = await receivePostUpload(req, context);
  const path = [context.bucket, ...key.split('/')].map(encodeURIComponent).join('/');
  const location = `http://${headerValue(req.headers, 'host') ?? ''}/${path}`;
  const etag = `"${md5}"`;
  if (status !== 201) {
    res.writeHead(status, { etag, location }).end();
    return;
  }
  res.setHeader('etag', etag);
  res.setHeader('location', location);
  const xml = xmlDocument(
    'PostResponse',
    [leaf('Location', location), leaf('Bucket', context.bucket), leaf('Key', key), leaf('ETag', etag)],
    false,
  );
  sendXml(res, 201, xml);
}
