import {
  createFileRecord,
  deleteFileRecords,
  type FileRecord,
  getFile as getFileRecord,
  listFiles as listFileRecords,
  newId,
  renameFile as renameFileRecord,
  type UsageRecord,
} from '@leonidas/db';
import { sqlIdentifier } from '../analysis/duckdb.js';
import { previewQuery, previewRow } from '../analysis/profile.js';
import { runQuery } from '../analysis/query-engine.js';
import type { ApiDeps } from '../context.js';
import { AppError, invalidField, notFound, quotaReached, tooManyRequests } from '../errors.js';
import { inLiveProject, requireProject } from '../project/service.js';
import { formatBytes, formatCount } from '../quotas.js';
import { isMissingObject } from '../storage/s3.js';
import { fileObjectKey, previewObjectKey, tableObjectKey } from './keys.js';
import { startProcessing } from './processing.js';
import {
  type File,
  type FilePreview,
  type FileSource,
  previewOutput,
  VEGA_LITE_CONTENT_TYPE,
} from './schema.js';
import { removeUnconfirmedUpload } from './sweep.js';

type Owner = { userId: string };

export function toFile(record: FileRecord): File {
  return {
    id: record.fileId,
    projectId: record.projectId,
    filename: record.filename,
    contentType: record.contentType,
    size: record.size,
    status: record.status,
    source: record.source,
    ...(record.failureReason ? { failureReason: record.failureReason } : {}),
    ...(record.metadata ? { metadata: record.metadata } : {}),
    ...(record.provenance ? { provenance: record.provenance } : {}),
    createdAt: new Date(record.createdAt),
    updatedAt: new Date(record.updatedAt),
  };
}

/**
 * The file, if this user owns it and its project still exists; another user's file is NOT_FOUND like a
 * missing one, and so is one whose project is being deleted in the background.
 */
async function requireFile(deps: ApiDeps, input: Owner & { fileId: string }): Promise<FileRecord> {
  const [record] = await requireFileAnd(deps, input, async () => undefined);
  return record;
}

/**
 * `requireFile`, with `alongside` run while the project is read (one round trip less), once the record shows the
 * file is this user's. The file's NOT_FOUND comes first, whatever `alongside` did.
 */
async function requireFileAnd<T>(
  deps: ApiDeps,
  input: Owner & { fileId: string },
  alongside: (record: FileRecord) => Promise<T>,
): Promise<[FileRecord, T]> {
  const record = await getFileRecord(deps.db, input.fileId);
  if (!record || record.userId !== input.userId) throw notFound('File');
  return inLiveProject(deps, record, () => notFound('File'), alongside);
}

function contentTypeFor(filename: string, declared: string): string {
  if (declared) return declared;
  return filename.toLowerCase().endsWith('.tsv') ? 'text/tab-separated-values' : 'text/csv';
}

export async function createUpload(
  deps: ApiDeps,
  input: Owner & { projectId: string; filename: string; size: number; contentType: string },
) {
  if (input.size > deps.files.maxUploadBytes) {
    throw invalidField('size', `Files can be at most ${formatBytes(deps.files.maxUploadBytes)}`);
  }
  const fileId = newId();
  const contentType = contentTypeFor(input.filename, input.contentType);
  const objectKey = fileObjectKey(input.projectId, fileId);
  const expiresAt = deps.clock.now() + deps.files.uploadUrlTtlSeconds * 1000;
  const record = await createUploadRecord(deps, {
    fileId,
    userId: input.userId,
    projectId: input.projectId,
    filename: input.filename,
    contentType,
    size: input.size,
    source: 'USER_UPLOAD',
    objectKey,
    uploadExpiresAt: expiresAt,
  });
  const upload = await deps.storage.presignUpload({
    key: objectKey,
    contentType,
    maxBytes: input.size,
    expiresInSeconds: deps.files.uploadUrlTtlSeconds,
  });
  return { file: toFile(record), upload: { ...upload, expiresAt: new Date(expiresAt) } };
}

/**
 * The record, within the user's quotas. Uploads whose URL expired hold their place until the sweep removes
 * them; at the limit this user's are removed at once and the write tried again, so the retry time given is
 * when the next one expires.
 */
