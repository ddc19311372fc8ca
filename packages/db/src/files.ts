import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import {
  $add,
  $remove,
  type Condition,
  ConditionCheck,
  DeleteTransaction,
  EntityFormatter,
  executeTransactWrite,
  GetItemCommand,
  type PutItemInput,
  PutTransaction,
  QueryCommand,
  UpdateItemCommand,
  type UpdateItemInput,
  UpdateTransaction,
} from 'dynamodb-toolbox';
import type { Db } from './db.js';
import { type FILE_SOURCES, type FILE_STATUSES, wholeDocument } from './entities.js';
import { failedConditionIndexes, isConditionFailure } from './errors.js';
import { type KeyPage, queryPage, type StartKey } from './pagination.js';
import type { FileRecord, UsageRecord } from './records.js';
import type { CsvMetadata, Provenance } from './shapes.js';
import { getUsage, withUsage } from './usage.js';

export type FileStatus = (typeof FILE_STATUSES)[number];
export type FileSource = (typeof FILE_SOURCES)[number];

const PENDING_UPLOAD = 'PENDING_UPLOAD';

export interface UploadLimits {
  maxPendingUploads: number;
  maxPendingBytes: number;
  maxStoredBytes: number;
}

export type CreateFileResult =
  | { outcome: 'created'; file: FileRecord }
  /** One of the limits would be passed; the usage says which. */
  | { outcome: 'limit'; usage: UsageRecord }
  | { outcome: 'project-gone' };

/**
 * Written as UPLOADING and entered in the sparse pending-upload index, keyed by when its URL expires, only
 * while its project exists. In the same transaction the user's usage takes the upload: its declared size is
 * reserved in `storedBytes` at once, so concurrent uploads cannot together pass the storage limit.
 */
export async function createFileRecord(
  db: Db,
  input: Pick<
    FileRecord,
    | 'fileId'
    | 'userId'
    | 'projectId'
    | 'filename'
    | 'contentType'
    | 'size'
    | 'source'
    | 'objectKey'
    | 'uploadExpiresAt'
  > & { limits: UploadLimits },
): Promise<CreateFileResult> {
  const { limits, ...file } = input;
  return putFileCountingUsage(db, {
    userId: input.userId,
    projectId: input.projectId,
    usage: {
      userId: input.userId,
      pendingUploads: { [input.fileId]: input.uploadExpiresAt },
      pendingBytes: $add(input.size),
      storedBytes: $add(input.size),
    },
    limits: [
      { size: 'pendingUploads', lt: limits.maxPendingUploads },
      { attr: 'pendingBytes', lte: limits.maxPendingBytes - input.size },
      { attr: 'storedBytes', lte: limits.maxStoredBytes - input.size },
    ],
    file: {
      ...file,
      status: 'UPLOADING',
      version: 1,
      gsi3pk: PENDING_UPLOAD,
      gsi3sk: new Date(input.uploadExpiresAt).toISOString(),
    },
  });
}

/**
 * A file the app made itself (DS Bro's charts and saved tables), its object already written: it counts in the
 * user's stored bytes at once (never pending), only while its project exists and the storage limit holds. A
 * chart is written COMPLETED; a saved table PROCESSING (claimed at `now`), to be validated and profiled like
 * an upload.
 */
export async function createGeneratedFile(
  db: Db,
  input: Pick<
    FileRecord,
    'fileId' | 'userId' | 'projectId' | 'filename' | 'contentType' | 'size' | 'objectKey'
  > & {
    provenance: Provenance;
    status: 'COMPLETED' | 'PROCESSING';
    now: number;
    maxStoredBytes: number;
  },
): Promise<CreateFileResult> {
  const { maxStoredBytes, now, status, ...file } = input;
  return putFileCountingUsage(db, {
    userId: input.userId,
    projectId: input.projectId,
    usage: { userId: input.userId, storedBytes: $add(input.size) },
    limits: [{ attr: 'storedBytes', lte: maxStoredBytes - input.size }],
    file: {
      ...file,
      source: 'APP_GENERATED',
      status,
      uploadExpiresAt: now,
      ...(status === 'PROCESSING' ? { processingStartedAt: now } : {}),
      version: 1,
    },
  });
}

type UsageEntity = Db['entities']['usage'];

/**
 * A new file's record, its user's usage change (within `limits`) and a check that its project still exists, in
 * one transaction; a limit reached and a project gone are told apart.
 */
