import { validateHeaderValue } from 'node:http';
import { invalidArgument, S3Error } from './errors.js';

/** What is kept with an object: lower-case header names and their values (s3rver's metadata file). */
export type Metadata = Record<string, string>;

export const DEFAULT_CONTENT_TYPE = 'binary/octet-stream';

const STORED_HEADERS: ReadonlySet<string> = new Set([
  'content-type',
  'content-disposition',
  'content-encoding',
  'content-language',
  'cache-control',
  'expires',
]);
const USER_METADATA_PREFIX = 'x-amz-meta-';
const MAX_USER_METADATA_BYTES = 2048;

/** Refuses what could not be sent back as a header later (form fields and query overrides can hold anything). */
export function checkHeaderValue(name: string, value: string): string {
  try {
    validateHeaderValue(name, value);
  } catch {
    throw invalidArgument(`The value of ${name} cannot be used as an HTTP header value.`);
  }
  return value;
}

/** The metadata to store from request headers or form fields (names in any case). */
export function pickMetadata(entries: Iterable<readonly [string, string | string[] | undefined]>): Metadata {
  const metadata: Metadata = {};
  let userMetadataBytes = 0;
  for (const [rawName, value] of entries) {
    if (typeof value !== 'string') continue;
    const name = rawName.toLowerCase();
    const isUserMetadata = name.startsWith(USER_METADATA_PREFIX);
    if (!isUserMetadata && !STORED_HEADERS.has(name)) continue;
    metadata[name] = checkHeaderValue(name, value);
    if (isUserMetadata) {
      userMetadataBytes +=
        Buffer.byteLength(name.slice(USER_METADATA_PREFIX.length)) + Buffer.byteLength(value);
    }
  }
  if (userMetadataBytes > MAX_USER_METADATA_BYTES) {
    throw new S3Error(
      400,
      'MetadataTooLarge',
      'Your metadata headers exceed the maximum allowed metadata size.',
    );
  }
  return metadata;
}

/** The stored metadata that goes back out as response headers. */
export function metadataHeaders(metadata: Readonly<Metadata>): [string, string][] {
  return Object.entries(metadata).filter(
    ([name]) => STORED_HEADERS.has(name) || name.startsWith(USER_METADATA_PREFIX),
  );
}
