import {
  createProject as createProjectRecord,
  getProject as getProjectRecord,
  listProjects as listProjectRecords,
  newId,
  type ProjectRecord,
  startProjectDeletion,
  updateProject as updateProjectRecord,
} from '@leonidas/db';
import type { ApiDeps } from '../context.js';
import { deleteInBackground, deletionLeaseUntil } from '../deletion/service.js';
import { notFound, quotaReached } from '../errors.js';
import { formatCount } from '../quotas.js';
import type { Project } from './schema.js';

export function toProject(record: ProjectRecord): Project {
  return {
    id: record.projectId,
    name: record.name,
    description: record.description,
    createdAt: new Date(record.createdAt),
    updatedAt: new Date(record.updatedAt),
  };
}

export async function listProjects(
  deps: ApiDeps,
  input: { userId: string; limit: number; cursor?: string | undefined },
) {
  const scope = `project.list:${input.userId}`;
  const page = await listProjectRecords(deps.db, {
    userId: input.userId,
    limit: input.limit,
    startKey: deps.cursors.decode(scope, input.cursor),
  });
  return deps.cursors.page(scope, page, toProject);
}

export async function createProject(
  deps: ApiDeps,
  input: { userId: string; name: string; description?: string | undefined },
): Promise<Project> {
  const record = await createProjectRecord(deps.db, {
    userId: input.userId,
    projectId: newId(),
    name: input.name,
    description: input.description ?? '',
    maxProjects: deps.quotas.maxProjects,
  });
  if (!record) {
    throw quotaReached(
      `You have reached the limit of ${formatCount(deps.quotas.maxProjects)} projects per account. Delete a project to create a new one.`,
    );
  }
  return toProject(record);
}

/** The project, if this user owns it; another user's project is NOT_FOUND like a missing one. */
export async function requireProject(
  deps: ApiDeps,
  input: { userId: string; projectId: string },
): Promise<ProjectRecord> {
  const record = await getProjectRecord(deps.db, input);
  if (!record) throw notFound('Project');
  return record;
}

/**
 * A record of this user's that lives in a project (a file, a session), once its project is known to still exist
 * (not being deleted in the background), with what `alongside` read meanwhile: one round trip instead of two in
 * a row. A project gone is `missing()`, whatever `alongside` did; then `alongside`'s own failure, if any.
 */
export async function inLiveProject<R extends { userId: string; projectId: string }, T>(
  deps: ApiDeps,
  record: R,
  missing: () => Error,
  alongside: (record: R) => Promise<T>,
): Promise<[R, T]> {
  const [project, extra] = await Promise.allSettled([
    getProjectRecord(deps.db, { userId: record.userId, projectId: record.projectId }),
    // Called from a promise, so that even a synchronous throw comes after the project's answer.
    Promise.resolve(record).then(alongside),
  ]);
  if (project.status === 'rejected') throw project.reason;
  if (!project.value) throw missing();
  if (extra.status === 'rejected') throw extra.reason;
  return [record, extra.value];
}

export async function getProject(
  deps: ApiDeps,
  input: { userId: string; projectId: string },
): Promise<Project> {
  return toProject(await requireProject(deps, input));
}

export async function updateProject(
  deps: ApiDeps,
  input: { userId: string; projectId: string; name?: string | undefined; description?: string | undefined },
): Promise<Project> {
  const record =
    input.name === undefined && input.description === undefined
      ? await getProjectRecord(deps.db, input)
      : await updateProjectRecord(deps.db, input);
  if (!record) throw notFound('Project');
  return toProject(record);
}

/**
 * The project is gone from view at once (its sessions and files with it) and its slot in the quota is free;
 * a tombstone stands for it until its sessions, messages, files and stored objects are deleted in the
 * background, however many there are.
 */
export async function deleteProject(
  deps: ApiDeps,
  input: { userId: string; projectId: string },
): Promise<{ ok: true }> {
  const started = await startProjectDeletion(deps.db, { ...input, leaseUntil: deletionLeaseUntil(deps) });
  // Ownership is the key: another user's project is not found, like a missing one.
  if (!started) throw notFound('Project');
  deleteInBackground(deps, { kind: 'PROJECT', targetId: input.projectId, ...input });
  return { ok: true };
}
