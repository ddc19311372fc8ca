import { z } from 'zod';
import { pageInput, pageOf } from '../pagination.js';

const projectId = z.string().min(1).max(64);
const name = z.string().trim().min(1, 'Name cannot be empty').max(100, 'Name must be at most 100 characters');
const description = z.string().trim().max(2000, 'Description must be at most 2000 characters');

export const projectIdInput = z.strictObject({ projectId });
export const listProjectsInput = z.strictObject(pageInput).prefault({});
export const createProjectInput = z.strictObject({ name, description: description.optional() });
export const updateProjectInput = z.strictObject({
  projectId,
  name: name.optional(),
  description: description.optional(),
});

export const projectOutput = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  createdAt: z.date(),
  updatedAt: z.date(),
});
export type Project = z.infer<typeof projectOutput>;

export const projectPageOutput = pageOf(projectOutput);
