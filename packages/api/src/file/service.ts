import {
  createFileRecord,
  deleteFileRecord,
  type FileRecord,
  getFile as getFileRecord,
  listFiles as listFileRecords,
  newId,
  renameFile as renameFileRecord,
} from '@leonidas/db';
import type { ApiDeps } from '../context.js';
import { AppError, invalidField, notFound } from '../errors.js';
import { requireProject } from '../project/service.js';
import { fileObjectKey, previewObjectKey } from './keys.js';
import { startProcessing } from './processing.js';
import { type CsvMetadata, type File, type FilePreview, type FileSource, previewOutput } from './schema.js';

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
    ...(record.metadata ? { metadata: record.metadata as CsvMetadata } : {}),
    createdAt: new Date(record.createdAt),
    updatedAt: new Date(record.updatedAt),
  };
}

/** The file, if this user owns it; another user's file is NOT_FOUND like a missing one. */
async function requireFile(deps: ApiDeps, input: Owner & { fileId: string }): Promise<FileRecord> {
  const record = await getFileRecord(deps.db, input.fileId);
  if (!record || record.userId !== input.userId) throw notFound('File');
  return record;
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
  await requireProject(deps, input);
  const fileId = newId();
  const contentType = contentTypeFor(input.filename, input.contentType);
  const objectKey = fileObjectKey(input.projectId, fileId);
  const expiresAt = deps.clock.now() + deps.files.uploadUrlTtlSeconds * 1000;
  const record = await createFileRecord(deps.db, {
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

export async function confirmFile(deps: ApiDeps, input: Owner & { fileId: string }): Promise<File> {
  const file = await requireFile(deps, input);
  if (file.status === 'COMPLETED' || file.status === 'FAILED') return toFile(file);
  const objectSize = await deps.storage.size(file.objectKey);
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
  const stored = previewOutput.parse(
    await deps.storage.getJson(previewObjectKey(file.projectId, file.fileId)),
  );
  return { columns: stored.columns, rows: stored.rows.slice(0, input.limit) };
}

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
  return deleteFileRecord(deps.db, file.fileId);
}

/** For `project.delete`: every file of the project, records and objects. */
export async function deleteProjectFiles(deps: ApiDeps, input: { projectId: string }): Promise<number> {
  let deleted = 0;
  for (;;) {
    const page = await listFileRecords(deps.db, { projectId: input.projectId, limit: 100 });
    for (const file of page.items) {
      await removeFile(deps, file);
      deleted++;
    }
    if (!page.nextKey) return deleted;
  }
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

function formatBytes(bytes: number): string {
  const mb = bytes / (1024 * 1024);
  return mb >= 1 ? `${Number.isInteger(mb) ? mb : mb.toFixed(1)} MB` : `${bytes} bytes`;
}
