import { deleteUnconfirmedUpload, type FileRecord, listExpiredUploads } from '@leonidas/db';
import type { ApiDeps } from '../context.js';

/**
 * Removes uploads that were never confirmed once their upload URL has expired: the record (only while it is
 * still UPLOADING, so a confirm that just won keeps its file) and any object that did arrive.
 */
export async function sweepExpiredUploads(deps: ApiDeps): Promise<number> {
  let swept = 0;
  for (let page = 0; page < MAX_PAGES_PER_SWEEP; page++) {
    const expired = await listExpiredUploads(deps.db, { before: deps.clock.now(), limit: 100 });
    let removed = 0;
    for (const file of expired) {
      if (await removeUnconfirmedUpload(deps, file)) removed++;
    }
    swept += removed;
    // The index is eventually consistent: entries it still shows after they changed (a confirm that won)
    // are left for the next sweep rather than read again and again now.
    if (removed < expired.length || expired.length === 0) return swept;
  }
  return swept;
}

/** The most a sweep does at once (100 uploads a page); housekeeping comes back for the rest. */
const MAX_PAGES_PER_SWEEP = 50;

/** One unconfirmed upload, its record (which frees its place in the owner's quota) and its object. */
export async function removeUnconfirmedUpload(deps: ApiDeps, file: FileRecord): Promise<boolean> {
  if (!(await deleteUnconfirmedUpload(deps.db, file))) return false;
  await deps.storage.delete(file.objectKey);
  return true;
}
