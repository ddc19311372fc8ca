import { $add, DeleteItemCommand, GetItemCommand, PutItemCommand, UpdateItemCommand } from 'dynamodb-toolbox';
import type { Db } from './db.js';
import { isConditionFailure } from './errors.js';
import { type KeyPage, queryPage, type StartKey } from './pagination.js';

export interface ProjectRecord {
  userId: string;
  projectId: string;
  name: string;
  description: string;
  version: number;
  createdAt: string;
  updatedAt: string;
}

export async function createProject(
  db: Db,
  input: { userId: string; projectId: string; name: string; description: string },
): Promise<ProjectRecord> {
  const { ToolboxItem } = await db.entities.project
    .build(PutItemCommand)
    .item({ ...input, version: 1 })
    .options({ condition: { attr: 'projectId', exists: false } })
    .send();
  return ToolboxItem;
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

/** Returns false when there was no such project. */
export async function deleteProjectRecord(
  db: Db,
  key: { userId: string; projectId: string },
): Promise<boolean> {
  try {
    await db.entities.project
      .build(DeleteItemCommand)
      .key(key)
      .options({ condition: { attr: 'projectId', exists: true } })
      .send();
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}