async function putFileCountingUsage(
  db: Db,
  input: {
    userId: string;
    projectId: string;
    usage: UpdateItemInput<UsageEntity>;
    limits: Condition<UsageEntity>[];
    file: PutItemInput<FileEntity>;
  },
): Promise<CreateFileResult> {
  try {
    const { ToolboxItems } = await withUsage(db, input.userId, () =>
      executeTransactWrite(
        db.entities.usage
          .build(UpdateTransaction)
          .item(input.usage)
          .options({ condition: { and: [{ attr: 'userId', exists: true }, ...input.limits] } }),
        db.entities.project
          .build(ConditionCheck)
          .key({ userId: input.userId, projectId: input.projectId })
          .condition({ attr: 'projectId', exists: true }),
        db.entities.file
          .build(PutTransaction)
          .item(input.file)
          .options({ condition: { attr: 'fileId', exists: false } }),
      ),
    );
    return { outcome: 'created', file: db.entities.file.build(EntityFormatter).format(ToolboxItems[2]) };
  } catch (error) {
    const failed = failedConditionIndexes(error);
    if (failed.includes(1)) return { outcome: 'project-gone' };
    const usage = failed.includes(0) ? await getUsage(db, input.userId) : null;
    if (usage) return { outcome: 'limit', usage };
    throw error;
  }
}

export async function getFile(db: Db, fileId: string): Promise<FileRecord | null> {
  const { Item } = await db.entities.file
    .build(GetItemCommand)
    .key({ fileId })
    .options({ consistent: true })
    .send();
  return Item ?? null;
}

export async function listFiles(
  db: Db,
  input: {
    projectId: string;
    source?: FileSource | undefined;
    limit: number;
    startKey?: StartKey | undefined;
  },
): Promise<KeyPage<FileRecord>> {
  const query = input.source
    ? { index: 'GSI2' as const, partition: `PROJECT#${input.projectId}#SOURCE#${input.source}` }
    : { index: 'GSI1' as const, partition: `PROJECT#${input.projectId}`, range: { beginsWith: 'FILE#' } };
  const page = await queryPage(db, db.entities.file, query, {
    limit: input.limit,
    startKey: input.startKey,
    newestFirst: true,
  });
  return page;
}

/*
 * Versioned writes: a file record changes version with every write, so a write conditioned on the version it was
 * read at leaves exactly that record plus what the write set, and the record can be built instead of read back
 * (two round trips less per processed file). A write that finds another version (the file renamed meanwhile)
 * reads it again and, while it is still in the state the write is for, tries again: each failed try means
 * another write of the file landed, so the tries end when those do (`writeWithUsage`).
 */

/**
 * Claims `file` (as the caller read it) for processing: from UPLOADING, or from a PROCESSING run that started
 * before `staleBefore` (its server died). Returns the claimed record, or null when someone else holds it or it is
 * finished: confirming twice is harmless. Leaving UPLOADING ends the upload's pending reservation in the user's
 * usage, in the same transaction.
 */
export async function claimForProcessing(
  db: Db,
  input: { file: FileRecord; now: number; staleBefore: number },
): Promise<FileRecord | null> {
  const claim = {
    fileId: input.file.fileId,
    status: 'PROCESSING' as const,
    processingStartedAt: input.now,
    gsi3pk: $remove(),
    gsi3sk: $remove(),
  };
  let file: FileRecord | null = input.file;
  while (file) {
    if (file.status !== 'UPLOADING') {
      return conditionalUpdate(db, claim, {
        and: [
          { attr: 'status', eq: 'PROCESSING' },
          { attr: 'processingStartedAt', lt: input.staleBefore },
        ],
      });
    }
    const outcome = await writeWithUsage(db, file, {
      usage: {
        userId: file.userId,
        pendingUploads: { [file.fileId]: $remove() },
        pendingBytes: $add(-file.size),
      },
      file: claim,
      condition: { attr: 'status', eq: 'UPLOADING' },
      record: { status: 'PROCESSING', processingStartedAt: input.now },
    });
    if ('written' in outcome) return outcome.written;
    // Claimed, finished, deleted or renamed since it was read: as it is now.
    file = outcome.now;
  }
  return null;
}

