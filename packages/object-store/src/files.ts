import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, type Stats } from 'node:fs';
import { chmod, type FileHandle, mkdir, open, readFile, rename, rm, rmdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { invalidArgument, isErrnoException, S3Error } from './errors.js';
import { KeyLock } from './key-lock.js';
import type { Metadata } from './metadata.js';
import { type Tag, tagsFromQueryString, tagsFromXml, tagsToQueryString } from './tags.js';

/*
 * On-disk layout: s3rver 3.7.1's, so that the data folders the old embedded store wrote stay readable as they are.
 * An object `a/b/c` of bucket `bkt` is `bkt/a/b/c._S3rver_object` (its bytes), `c._S3rver_metadata.json` (lower-case
 * header names to values) and `c._S3rver_object.md5` (hex) beside it. s3rver kept tags in `c._S3rver_tagging.xml`;
 * we keep them in the metadata file under `x-amz-tagging` and read the old file only when that entry is absent.
 * Writes go to `<root>/.tmp` first (same filesystem, so a rename publishes them atomically).
 */
const SUFFIX = {
  object: '._S3rver_object',
  metadata: '._S3rver_metadata.json',
  md5: '._S3rver_object.md5',
  legacyTags: '._S3rver_tagging.xml',
} as const;
export const OBJECT_SUFFIX = SUFFIX.object;
const RESERVED_MARK = '._S3rver_';
const TAGS_ENTRY = 'x-amz-tagging';
const TEMP_DIRECTORY = '.tmp';

const MAX_KEY_BYTES = 1024;
const NAME_MAX_BYTES = 255;
const LONGEST_SUFFIX_BYTES = Math.max(...Object.values(SUFFIX).map((suffix) => suffix.length));
const PRIVATE_DIRECTORY = 0o700;
const PRIVATE_FILE = 0o600;
const READ_CHUNK_BYTES = 1024 * 1024;

export interface ObjectSummary {
  size: number;
  lastModified: Date;
  md5: string;
}

/** What is kept with an object besides its bytes. */
export interface ObjectRecord {
  metadata: Metadata;
  tags: readonly Tag[];
}

export type ObjectInfo = ObjectSummary & ObjectRecord;

interface ObjectPaths {
  /** The key's segments that are directories (all but the last). */
  directories: readonly string[];
  object: string;
  metadata: string;
  md5: string;
  legacyTags: string;
}

const keyTooLong = () => new S3Error(400, 'KeyTooLongError', 'Your key is too long');

/** Why a key segment cannot be stored: it would escape its directory, clash with the layout, or not fit a name. */
function segmentProblem(segment: string, isLast: boolean): S3Error | undefined {
  if (/\p{Cc}/u.test(segment)) return invalidArgument('Object keys cannot contain control characters.');
  if (segment === '' || segment === '.' || segment === '..') {
    return invalidArgument('Object keys cannot start or end with "/", or have empty, "." or ".." segments.');
  }
  if (segment.includes(RESERVED_MARK)) {
    return invalidArgument(`Object keys cannot contain "${RESERVED_MARK}".`);
  }
  const maxBytes = isLast ? NAME_MAX_BYTES - LONGEST_SUFFIX_BYTES : NAME_MAX_BYTES;
  return Buffer.byteLength(segment) > maxBytes ? keyTooLong() : undefined;
}

export const isStorableSegment = (segment: string, isLast: boolean): boolean =>
  segmentProblem(segment, isLast) === undefined;

/** The key's segments, or the 400 S3 answers for keys this store cannot hold safely. */
export function keySegments(key: string): string[] {
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) throw keyTooLong();
  const segments = key.split('/');
  segments.forEach((segment, index) => {
    const problem = segmentProblem(segment, index === segments.length - 1);
    if (problem) throw problem;
  });
  return segments;
}

async function ensurePrivateDirectory(directory: string): Promise<void> {
  try {
    await mkdir(directory, { mode: PRIVATE_DIRECTORY });
  } catch (error) {
    if (isErrnoException(error, 'EEXIST')) return;
    throw error;
  }
  await chmod(directory, PRIVATE_DIRECTORY);
}

