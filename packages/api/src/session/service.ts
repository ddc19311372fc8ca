import {
  createSession as createSessionRecord,
  getSession,
  listSessions as listSessionRecords,
  newId,
  type SessionRecord,
  startSessionDeletion,
  updateSession as updateSessionRecord,
} from '@leonidas/db';
import type { ApiDeps } from '../context.js';
import { deleteInBackground, deletionLeaseUntil } from '../deletion/service.js';
import { notFound, quotaReached } from '../errors.js';
import { inLiveProject, requireProject } from '../project/service.js';
import { formatCount } from '../quotas.js';
import type { Session } from './schema.js';

type Owner = { userId: string };

export const DEFAULT_SESSION_TITLE = 'New chat';

export function toSession(record: SessionRecord): Session {
  return {
    id: record.sessionId,
    projectId: record.projectId,
    title: record.title,
    createdAt: new Date(record.createdAt),
    updatedAt: new Date(record.updatedAt),
  };
}

/**
 * The session, if this user owns it and its project still exists; another user's session is NOT_FOUND like
 * a missing one, and so is one whose project is being deleted in the background.
 */
export async function requireSession(
  deps: ApiDeps,
  input: Owner & { sessionId: string },
): Promise<SessionRecord> {
  const [record] = await requireSessionAnd(deps, input, async () => undefined);
  return record;
}

/**
 * `requireSession`, with `alongside` run while the project is read (one round trip less), once the record shows
 * the session is this user's. The session's NOT_FOUND comes first, whatever `alongside` did.
 */
export async function requireSessionAnd<T>(
  deps: ApiDeps,
  input: Owner & { sessionId: string },
  alongside: (record: SessionRecord) => Promise<T>,
): Promise<[SessionRecord, T]> {
  const record = await getSession(deps.db, input.sessionId);
  if (!record || record.userId !== input.userId) throw notFound('Session');
  return inLiveProject(deps, record, () => notFound('Session'), alongside);
}

export async function listSessions(
  deps: ApiDeps,
  input: Owner & { projectId: string; limit: number; cursor?: string | undefined },
) {
  await requireProject(deps, input);
  const scope = `session.list:${input.projectId}`;
  const page = await listSessionRecords(deps.db, {
    projectId: input.projectId,
    limit: input.limit,
    startKey: deps.cursors.decode(scope, input.cursor),
  });
  return deps.cursors.page(scope, page, toSession);
}

export async function createSession(
  deps: ApiDeps,
  input: Owner & { projectId: string; title?: string | undefined },
): Promise<Session> {
  const result = await createSessionRecord(deps.db, {
    sessionId: newId(),
    userId: input.userId,
    projectId: input.projectId,
    title: input.title ?? DEFAULT_SESSION_TITLE,
    maxSessions: deps.quotas.maxSessions,
  });
  // The project's key holds its owner: another user's project is not found, like a missing one.
  if (result.outcome === 'project-gone') throw notFound('Project');
  if (result.outcome === 'limit') {
    throw quotaReached(
      `You have reached the limit of ${formatCount(deps.quotas.maxSessions)} chats per account. Delete a chat to start a new one.`,
    );
  }
  return toSession(result.session);
}

export async function getSessionById(deps: ApiDeps, input: Owner & { sessionId: string }): Promise<Session> {
  return toSession(await requireSession(deps, input));
}

export async function updateSession(
  deps: ApiDeps,
  input: Owner & { sessionId: string; title: string },
): Promise<Session> {
  await requireSession(deps, input);
  const record = await updateSessionRecord(deps.db, input);
  if (!record) throw notFound('Session');
  return toSession(record);
}

/** The session is gone from view at once and its slot in the quota is free; its messages go in the background. */
export async function deleteSession(
  deps: ApiDeps,
  input: Owner & { sessionId: string },
): Promise<{ ok: true }> {
  const session = await requireSession(deps, input);
  if (!(await startSessionDeletion(deps.db, { ...session, leaseUntil: deletionLeaseUntil(deps) }))) {
    throw notFound('Session');
  }
  deleteInBackground(deps, { kind: 'SESSION', targetId: session.sessionId, ...session });
  return { ok: true };
}