/**
 * Ends the processing run of `file` (the record its claim returned); a run that lost its claim changes nothing
 * and gets null. A completed file counts in the user's stored bytes at its real size instead of the declared
 * one, in the same transaction (a failed one keeps its declared size counted: its upload stays stored until
 * deleted). Returns the file as it now is.
 */
export async function finishProcessing(
  db: Db,
  input: {
    file: FileRecord;
    outcome:
      | { status: 'COMPLETED'; metadata: CsvMetadata; size: number }
      | { status: 'FAILED'; failureReason: string };
  },
): Promise<FileRecord | null> {
  const run = input.file.processingStartedAt;
  const claimed = {
    and: [
      { attr: 'status', eq: 'PROCESSING' },
      { attr: 'processingStartedAt', eq: run ?? 0 },
    ],
  } satisfies Condition<FileEntity>;
  if (input.outcome.status === 'FAILED') {
    return conditionalUpdate(db, { fileId: input.file.fileId, ...input.outcome }, claimed);
  }
  const { metadata, size } = input.outcome;
  let file: FileRecord | null = input.file;
  while (file) {
    if (file.status !== 'PROCESSING' || file.processingStartedAt !== run) return null;
    const outcome = await writeWithUsage(db, file, {
      usage: { userId: file.userId, storedBytes: $add(size - file.size) },
      file: { fileId: file.fileId, status: 'COMPLETED', size, metadata: wholeDocument(metadata) },
      condition: claimed,
      record: { status: 'COMPLETED', size, metadata },
    });
    if ('written' in outcome) return outcome.written;
    file = outcome.now;
  }
  return null;
}

/**
 * One write of a file, as `read` was read, with its user's usage, in one transaction conditioned on the file's
 * version besides `condition` (see "Versioned writes" above). Gives the record as written (`read` with
 * `record`'s values), or, when the file has changed since, the file as it now is (null: gone).
 */
async function writeWithUsage(
  db: Db,
  read: FileRecord,
  write: {
    usage: UpdateItemInput<UsageEntity>;
    file: Omit<UpdateItemInput<FileEntity>, 'version' | 'updatedAt'>;
    condition: Condition<FileEntity>;
    /** The values written, as the record holds them. */
    record: Partial<Pick<FileRecord, 'status' | 'processingStartedAt' | 'size' | 'metadata'>>;
  },
): Promise<{ written: FileRecord } | { now: FileRecord | null }> {
  const updatedAt = new Date().toISOString();
  try {
    await withUsage(db, read.userId, () =>
      executeTransactWrite(
        db.entities.usage
          .build(UpdateTransaction)
          .item(write.usage)
          .options({ condition: { attr: 'userId', exists: true } }),
        db.entities.file
          .build(UpdateTransaction)
          .item({ ...write.file, updatedAt, version: $add(1) })
          .options({ condition: { and: [write.condition, { attr: 'version', eq: read.version }] } }),
      ),
    );
  } catch (error) {
    if (!failedConditionIndexes(error).includes(1)) throw error;
    const now = await getFile(db, read.fileId);
    // Versions only grow: the same one again would mean the condition failed for no write, and a try again
    // would fail the same way for ever.
    if (now?.version === read.version)
      throw new Error(`File ${read.fileId} refused a write at its own version`);
    return { now };
  }
  return { written: { ...read, ...write.record, version: read.version + 1, updatedAt } };
}

export function renameFile(db: Db, input: { fileId: string; filename: string }): Promise<FileRecord | null> {
  return conditionalUpdate(
    db,
    { fileId: input.fileId, filename: input.filename },
    { attr: 'fileId', exists: true },
  );
}

/** DynamoDB's limit of 100 items per transaction, less the usage update. */
export const MAX_FILES_PER_DELETION = 99;

/**
 * Deletes file records of one user and takes them out of the user's usage, in one transaction of at most
 * `MAX_FILES_PER_DELETION` files. Each record is deleted only in the state its accounting was computed from;
 * one that changed meanwhile (an upload confirmed, a file completed) is read again and the batch retried, one
 * already gone is skipped. Returns how many this call deleted.
 */