async function createUploadRecord(
  deps: ApiDeps,
  file: Omit<Parameters<typeof createFileRecord>[1], 'limits'>,
): Promise<FileRecord> {
  const { quotas } = deps;
  const limits = {
    maxPendingUploads: quotas.maxPendingUploads,
    maxPendingBytes: quotas.maxPendingUploadBytes,
    maxStoredBytes: quotas.maxStoredBytes,
  };
  for (let attempt = 1; ; attempt++) {
    const result = await createFileRecord(deps.db, { ...file, limits });
    // The project's key holds its owner: another user's project is not found, like a missing one.
    if (result.outcome === 'project-gone') throw notFound('Project');
    if (result.outcome === 'created') return result.file;
    const released = await releaseExpiredUploads(deps, result.usage);
    const refusal = uploadRefusal(deps, result.usage, file.size);
    // Past the limit by what was just released, or by a state another request has changed since: try again.
    if ((released > 0 || !refusal) && attempt < 3) continue;
    throw refusal ?? tooManyRequests('Too many uploads at once.', 1000);
  }
}

async function releaseExpiredUploads(deps: ApiDeps, usage: UsageRecord): Promise<number> {
  const now = deps.clock.now();
  let released = 0;
  for (const [fileId, expiresAt] of Object.entries(usage.pendingUploads)) {
    if (expiresAt > now) continue;
    const file = await getFileRecord(deps.db, fileId);
    if (file?.status === 'UPLOADING' && (await removeUnconfirmedUpload(deps, file))) released++;
  }
  return released;
}

/**
 * Which limit the upload would pass: FORBIDDEN when only deleting files makes room, TOO_MANY_REQUESTS with a
 * retry time when uploads waiting for confirmation hold the room (they expire).
 */
function uploadRefusal(deps: ApiDeps, usage: UsageRecord, size: number): AppError | null {
  const { quotas } = deps;
  const now = deps.clock.now();
  const kept = usage.storedBytes - usage.pendingBytes;
  if (kept + size > quotas.maxStoredBytes) {
    return quotaReached(
      `This file would pass your storage limit of ${formatBytes(quotas.maxStoredBytes)}: your files take ${formatBytes(kept)}. Delete files to make room.`,
    );
  }
  const expiries = Object.values(usage.pendingUploads).filter((expiresAt) => expiresAt > now);
  const retryAfterMs = expiries.length > 0 ? Math.min(...expiries) - now : 1000;
  const waiting = Object.keys(usage.pendingUploads).length;
  if (waiting >= quotas.maxPendingUploads) {
    return tooManyRequests(
      `You have reached the limit of ${formatCount(quotas.maxPendingUploads)} uploads waiting for confirmation. Confirm them, or wait until they expire.`,
      retryAfterMs,
    );
  }
  if (usage.pendingBytes + size > quotas.maxPendingUploadBytes) {
    return tooManyRequests(
      `Uploads waiting for confirmation may total at most ${formatBytes(quotas.maxPendingUploadBytes)}; ${formatBytes(usage.pendingBytes)} are waiting. Confirm them, or wait until they expire.`,
      retryAfterMs,
    );
  }
  if (usage.storedBytes + size > quotas.maxStoredBytes) {
    return tooManyRequests(
      `Uploads waiting for confirmation hold the rest of your storage limit of ${formatBytes(quotas.maxStoredBytes)}.`,
      retryAfterMs,
    );
  }
  return null;
}

export async function confirmFile(deps: ApiDeps, input: Owner & { fileId: string }): Promise<File> {
  const finished = (file: FileRecord) => file.status === 'COMPLETED' || file.status === 'FAILED';
  // The object's size is asked while the project is read.
  const [file, objectSize] = await requireFileAnd(deps, input, async (record) =>
    finished(record) ? null : deps.storage.size(record.objectKey),
  );
  if (finished(file)) return toFile(file);
  if (objectSize === null) {
    throw new AppError(
      'CONFLICT',
      'The upload has not arrived yet. Send the file to the upload URL, then confirm.',
    );
  }
  return toFile(await startProcessing(deps, file, objectSize));
}

export async function getFile(deps: ApiDeps, input: Owner & { fileId: string }): Promise<File> {
  return toFile(await requireFile(deps, input));
}

export async function listFiles(
  deps: ApiDeps,
  input: Owner & {
    projectId: string;
    source?: FileSource | undefined;
    limit: number;
    cursor?: string | undefined;
  },
) {
  await requireProject(deps, input);
  const scope = `file.list:${input.projectId}:${input.source ?? '*'}`;
  const page = await listFileRecords(deps.db, {
    projectId: input.projectId,
    source: input.source,
    limit: input.limit,
    startKey: deps.cursors.decode(scope, input.cursor),
  });
  return deps.cursors.page(scope, page, toFile);
}

export async function previewFile(
  deps: ApiDeps,
  input: Owner & { fileId: string; limit: number },
): Promise<FilePreview> {
  const file = await requireFile(deps, input);
  assertReady(file);
  return await readPreview(deps, file, input.limit);
}

