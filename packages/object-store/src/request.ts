import type { IncomingHttpHeaders } from 'node:http';
import { S3Error } from './errors.js';

/** The query as the signer wants it: decoded names to decoded values (a list when a name repeats). */
export type Query = Record<string, string | string[]>;

/** What a path-style request addresses. */
export interface RequestTarget {
  /** The path exactly as received (still percent-encoded): what the client signed. */
  rawPath: string;
  bucket: string;
  /** Empty for requests on the bucket itself. */
  key: string;
  query: Query;
}

const invalidUri = () => new S3Error(400, 'InvalidURI', "Couldn't parse the specified URI.");

function decode(component: string): string {
  try {
    return decodeURIComponent(component);
  } catch {
    throw invalidUri();
  }
}

export function parseTarget(url: string): RequestTarget {
  const queryStart = url.indexOf('?');
  const rawPath = queryStart === -1 ? url : url.slice(0, queryStart);
  if (!rawPath.startsWith('/')) throw invalidUri();
  const bucketEnd = rawPath.indexOf('/', 1);
  const bucket = decode(bucketEnd === -1 ? rawPath.slice(1) : rawPath.slice(1, bucketEnd));
  const key = bucketEnd === -1 ? '' : decode(rawPath.slice(bucketEnd + 1));
  // A null prototype, so that a parameter named like an Object.prototype member is just a parameter.
  const query: Query = Object.create(null);
  const rawQuery = queryStart === -1 ? '' : url.slice(queryStart + 1);
  for (const pair of rawQuery.split('&')) {
    if (pair === '') continue;
    const separator = pair.indexOf('=');
    const name = decode(separator === -1 ? pair : pair.slice(0, separator));
    const value = separator === -1 ? '' : decode(pair.slice(separator + 1));
    const previous = query[name];
    query[name] =
      previous === undefined ? value : [...(Array.isArray(previous) ? previous : [previous]), value];
  }
  return { rawPath, bucket, key, query };
}

/** A query parameter that may appear once at most. */
export function queryValue(query: Query, name: string): string | undefined {
  const value = query[name];
  if (Array.isArray(value)) {
    throw new S3Error(400, 'InvalidArgument', `The ${name} parameter appears more than once.`);
  }
  return value;
}

/** A request header that has one value (Node joins repeated headers, except the few it keeps as lists). */
export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return typeof value === 'string' ? value : undefined;
}