async function createPrivateFile(file: string): Promise<FileHandle> {
  const handle = await open(file, 'wx', PRIVATE_FILE);
  try {
    await handle.chmod(PRIVATE_FILE);
    return handle;
  } catch (error) {
    await handle.close();
    throw error;
  }
}

async function writePrivateFile(file: string, data: string): Promise<void> {
  const handle = await createPrivateFile(file);
  try {
    await handle.writeFile(data);
  } finally {
    await handle.close();
  }
}

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if (isErrnoException(error, 'ENOENT')) return undefined;
    throw error;
  }
}

async function statIfExists(file: string): Promise<Stats | undefined> {
  try {
    return await stat(file);
  } catch (error) {
    if (isErrnoException(error, 'ENOENT')) return undefined;
    throw error;
  }
}

async function md5Of(file: string): Promise<string> {
  const hash = createHash('md5');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}

/** s3rver's tag files were written without escaping; one that no longer parses counts as no tags. */
function parseLegacyTags(xml: string): Tag[] {
  try {
    return tagsFromXml(xml);
  } catch (error) {
    if (error instanceof S3Error) return [];
    throw error;
  }
}

const serializeRecord = ({ metadata, tags }: ObjectRecord): string =>
  JSON.stringify({ ...metadata, [TAGS_ENTRY]: tagsToQueryString(tags) }, null, 2);

/** The objects of the one bucket, as files under the data root. */
export class ObjectFiles {
  private readonly locks = new KeyLock();

  private constructor(
    readonly bucketDirectory: string,
    private readonly tempDirectory: string,
  ) {}

  static async open(directory: string, bucket: string): Promise<ObjectFiles> {
    const files = new ObjectFiles(path.join(directory, bucket), path.join(directory, TEMP_DIRECTORY));
    // Whatever is left in the temp directory belongs to uploads that died with an earlier process.
    await rm(files.tempDirectory, { recursive: true, force: true });
    // Set even when they exist: s3rver created them world-readable.
    for (const created of [directory, files.bucketDirectory, files.tempDirectory]) {
      await mkdir(created, { recursive: true, mode: PRIVATE_DIRECTORY });
      await chmod(created, PRIVATE_DIRECTORY);
    }
    return files;
  }

