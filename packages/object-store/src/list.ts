import type { Dirent } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { invalidArgument, isErrnoException } from './errors.js';
import { isStorableSegment, OBJECT_SUFFIX, type ObjectFiles, type ObjectSummary } from './files.js';

export interface ListedObject extends ObjectSummary {
  key: string;
}

const SUMMARY_BATCH = 64;

interface Bounds {
  prefix: string;
  /** Keys must sort after this one (UTF-8 bytes); empty for no bound. */
  after: string;
}

interface Walk extends Bounds {
  afterBytes: Buffer;
}

interface Entry {
  key: string;
  sortKey: Buffer;
  /** Set for a directory, whose keys all start with `key` (which then ends in `/`). */
  directory?: string;
}

/** Whether a directory whose keys all start with `entry.key` can hold a key within the bounds. */
function mayHold(entry: Entry, walk: Walk): boolean {
  const overlapsPrefix = entry.key.startsWith(walk.prefix) || walk.prefix.startsWith(entry.key);
  const endsBeforeAfter =
    Buffer.compare(entry.sortKey, walk.afterBytes) < 0 && !walk.after.startsWith(entry.key);
  return overlapsPrefix && !endsBeforeAfter;
}

/**
 * Yields the keys stored under `directory` within the bounds, in UTF-8 byte order (S3's order, which is not
 * JavaScript's string order past the BMP). A directory `d` stands for keys starting with `d/`, and those sort
 * together, so sorting each directory's entries by that key and descending in order gives the global order
 * while skipping every directory that cannot hold a key in bounds.
 */
async function* keysUnder(directory: string, keyPrefix: string, walk: Walk): AsyncGenerator<string> {
  let dirents: Dirent[];
  try {
    dirents = await readdir(directory, { withFileTypes: true });
  } catch (error) {
    if (isErrnoException(error, 'ENOENT')) return;
    throw error;
  }
  const entries: Entry[] = [];
  for (const dirent of dirents) {
    if (dirent.isDirectory() && isStorableSegment(dirent.name, false)) {
      const key = `${keyPrefix}${dirent.name}/`;
      entries.push({ key, sortKey: Buffer.from(key), directory: path.join(directory, dirent.name) });
    } else if (dirent.isFile() && dirent.name.endsWith(OBJECT_SUFFIX)) {
      const segment = dirent.name.slice(0, -OBJECT_SUFFIX.length);
      const key = keyPrefix + segment;
      if (isStorableSegment(segment, true)) entries.push({ key, sortKey: Buffer.from(key) });
    }
  }
  entries.sort((left, right) => Buffer.compare(left.sortKey, right.sortKey));
  for (const entry of entries) {
    if (entry.directory !== undefined) {
      if (mayHold(entry, walk)) yield* keysUnder(entry.directory, entry.key, walk);
    } else if (entry.key.startsWith(walk.prefix) && Buffer.compare(entry.sortKey, walk.afterBytes) > 0) {
      yield entry.key;
    }
  }
}

/**
 * Up to `maxKeys` objects within the bounds, walking only the directories the prefix leads to. `truncatedAfter`
 * is the last key of the page when more follow (whether or not that object was still there to be listed).
 */
export async function listObjects(
  files: ObjectFiles,
  bounds: Bounds & { maxKeys: number },
): Promise<{ objects: ListedObject[]; truncatedAfter: string | undefined }> {
  const directories = bounds.prefix.split('/').slice(0, -1);
  if (bounds.maxKeys === 0 || !directories.every((segment) => isStorableSegment(segment, false))) {
    return { objects: [], truncatedAfter: undefined };
  }
  const start = path.join(files.bucketDirectory, ...directories);
  const keyPrefix = directories.map((segment) => `${segment}/`).join('');
  const walk = { prefix: bounds.prefix, after: bounds.after, afterBytes: Buffer.from(bounds.after) };
  const keys: string[] = [];
  let truncatedAfter: string | undefined;
  for await (const key of keysUnder(start, keyPrefix, walk)) {
    if (keys.length === bounds.maxKeys) {
      truncatedAfter = keys.at(-1);
      break;
    }
    keys.push(key);
  }
  const summaries: (ObjectSummary | undefined)[] = [];
  // A page is up to 1000 keys; a few dozen files open at a time is plenty and stays clear of the fd limit.
  for (let start = 0; start < keys.length; start += SUMMARY_BATCH) {
    const batch = keys.slice(start, start + SUMMARY_BATCH);
    summaries.push(...(await Promise.all(batch.map((key) => files.summarize(key)))));
  }
  // An object deleted since its directory was read is simply not listed.
  const objects = keys.flatMap((key, index) => {
    const summary = summaries[index];
    return summary ? [{ key, ...summary }] : [];
  });
  return { objects, truncatedAfter };
}

/** Continuation tokens are opaque to clients; ours name the last key of the previous page. */
export const continuationToken = (lastKey: string): string => Buffer.from(lastKey).toString('base64url');

export function keyAfterToken(token: string): string {
  const key = Buffer.from(token, 'base64url').toString('utf8');
  if (token === '' || continuationToken(key) !== token) {
    throw invalidArgument('The continuation token provided is incorrect');
  }
  return key;
}
