import { pipeline } from 'node:stream/promises';
import { BodyVerifier, bodyExpectations, requireChecksumHeader } from './body.js';
import { noSuchKey, notImplemented, S3Error } from './errors.js';
import { type Exchange, type StoreContext, sendXml } from './exchange.js';
import { keySegments, type ObjectInfo } from './files.js';
import { checkHeaderValue, DEFAULT_CONTENT_TYPE, metadataHeaders, pickMetadata } from './metadata.js';
import { headerValue, queryValue, type RequestTarget } from './request.js';
import { taggingXml, tagsFromQueryString, tagsFromXml, validateTags } from './tags.js';

/** S3's ceiling for a single PUT. */
const MAX_PUT_BYTES = 5 * 1024 ** 3;

/** Query parameters of a signed GET that set a response header, and the header each sets. */
export const RESPONSE_OVERRIDES: Readonly<Record<string, string>> = {
  'response-content-type': 'content-type',
  'response-content-disposition': 'content-disposition',
  'response-content-encoding': 'content-encoding',
  'response-content-language': 'content-language',
  'response-cache-control': 'cache-control',
  'response-expires': 'expires',
};

/** The headers a signed GET or HEAD asked to see instead of the stored ones. */
function responseOverrides(target: RequestTarget): Record<string, string> {
  const overrides: Record<string, string> = {};
  for (const [parameter, header] of Object.entries(RESPONSE_OVERRIDES)) {
    const value = queryValue(target.query, parameter);
    if (value !== undefined) overrides[header] = checkHeaderValue(header, value);
  }
  return overrides;
}

function objectHeaders(info: ObjectInfo, overrides: Record<string, string>): Record<string, string> {
  return {
    'content-type': DEFAULT_CONTENT_TYPE,
    ...Object.fromEntries(metadataHeaders(info.metadata)),
    'content-length': String(info.size),
    etag: `"${info.md5}"`,
    'last-modified': info.lastModified.toUTCString(),
    ...(info.tags.length > 0 ? { 'x-amz-tagging-count': String(info.tags.length) } : {}),
    ...overrides,
  };
}

export async function putObject({ files }: StoreContext, { req, res, target, payloadHash }: Exchange) {
  if (req.headers['x-amz-copy-source'] !== undefined) {
    throw notImplemented('CopyObject is not supported by this store.');
  }
  if (req.headers['if-match'] !== undefined || req.headers['if-none-match'] !== undefined) {
    throw notImplemented('Conditional writes are not supported by this store.');
  }
  const length = headerValue(req.headers, 'content-length');
  if (length === undefined) {
    throw new S3Error(411, 'MissingContentLength', 'You must provide the Content-Length HTTP header.');
  }
  if (Number(length) > MAX_PUT_BYTES) {
    throw new S3Error(400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size');
  }
  keySegments(target.key);
  const record = {
    metadata: pickMetadata(Object.entries(req.headers)),
    tags: validateTags(tagsFromQueryString(headerValue(req.headers, 'x-amz-tagging') ?? '')),
  };
  const verifier = new BodyVerifier(bodyExpectations(req.headers, payloadHash));
  const staged = await files.stage(req, verifier.meter());
  let md5: string;
  try {
    md5 = verifier.finish();
  } catch (error) {
    await files.discard(staged);
    throw error;
  }
  await files.commit(staged, target.key, { ...record, md5 });
  res.writeHead(200, { etag: `"${md5}"` }).end();
}

export async function getObject({ files }: StoreContext, { req, res, target }: Exchange) {
  const overrides = responseOverrides(target);
  if (req.method === 'HEAD') {
    const info = await files.describe(target.key);
    if (!info) throw noSuchKey(target.key);
    res.writeHead(200, objectHeaders(info, overrides)).end();
    return;
  }
  const found = await files.read(target.key);
  if (!found) throw noSuchKey(target.key);
  res.writeHead(200, objectHeaders(found.info, overrides));
  await pipeline(found.body, res);
}

export async function deleteObject({ files }: StoreContext, { res, target }: Exchange) {
  await files.delete(target.key);
  res.writeHead(204).end();
}

export async function getObjectTagging({ files }: StoreContext, { res, target }: Exchange) {
  const info = await files.describe(target.key);
  if (!info) throw noSuchKey(target.key);
  sendXml(res, 200, taggingXml(info.tags));
}

export async function putObjectTagging(
  { files }: StoreContext,
  { req, res, target }: Exchange,
  body: Buffer,
) {
  requireChecksumHeader(req.headers);
  const tags = validateTags(tagsFromXml(body.toString('utf8')));
  if (!(await files.setTags(target.key, tags))) throw noSuchKey(target.key);
  res.writeHead(200).end();
}

export async function deleteObjectTagging({ files }: StoreContext, { res, target }: Exchange) {
  if (!(await files.setTags(target.key, []))) throw noSuchKey(target.key);
  res.writeHead(204).end();
}