  /** Streams `source` through `through` into a private temp file; `commit` publishes it, `discard` drops it. */
  async stage(source: Readable, through: Transform): Promise<string> {
    const temp = this.tempPath();
    try {
      const handle = await createPrivateFile(temp);
      await pipeline(source, through, handle.createWriteStream());
      return temp;
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  }

  async discard(staged: string): Promise<void> {
    await rm(staged, { force: true });
  }

  /** Moves a staged file into place as `key`, with its metadata and md5; the staged file is gone either way. */
  async commit(staged: string, key: string, object: ObjectRecord & { md5: string }): Promise<void> {
    const metadataTemp = this.tempPath();
    const md5Temp = this.tempPath();
    try {
      const target = this.locate(key);
      await writePrivateFile(metadataTemp, serializeRecord(object));
      await writePrivateFile(md5Temp, object.md5);
      const moves: [string, string][] = [
        [metadataTemp, target.metadata],
        [md5Temp, target.md5],
        [staged, target.object],
      ];
      await this.locks.run(key, () => this.place(target.directories, moves));
    } catch (error) {
      await Promise.all([metadataTemp, md5Temp, staged].map((file) => rm(file, { force: true })));
      throw error;
    }
  }

  /** The object and an open stream of its bytes (the caller must consume or destroy it), if it exists. */
  async read(key: string): Promise<{ info: ObjectInfo; body: Readable } | undefined> {
    const target = this.locate(key);
    return this.locks.run(key, async () => {
      let handle: FileHandle;
      try {
        handle = await open(target.object, 'r');
      } catch (error) {
        if (isErrnoException(error, 'ENOENT')) return undefined;
        throw error;
      }
      try {
        const info = {
          ...(await this.summaryOf(target, await handle.stat())),
          ...(await this.recordOf(target)),
        };
        return { info, body: handle.createReadStream({ highWaterMark: READ_CHUNK_BYTES }) };
      } catch (error) {
        await handle.close();
        throw error;
      }
    });
  }

  async describe(key: string): Promise<ObjectInfo | undefined> {
    const target = this.locate(key);
    return this.locks.run(key, async () => {
      const stats = await statIfExists(target.object);
      return stats && { ...(await this.summaryOf(target, stats)), ...(await this.recordOf(target)) };
    });
  }

  async summarize(key: string): Promise<ObjectSummary | undefined> {
    const target = this.locate(key);
    return this.locks.run(key, async () => {
      const stats = await statIfExists(target.object);
      return stats && this.summaryOf(target, stats);
    });
  }

  /** Replaces the object's tags; false when there is no such object. */
  async setTags(key: string, tags: readonly Tag[]): Promise<boolean> {
    const target = this.locate(key);
    return this.locks.run(key, async () => {
      if (!(await statIfExists(target.object))) return false;
      const { metadata } = await this.recordOf(target);
      await this.replace(target.metadata, serializeRecord({ metadata, tags }));
      return true;
    });
  }

  async delete(key: string): Promise<void> {
    const target = this.locate(key);
    await this.locks.run(key, () =>
      Promise.all(
        [target.object, target.metadata, target.md5, target.legacyTags].map((file) =>
          rm(file, { force: true }),
        ),
      ),
    );
    await this.prune(target.directories);
  }

  private locate(key: string): ObjectPaths {
    const segments = keySegments(key);
    const base = path.join(this.bucketDirectory, ...segments);
    return {
      directories: segments.slice(0, -1),
      object: base + SUFFIX.object,
      metadata: base + SUFFIX.metadata,
      md5: base + SUFFIX.md5,
      legacyTags: base + SUFFIX.legacyTags,
    };
  }

  private tempPath(): string {
    return path.join(this.tempDirectory, randomBytes(16).toString('hex'));
  }

  private async replace(file: string, data: string): Promise<void> {
    const temp = this.tempPath();
    try {
      await writePrivateFile(temp, data);
      await rename(temp, file);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  }

  private async summaryOf(target: ObjectPaths, stats: Stats): Promise<ObjectSummary> {
    let md5 = await readIfExists(target.md5);
    if (md5 === undefined) {
      // s3rver wrote the md5 lazily too: an object it stored may not have one yet.
      md5 = await md5Of(target.object);
      await this.replace(target.md5, md5);
    }
    return { size: stats.size, lastModified: stats.mtime, md5: md5.trim() };
  }

  private async recordOf(target: ObjectPaths): Promise<ObjectRecord> {
    const text = await readIfExists(target.metadata);
    const parsed: unknown = text === undefined ? {} : JSON.parse(text);
    const metadata: Metadata = {};
    if (typeof parsed === 'object' && parsed !== null) {
      for (const [name, value] of Object.entries(parsed)) {
        if (typeof value === 'string') metadata[name] = value;
      }
    }
    const { [TAGS_ENTRY]: encodedTags, ...rest } = metadata;
    if (encodedTags !== undefined) return { metadata: rest, tags: tagsFromQueryString(encodedTags) };
    const legacyTags = await readIfExists(target.legacyTags);
    return { metadata: rest, tags: legacyTags === undefined ? [] : parseLegacyTags(legacyTags) };
  }

  private async place(directories: readonly string[], moves: readonly [string, string][]): Promise<void> {
    let placed = 0;
    const attempt = async () => {
      let directory = this.bucketDirectory;
      for (const segment of directories) {
        directory = path.join(directory, segment);
        await ensurePrivateDirectory(directory);
      }
      for (const [from, to] of moves.slice(placed)) {
        await rename(from, to);
        placed += 1;
      }
    };
    try {
      await attempt();
    } catch (error) {
      // A delete that emptied one of these directories may have pruned it between our mkdir and rename.
      if (!isErrnoException(error, 'ENOENT')) throw error;
      await attempt();
    }
  }

  /** Removes the key's directories that the delete left empty, deepest first. */
  private async prune(directories: readonly string[]): Promise<void> {
    for (let depth = directories.length; depth > 0; depth -= 1) {
      try {
        await rmdir(path.join(this.bucketDirectory, ...directories.slice(0, depth)));
      } catch (error) {
        if (isErrnoException(error, 'ENOTEMPTY', 'EEXIST', 'ENOENT')) return;
        throw error;
      }
    }
  }
}