/**
 * A processed file's first `limit` rows: its stored preview, or, when that is missing or not the shape processing
 * writes (a store that lost it, or an object changed behind our back), the same rows read anew from the file's
 * table. What storage holds is checked before it is passed on, not trusted for being ours; it is not written back,
 * so a file whose preview is lost costs a small query each time (a log line says so).
 */
export async function readPreview(deps: ApiDeps, file: FileRecord, limit: number): Promise<FilePreview> {
  const { metadata } = file;
  if (!metadata) {
    throw new AppError(
      'CONFLICT',
      file.contentType === VEGA_LITE_CONTENT_TYPE
        ? 'This file is a chart, not a table: it has no rows to preview.'
        : 'This file is not ready yet. Wait until it is processed.',
    );
  }
  const stored = previewOutput.safeParse(
    await deps.storage
      .getJson(previewObjectKey(file.projectId, file.fileId))
      .catch((error: unknown) => (error instanceof SyntaxError ? null : Promise.reject(error))),
  );
  const columns = metadata.columns.map((column) => ({ name: column.name, kind: column.type }));
  if (stored.success && sameShape(stored.data, columns)) {
    return { columns: stored.data.columns, rows: stored.data.rows.slice(0, limit) };
  }
  deps.logger.warn(
    { fileId: file.fileId },
    'a stored preview was missing or unreadable: read from the table',
  );
  let path: string;
  try {
    path = await deps.tables.pathOf({
      fileId: file.fileId,
      objectKey: file.objectKey,
      tableKey: tableObjectKey(file.projectId, file.fileId),
      delimiter: metadata.delimiter,
    });
  } catch (error) {
    if (!isMissingObject(error)) throw error;
    throw new AppError('CONFLICT', "This file's data is gone from storage. Delete it and upload it again.", {
      cause: error,
    });
  }
  const name = 'preview_source';
  const read = await deps.queryWork.run(file.userId, () =>
    runQuery([{ name, path, columns: metadata.columns }], previewQuery(columns, sqlIdentifier(name), limit), {
      ...deps.queries,
      maxRows: limit,
    }),
  );
  if (!read.ok) throw new Error(`the preview could not be read from the table: ${read.error}`);
  return {
    columns: columns.map((column) => column.name),
    rows: read.rows.map((row) => previewRow(row, columns)),
  };
}

/** Whether a stored preview has the file's columns, and rows as wide: what can be checked without reading the table. */
const sameShape = (preview: FilePreview, columns: { name: string }[]) =>
  preview.columns.length === columns.length &&
  preview.columns.every((name, i) => name === columns[i]?.name) &&
  preview.rows.every((row) => row.length === columns.length);

export async function downloadUrl(deps: ApiDeps, input: Owner & { fileId: string }) {
  const file = await requireFile(deps, input);
  if (file.status === 'UPLOADING' || (await deps.storage.size(file.objectKey)) === null) {
    throw new AppError(
      'CONFLICT',
      'There is nothing to download: the file was never uploaded or was removed.',
    );
  }
  const expiresInSeconds = deps.files.downloadUrlTtlSeconds;
  const url = await deps.storage.presignDownload({
    key: file.objectKey,
    filename: file.filename,
    expiresInSeconds,
  });
  return { url, expiresAt: new Date(deps.clock.now() + expiresInSeconds * 1000) };
}

export async function renameFile(
  deps: ApiDeps,
  input: Owner & { fileId: string; filename: string },
): Promise<File> {
  await requireFile(deps, input);
  const renamed = await renameFileRecord(deps.db, input);
  if (!renamed) throw notFound('File');
  return toFile(renamed);
}

/** Objects first, record last: a failure half-way leaves a file the user still sees and can delete again. */
export async function deleteFile(deps: ApiDeps, input: Owner & { fileId: string }): Promise<{ ok: true }> {
  const file = await requireFile(deps, input);
  if (!(await removeFile(deps, file))) throw notFound('File');
  return { ok: true };
}

/** Returns false when the record was already gone. */
async function removeFile(deps: ApiDeps, file: FileRecord): Promise<boolean> {
  await deps.storage.delete(file.objectKey);
  await deps.storage.delete(previewObjectKey(file.projectId, file.fileId));
  await deps.storage.delete(tableObjectKey(file.projectId, file.fileId));
  await deps.tables.forget(file.fileId);
  return (await deleteFileRecords(deps.db, [file])) === 1;
}

function assertReady(file: FileRecord): void {
  if (file.status === 'COMPLETED') return;
  if (file.status === 'FAILED') {
    throw new AppError(
      'CONFLICT',
      `This file could not be processed: ${file.failureReason ?? 'unknown reason'}`,
    );
  }
  throw new AppError('CONFLICT', 'This file is not ready yet. Wait until it is processed.');
}
