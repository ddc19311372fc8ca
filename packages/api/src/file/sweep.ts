import { deleteUnconfirmedUpload, type FileRecord, listExpiredUploads } from '@leonidas/db';
import type { ApiDeps } from '../context.js';

/**
 * Removes uploads that were never confirmed once their upload URL has expired: the record (only while it is
 * still UPLOADING, so a confirm that just won keeps its file) and any object that did arrive.
 */
export async function sweepExpiredUploads(deps: ApiDeps): Promise<number> {
  let swept = 0;
  for (;;) {
    const expired = await listExpiredUploads(deps.db, { before: deps.clock.now(), limit: 100 });
    if (expired.length === 0) return swept;
    for (const file of expired) {
      if (await removeUnconfirmedUpload(deps, file)) swept++;
    }
  }
}

/** One unconfirmed upload, its record (which frees its place in the owner's quota) and its object. */
export async function removeUnconfirmedUpload(deps: ApiDeps, file: FileRecord): Promise<boolean> {
  if (!(await deleteUnconfirmedUpload(deps.db, file))) return false;
  await deps.storage.delete(file.objectKey);
  return true;
}
