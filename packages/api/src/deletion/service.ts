import {
  claimDeletion,
  collectSubtree,
  type DeletionRecord,
  deleteDetachedMessages,
  deleteFileRecords,
  deleteSessionContents,
  extendDeletionLease,
  finishDeletion,
  forgetProvenanceMessage,
  getMessage,
  listAbandonedDeletions,
  listFiles,
  listSessions,
  MAX_FILES_PER_DELETION,
  type StartKey,
  startSessionDeletion,
} from '@leonidas/db';
import type { ApiDeps } from '../context.js';
import { projectPrefix, queryResultKey, sessionPrefix } from '../file/keys.js';

/**
 * How long a server owns a cascade it started or claimed; it renews the lease after every batch, so only a
 * cascade whose server died (or gave up) is taken over by housekeeping.
 */
export const DELETION_LEASE_MS = 2 * 60_000;
/** Sessions deleted at once (each clears its messages 250 at a time). */
const SESSION_BATCH = 10;
/** Files per transaction, with the usage update: as many as DynamoDB takes. */
const FILE_BATCH = MAX_FILES_PER_DELETION;

type Deletion = Pick<
  DeletionRecord,
  'kind' | 'targetId' | 'userId' | 'projectId' | 'sessionId' | 'messageIds'
>;

export const deletionLeaseUntil = (deps: ApiDeps) => deps.clock.now() + DELETION_LEASE_MS;

/**
 * Runs the cascade of a tombstone just written, after the response. A failure leaves the tombstone, which
 * housekeeping (`finishAbandonedDeletions`) picks up once the lease runs out.
 */
export function deleteInBackground(deps: ApiDeps, deletion: Deletion): void {
  void deps.background.run(deleteNow(deps, deletion));
}

/** Runs the cascade of a tombstone just written and waits for it; a failure is left to housekeeping alike. */
export async function deleteNow(deps: ApiDeps, deletion: Deletion): Promise<void> {
  await runDeletion(deps, deletion).catch((error: unknown) => {
    deps.logger.error(
      { err: error, kind: deletion.kind, id: deletion.targetId },
      'deletion stopped half-way; housekeeping will finish it',
    );
  });
}

/** Housekeeping: finishes the cascades left behind by a server that died or failed, once their lease ran out. */
export async function finishAbandonedDeletions(deps: ApiDeps): Promise<number> {
  let finished = 0;
  for (const abandoned of await listAbandonedDeletions(deps.db, deps.clock.now())) {
    const claimed = await claimDeletion(deps.db, {
      kind: abandoned.kind,
      targetId: abandoned.targetId,
      now: deps.clock.now(),
      leaseUntil: deletionLeaseUntil(deps),
    });
    if (claimed && (await runDeletion(deps, claimed))) finished++;
  }
  return finished;
}

/**
 * Deletes what the tombstone stands for, in bounded batches, then the tombstone. Every step can run again
 * after a crash: deletes of what is already gone change nothing. Returns false when the tombstone has to stay
 * a while longer (see `clearProject`).
 */
async function runDeletion(deps: ApiDeps, deletion: Deletion): Promise<boolean> {
  if (deletion.kind === 'SESSION') {
    await clearSession(deps, deletion.projectId, deletion.targetId);
  } else if (deletion.kind === 'MESSAGE') {
    await clearMessages(deps, deletion);
  } else {
    const uploadsOpenUntil = await clearProject(deps, deletion);
    if (uploadsOpenUntil > deps.clock.now()) {
      // A browser may still post to an upload URL handed out before the deletion; the object would land
      // under the project's prefix. Housekeeping runs the (by then nearly empty) cascade again after that.
      await extendDeletionLease(deps.db, { ...deletion, leaseUntil: uploadsOpenUntil });
      return false;
    }
  }
  await finishDeletion(deps.db, deletion);
  return true;
}

/**
 * Stops a reply being written here (replies elsewhere stop at their next save), then deletes the messages and
 * the chat's kept query results.
 */
async function clearSession(deps: ApiDeps, projectId: string, sessionId: string): Promise<void> {
  deps.runs.abort(sessionId, 'deleted');
  await deleteSessionContents(deps.db, sessionId);
  await deps.storage.deletePrefix(sessionPrefix(projectId, sessionId));
  deps.runs.forget(sessionId);
}

/**
 * Messages taken out of their conversation (one, or every first message when it was started over) and
 * everything that was below them: their kept query results, the links from the files they made (the files
 * stay: they are the user's now), then the messages themselves.
 */