export async function deleteFileRecords(db: Db, files: FileRecord[]): Promise<number> {
  let current = files;
  for (let attempt = 1; ; attempt++) {
    const [first] = current;
    if (!first) return 0;
    if (current.length > MAX_FILES_PER_DELETION)
      throw new Error(`At most ${MAX_FILES_PER_DELETION} files at once`);
    const batch = current;
    try {
      await withUsage(db, first.userId, () =>
        executeTransactWrite(
          releaseUsage(db, first.userId, batch),
          ...batch.map((file) =>
            db.entities.file
              .build(DeleteTransaction)
              .key({ fileId: file.fileId })
              .options({
                condition: {
                  and: [
                    { attr: 'status', eq: file.status },
                    { attr: 'size', eq: file.size },
                  ],
                },
              }),
          ),
        ),
      );
      return batch.length;
    } catch (error) {
      const failed = failedConditionIndexes(error);
      if (failed.length === 0 || failed.includes(0) || attempt >= 5) throw error;
      const reread = await Promise.all(batch.map((file) => getFile(db, file.fileId)));
      current = reread.filter((file): file is FileRecord => file !== null);
    }
  }
}

/** Uploads still waiting for confirmation whose URL expired before `before` (epoch ms), oldest first. */
export async function listExpiredUploads(
  db: Db,
  input: { before: number; limit: number },
): Promise<FileRecord[]> {
  const { Items = [] } = await db.table
    .build(QueryCommand)
    .entities(db.entities.file)
    .query({ index: 'GSI3', partition: PENDING_UPLOAD, range: { lt: new Date(input.before).toISOString() } })
    .options({ limit: input.limit })
    .send();
  return Items;
}

/**
 * Deletes the record only if it is still an unconfirmed upload (a confirm that just won keeps its file),
 * releasing its reservation in the user's usage in the same transaction.
 */
export async function deleteUnconfirmedUpload(db: Db, file: FileRecord): Promise<boolean> {
  try {
    await withUsage(db, file.userId, () =>
      executeTransactWrite(
        releaseUsage(db, file.userId, [{ ...file, status: 'UPLOADING' }]),
        db.entities.file
          .build(DeleteTransaction)
          .key({ fileId: file.fileId })
          .options({
            condition: {
              and: [
                { attr: 'status', eq: 'UPLOADING' },
                { attr: 'size', eq: file.size },
              ],
            },
          }),
      ),
    );
    return true;
  } catch (error) {
    if (failedConditionIndexes(error).includes(1)) return false;
    throw error;
  }
}

/** Takes deleted files out of their owner's usage: their bytes, and the reservations of unconfirmed uploads. */
function releaseUsage(db: Db, userId: string, files: Pick<FileRecord, 'fileId' | 'size' | 'status'>[]) {
  const uploading = files.filter((file) => file.status === 'UPLOADING');
  const sum = (list: typeof files) => list.reduce((total, file) => total + file.size, 0);
  return db.entities.usage
    .build(UpdateTransaction)
    .item({
      userId,
      storedBytes: $add(-sum(files)),
      ...(uploading.length > 0
        ? {
            pendingBytes: $add(-sum(uploading)),
            pendingUploads: Object.fromEntries(uploading.map((file) => [file.fileId, $remove()])),
          }
        : {}),
    })
    .options({ condition: { attr: 'userId', exists: true } });
}

type FileEntity = Db['entities']['file'];

async function conditionalUpdate(
  db: Db,
  item: Omit<UpdateItemInput<FileEntity>, 'version'>,
  condition: Condition<FileEntity>,
): Promise<FileRecord | null> {
  try {
    const { Attributes } = await db.entities.file
      .build(UpdateItemCommand)
      .item({ ...item, version: $add(1) })
      .options({ condition, returnValues: 'ALL_NEW' })
      .send();
    return Attributes ?? null;
  } catch (error) {
    if (isConditionFailure(error)) return null;
    throw error;
  }
}

/**
 * A file DS Bro made keeps its provenance when the message that made it is deleted (the file is the user's
 * now), without the link to that message.
 */
export async function forgetProvenanceMessage(
  db: Db,
  input: { fileId: string; messageId: string },
): Promise<void> {
  try {
    await db.documentClient.send(
      new UpdateCommand({
        TableName: db.tableName,
        Key: { pk: `FILE#${input.fileId}`, sk: 'FILE' },
        // A new version, as every write of a file has (see "Versioned writes").
        UpdateExpression: 'REMOVE provenance.messageId ADD version :one',
        ConditionExpression: 'provenance.messageId = :messageId',
        ExpressionAttributeValues: { ':messageId': input.messageId, ':one': 1 },
      }),
    );
  } catch (error) {
    // Deleted since, or made by another message.
    if (!isConditionFailure(error)) throw error;
  }
}
