import {
  $add,
  $remove,
  $set,
  type Condition,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type UpdateItemInput,
} from 'dynamodb-toolbox';
import type { Db } from './db.js';
import { isConditionFailure } from './errors.js';
import { type KeyPage, queryPage, type StartKey } from './pagination.js';

export type FileStatus = 'UPLOADING' | 'PROCESSING' | 'COMPLETED' | 'FAILED';
export type FileSource = 'USER_UPLOAD' | 'APP_GENERATED';

export interface FileRecord {
  fileId: string;
  userId: string;
  projectId: string;
  filename: string;
  contentType: string;
  size: number;
  status: FileStatus;
  source: FileSource;
  objectKey: string;
  uploadExpiresAt: number;
  processingStartedAt?: number | undefined;
  failureReason?: string | undefined;
  metadata?: unknown;
  version: number;
  createdAt: string;
  updatedAt: string;
}

const PENDING_UPLOAD = 'PENDING_UPLOAD';
type IndexKey = 'gsi1pk' | 'gsi1sk' | 'gsi2pk' | 'gsi2sk' | 'gsi3pk' | 'gsi3sk';

/** Written as UPLOADING and entered in the sparse pending-upload index, keyed by when its URL expires. */
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
  >,
): Promise<FileRecord> {
  const { ToolboxItem } = await db.entities.file
    .build(PutItemCommand)
    .item({
      ...input,
      status: 'UPLOADING',
      version: 1,
      gsi3pk: PENDING_UPLOAD,
      gsi3sk: new Date(input.uploadExpiresAt).toISOString(),
    })
    .options({ condition: { attr: 'fileId', exists: false } })
    .send();
  return withoutIndexKeys(ToolboxItem);
}

export async function getFile(db: Db, fileId: string): Promise<FileRecord | null> {
  const { Item } = await db.entities.file
    .build(GetItemCommand)
    .key({ fileId })
    .options({ consistent: true })
    .send();
  return Item ? withoutIndexKeys(Item) : null;
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
  return { items: page.items.map(withoutIndexKeys), nextKey: page.nextKey };
}

/**
 * Claims the file for processing: from UPLOADING, or from a PROCESSING run that started before `staleBefore`
 * (its server died). Returns null when someone else holds it or it is finished: confirming twice is harmless.
 */
export async function claimForProcessing(
  db: Db,
  input: { fileId: string; now: number; staleBefore: number },
): Promise<FileRecord | null> {
  return conditionalUpdate(
    db,
    {
      fileId: input.fileId,
      status: 'PROCESSING',
      processingStartedAt: input.now,
      gsi3pk: $remove(),
      gsi3sk: $remove(),
    },
    {
      or: [
        { attr: 'status', eq: 'UPLOADING' },
        {
          and: [
            { attr: 'status', eq: 'PROCESSING' },
            { attr: 'processingStartedAt', lt: input.staleBefore },
          ],
        },
      ],
    },
  );
}

/** Ends the processing run that `processingStartedAt` identifies; a run that lost its claim changes nothing. */
export function finishProcessing(
  db: Db,
  input: {
    fileId: string;
    processingStartedAt: number;
    outcome:
      | { status: 'COMPLETED'; metadata: unknown; size: number }
      | { status: 'FAILED'; failureReason: string };
  },
): Promise<FileRecord | null> {
  const outcome =
    input.outcome.status === 'COMPLETED'
      ? // $set replaces the whole profile; a plain object would be merged path by path into a missing map.
        { ...input.outcome, metadata: $set(input.outcome.metadata) }
      : input.outcome;
  return conditionalUpdate(
    db,
    { fileId: input.fileId, ...outcome },
    {
      and: [
        { attr: 'status', eq: 'PROCESSING' },
        { attr: 'processingStartedAt', eq: input.processingStartedAt },
      ],
    },
  );
}

export function renameFile(db: Db, input: { fileId: string; filename: string }): Promise<FileRecord | null> {
  return conditionalUpdate(
    db,
    { fileId: input.fileId, filename: input.filename },
    { attr: 'fileId', exists: true },
  );
}

export async function deleteFileRecord(db: Db, fileId: string): Promise<boolean> {
  try {
    await db.entities.file
      .build(DeleteItemCommand)
      .key({ fileId })
      .options({ condition: { attr: 'fileId', exists: true } })
      .send();
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
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
  return Items.map(withoutIndexKeys);
}

/** Deletes the record only if it is still an unconfirmed upload (a confirm that just won keeps its file). */
export async function deleteUnconfirmedUpload(db: Db, fileId: string): Promise<boolean> {
  try {
    await db.entities.file
      .build(DeleteItemCommand)
      .key({ fileId })
      .options({ condition: { attr: 'status', eq: 'UPLOADING' } })
      .send();
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
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
    return Attributes ? withoutIndexKeys(Attributes) : null;
  } catch (error) {
    if (isConditionFailure(error)) return null;
    throw error;
  }
}

function withoutIndexKeys<ITEM extends FileRecord>(
  item: ITEM & Partial<Record<IndexKey, string>>,
): FileRecord {
  const { gsi1pk: _1, gsi1sk: _2, gsi2pk: _3, gsi2sk: _4, gsi3pk: _5, gsi3sk: _6, ...record } = item;
  return record;
}