async function clearMessages(deps: ApiDeps, deletion: Deletion): Promise<void> {
  for (const messageId of deletion.messageIds ?? [deletion.targetId]) {
    await clearMessageTree(deps, deletion, messageId);
  }
}

async function clearMessageTree(deps: ApiDeps, deletion: Deletion, messageId: string): Promise<void> {
  const sessionId = deletion.sessionId ?? '';
  const root = await getMessage(deps.db, { sessionId, messageId });
  if (!root) return;
  const subtree = await collectSubtree(deps.db, root);
  for (const message of subtree) {
    for (const call of message.toolCalls ?? []) {
      const queryId = textField(call.output, 'queryId');
      if (call.name === 'run_sql' && queryId) {
        await deps.storage.delete(queryResultKey(deletion.projectId, sessionId, queryId));
      }
      const fileId = textField(call.output, 'fileId');
      if (fileId && (call.name === 'make_chart' || call.name === 'save_table')) {
        await forgetProvenanceMessage(deps.db, { fileId, messageId: message.messageId });
      }
    }
  }
  await deleteDetachedMessages(deps.db, subtree, () =>
    extendDeletionLease(deps.db, { ...deletion, leaseUntil: deletionLeaseUntil(deps) }),
  );
}

/**
 * Sessions (each through a tombstone of its own, so a crash never loses track of its messages), then the
 * stored objects, then the file records with their usage, then the objects once more (a processing run may
 * have written a preview meanwhile). The project is already gone, so nothing new can be added to it.
 * Returns until when (epoch ms) an upload URL of one of its files stays valid.
 */
async function clearProject(deps: ApiDeps, deletion: Deletion): Promise<number> {
  let uploadsOpenUntil = 0;
  // Held at least until those URLs expire, so a crash cannot hand the cascade to housekeeping too early.
  const renewLease = () =>
    extendDeletionLease(deps.db, {
      ...deletion,
      leaseUntil: Math.max(deletionLeaseUntil(deps), uploadsOpenUntil),
    });
  // Passes over the project's index until one finds nothing left: the index is eventually consistent.
  await untilNothingLeft(async (startKey) => {
    const page = await listSessions(deps.db, {
      projectId: deletion.projectId,
      limit: SESSION_BATCH,
      startKey,
    });
    const deleted = await Promise.all(
      page.items.map(async (session) => {
        const started = await startSessionDeletion(deps.db, {
          ...session,
          leaseUntil: deletionLeaseUntil(deps),
        });
        if (!started) return 0;
        await clearSession(deps, session.projectId, session.sessionId);
        await finishDeletion(deps.db, { kind: 'SESSION', targetId: session.sessionId });
        return 1;
      }),
    );
    await renewLease();
    return { nextKey: page.nextKey, deleted: deleted.reduce<number>((sum, one) => sum + one, 0) };
  });

  const prefix = projectPrefix(deletion.projectId);
  await deps.storage.deletePrefix(prefix);
  await untilNothingLeft(async (startKey) => {
    const page = await listFiles(deps.db, { projectId: deletion.projectId, limit: FILE_BATCH, startKey });
    for (const file of page.items) {
      if (file.status === 'UPLOADING') uploadsOpenUntil = Math.max(uploadsOpenUntil, file.uploadExpiresAt);
      // This server's copy of the table; another server's copy ages out of its cache.
      await deps.tables.forget(file.fileId);
    }
    await renewLease();
    return { nextKey: page.nextKey, deleted: await deleteFileRecords(deps.db, page.items) };
  });
  await deps.storage.deletePrefix(prefix);
  return uploadsOpenUntil;
}

async function untilNothingLeft(
  batch: (startKey: StartKey | undefined) => Promise<{ nextKey: StartKey | null; deleted: number }>,
): Promise<void> {
  for (;;) {
    let deletedInPass = 0;
    let startKey: StartKey | undefined;
    do {
      const { nextKey, deleted } = await batch(startKey);
      deletedInPass += deleted;
      startKey = nextKey ?? undefined;
    } while (startKey);
    if (deletedInPass === 0) return;
  }
}

/** A text field of a stored tool output, which is whatever the tool answered: checked, not assumed. */
function textField(output: unknown, name: string): string | undefined {
  if (typeof output !== 'object' || output === null) return undefined;
  const value: unknown = Reflect.get(output, name);
  return typeof value === 'string' ? value : undefined;
}
