import {
  createSession as createSessionRecord,
  deleteSessionItems,
  getSession,
  listAllSessionIds,
  listSessions as listSessionRecords,
  newId,
  type SessionRecord,
  updateSession as updateSessionRecord,
} from '@leonidas/db';
import type { ApiDeps } from '../context.js';
import { AppError, notFound } from '../errors.js';
import { requireProject } from '../project/service.js';
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

/** The session, if this user owns it; another user's session is NOT_FOUND like a missing one. */
export async function requireSession(
  deps: ApiDeps,
  input: Owner & { sessionId: string },
): Promise<SessionRecord> {
  const record = await getSession(deps.db, input.sessionId);
  if (!record || record.userId !== input.userId) throw notFound('Session');
  return record;
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
  await requireProject(deps, input);
  const record = await createSessionRecord(deps.db, {
    sessionId: newId(),
    userId: input.userId,
    projectId: input.projectId,
    title: input.title ?? DEFAULT_SESSION_TITLE,
  });
  return toSession(record);
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

/** Starts the conversation over: every message goes, the session stays. */
export async function refreshSession(deps: ApiDeps, input: Owner & { sessionId: string }): Promise<Session> {
  const session = await requireSession(deps, input);
  if (session.activeRunId) {
    throw new AppError('CONFLICT', 'DS Bro is still replying. Stop the reply first, then start over.');
  }
  await deleteSessionItems(deps.db, { sessionId: input.sessionId, keepSession: true });
  deps.runs.forget(input.sessionId);
  const record = await updateSessionRecord(deps.db, { sessionId: input.sessionId });
  if (!record) throw notFound('Session');
  return toSession(record);
}

export async function deleteSession(
  deps: ApiDeps,
  input: Owner & { sessionId: string },
): Promise<{ ok: true }> {
  await requireSession(deps, input);
  await removeSession(deps, input.sessionId);
  return { ok: true };
}

/** Stops a reply being written here, then deletes messages first and the session last. */
async function removeSession(deps: ApiDeps, sessionId: string): Promise<void> {
  deps.runs.abort(sessionId, 'deleted');
  await deleteSessionItems(deps.db, { sessionId, keepSession: false });
  deps.runs.forget(sessionId);
}

/** For `project.delete`: every session of the project with its messages. */
export async function deleteProjectSessions(deps: ApiDeps, input: { projectId: string }): Promise<number> {
  const sessionIds = await listAllSessionIds(deps.db, input.projectId);
  for (const sessionId of sessionIds) await removeSession(deps, sessionId);
  return sessionIds.length;
}
