import { z } from 'zod';
import { DELIMITERS } from './delimiters.js';

/**
 * The shapes of the structured attributes stored as documents (a file's profile and provenance, a reply's tool
 * calls, usage and number checks), defined once: the entities type their attributes with them and the API's
 * output schemas are built from them, so what is stored and what is sent cannot drift apart.
 */

export const COLUMN_TYPES = ['integer', 'number', 'boolean', 'date', 'datetime', 'string'] as const;
export const columnType = z.enum(COLUMN_TYPES);
export type ColumnType = z.infer<typeof columnType>;

export { DELIMITERS, type Delimiter } from './delimiters.js';

export const columnProfile = z.object({
  name: z.string(),
  type: columnType,
  nullCount: z.number(),
  distinctCount: z.number(),
  min: z.union([z.number(), z.string()]).optional(),
  max: z.union([z.number(), z.string()]).optional(),
  mean: z.number().optional(),
});
export type ColumnProfile = z.infer<typeof columnProfile>;

/** A processed file's profile: its `metadata`. */
export const csvMetadata = z.object({
  rowCount: z.number(),
  columns: z.array(columnProfile),
  delimiter: z.enum(DELIMITERS),
  hasHeader: z.boolean(),
  encoding: z.literal('utf-8'),
});
export type CsvMetadata = z.infer<typeof csvMetadata>;

/** Where a file DS Bro made came from. */
export const provenance = z.object({
  sessionId: z.string(),
  /** The reply that made the file; gone when that message was deleted (the file stays). */
  messageId: z.string().optional(),
  sql: z.string(),
  sourceFileIds: z.array(z.string()),
});
export type Provenance = z.infer<typeof provenance>;

/** A tool call of a reply, with what the tool answered. */
export const toolCall = z.object({
  callId: z.string(),
  name: z.string(),
  input: z.unknown(),
  output: z.unknown(),
});
export type ToolCall = z.infer<typeof toolCall>;

export const usage = z.object({ inputTokens: z.number(), outputTokens: z.number() });
export type Usage = z.infer<typeof usage>;

/**
 * A number in a reply, where it is (offsets into `content`) and whether a tool's result (or the user's own
 * message) holds it as written: `callId` names the tool call it came from.
 */
export const numberCheck = z.object({
  text: z.string(),
  start: z.number().int(),
  end: z.number().int(),
  status: z.enum(['verified', 'unverified']),
  callId: z.string().optional(),
});
export type NumberCheck = z.infer<typeof numberCheck>;
