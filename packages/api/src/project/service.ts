import {
  createProject as createProjectRecord,
  deleteProjectRecord,
  getProject as getProjectRecord,
  listProjects as listProjectRecords,
  newId,
  type ProjectRecord,
  updateProject as updateProjectRecord,
} from '@leonidas/db';
import type { ApiDeps } from '../context.js';
import { notFound } from '../errors.js';
import { projectPrefix } from '../file/keys.js';
import { deleteProjectFiles } from '../file/service.js';
import { deleteProjectSessions } from '../session/service.js';
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
  });
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
 * Removes the project and everything it owns. Children go first and the project record last, so a failure
 * half-way leaves a project the user still sees and can delete again, never orphans without a parent.
 */
export async function deleteProject(
  deps: ApiDeps,
  input: { userId: string; projectId: string },
): Promise<{ ok: true }> {
  await requireProject(deps, input);
  await deleteProjectSessions(deps, input);
  await deleteProjectFiles(deps, input);
  // Anything else stored under the project (previews, objects of uploads never recorded) goes too.
  await deps.storage.deletePrefix(projectPrefix(input.projectId));
  if (!(await deleteProjectRecord(deps.db, input))) throw notFound('Project');
  return { ok: true };
}
