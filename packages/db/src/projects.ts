import {
  $add,
  DeleteTransaction,
  executeTransactWrite,
  GetItemCommand,
  PutTransaction,
  UpdateItemCommand,
} from 'dynamodb-toolbox';
import type { Db } from './db.js';
import { tombstonePut } from './deletions.js';
import { failedConditionIndexes, isConditionFailure } from './errors.js';
import { type KeyPage, queryPage, type StartKey } from './pagination.js';
import type { ProjectRecord } from './records.js';
import { countChange, withUsage } from './usage.js';

/** Null when the user already has `maxProjects` projects. */
export async function createProject(
  db: Db,
  input: { userId: string; projectId: string; name: string; description: string; maxProjects: number },
): Promise<ProjectRecord | null> {
  const { maxProjects, ...project } = input;
  try {
    const { ToolboxItems } = await withUsage(db, input.userId, () =>
      executeTransactWrite(
        countChange(db, { userId: input.userId, counter: 'projects', by: 1, below: maxProjects }),
        db.entities.project
          .build(PutTransaction)
          .item({ ...project, version: 1 })
          .options({ condition: { attr: 'projectId', exists: false } }),
      ),
    );
    return ToolboxItems[1];
  } catch (error) {
    if (failedConditionIndexes(error).includes(0)) return null;
    throw error;
  }
}

/** Ownership is part of the key: another user's project is simply not found. */
export async function getProject(
  db: Db,
  key: { userId: string; projectId: string },
): Promise<ProjectRecord | null> {
  const { Item } = await db.entities.project
    .build(GetItemCommand)
    .key(key)
    .options({ consistent: true })
    .send();
  return Item ?? null;
}

export function listProjects(
  db: Db,
  input: { userId: string; limit: number; startKey?: StartKey | undefined },
): Promise<KeyPage<ProjectRecord>> {
  return queryPage(
    db,
    db.entities.project,
    { partition: `USER#${input.userId}`, range: { beginsWith: 'PROJECT#' } },
    { limit: input.limit, startKey: input.startKey, newestFirst: true },
  );
}

/** Updates only an existing project (never re-creates a deleted one) and bumps its version. */
export async function updateProject(
  db: Db,
  input: { userId: string; projectId: string; name?: string | undefined; description?: string | undefined },
): Promise<ProjectRecord | null> {
  try {
    const { Attributes } = await db.entities.project
      .build(UpdateItemCommand)
      .item({
        userId: input.userId,
        projectId: input.projectId,
        ...(input.name !== undefined ? { name: input.name } : {}),
        ...(input.description !== undefined ? { description: input.description } : {}),
        version: $add(1),
      })
      .options({ condition: { attr: 'projectId', exists: true }, returnValues: 'ALL_NEW' })
      .send();
    return Attributes ?? null;
  } catch (error) {
    if (isConditionFailure(error)) return null;
    throw error;
  }
}

/**
 * The project disappears (list, reads, new children) and a tombstone takes its place, in one transaction
 * that also frees its slot in the user's quota; its sessions, files and objects are then deleted in the
 * background. Returns false when there was no such project.
 */
export async function startProjectDeletion(
  db: Db,
  input: { userId: string; projectId: string; leaseUntil: number },
): Promise<boolean> {
  const { userId, projectId } = input;
  try {
    await withUsage(db, userId, () =>
      executeTransactWrite(
        countChange(db, { userId, counter: 'projects', by: -1 }),
        db.entities.project
          .build(DeleteTransaction)
          .key({ userId, projectId })
          .options({ condition: { attr: 'projectId', exists: true } }),
        tombstonePut(db, {
          kind: 'PROJECT',
          targetId: projectId,
          userId,
          projectId,
          leaseUntil: input.leaseUntil,
        }),
      ),
    );
    return true;
  } catch (error) {
    if (failedConditionIndexes(error).includes(1)) return false;
    throw error;
  }
}
