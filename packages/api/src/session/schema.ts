import { z } from 'zod';
import { pageInput, pageOf } from '../pagination.js';

const sessionId = z.string().min(1).max(64);
const title = z
  .string()
  .trim()
  .min(1, 'Title cannot be empty')
  .max(200, 'Title must be at most 200 characters');

export const sessionIdInput = z.strictObject({ sessionId });
export const listSessionsInput = z.strictObject({ projectId: z.string().min(1).max(64), ...pageInput });
export const createSessionInput = z.strictObject({
  projectId: z.string().min(1).max(64),
  title: title.optional(),
});
export const updateSessionInput = z.strictObject({ sessionId, title });

export const sessionOutput = z.object({
  id: z.string(),
  projectId: z.string(),
  title: z.string(),
  createdAt: z.date(),
  updatedAt: z.date(),
});
export type Session = z.infer<typeof sessionOutput>;
export const sessionPageOutput = pageOf(sessionOutput);
