import { MESSAGE_ROLES, MESSAGE_STATUSES, numberCheck, toolCall, usage } from '@leonidas/db';
import { z } from 'zod';
import { pageInput, pageOf } from '../pagination.js';

const sessionId = z.string().min(1).max(64);

export const MAX_MESSAGE_CHARS = 32_000;

const messageId = z.string().min(1).max(64);
const clientMessageId = z.string().min(1).max(100);
const content = z
  .string()
  .max(MAX_MESSAGE_CHARS, `A message can be at most ${MAX_MESSAGE_CHARS} characters`)
  .refine((text) => text.trim().length > 0, 'Write a message first');

export const editInput = z.strictObject({ sessionId, messageId, content, clientMessageId });
export const regenerateInput = z.strictObject({ sessionId, messageId, clientMessageId });
export const selectBranchInput = z.strictObject({ sessionId, messageId });
export const deleteMessageInput = z.strictObject({ sessionId, messageId });
export const sendInput = z.strictObject({ sessionId, content, clientMessageId });
export const onEventsInput = z.strictObject({ sessionId, lastEventId: z.string().max(100).optional() });
export const cancelInput = z.strictObject({ sessionId });
export const historyInput = z.strictObject({ sessionId, ...pageInput });

/** A reply's tool calls, usage and number checks are sent as they are stored (`@leonidas/db`). */
export const toolCallOutput = toolCall;
export const usageOutput = usage;
export const numberCheckOutput = numberCheck;
export type ToolCall = z.infer<typeof toolCallOutput>;
export type Usage = z.infer<typeof usageOutput>;
export type NumberCheck = z.infer<typeof numberCheckOutput>;

export const messageOutput = z.object({
  id: z.string(),
  sessionId: z.string(),
  /** The message this one follows; null for the first of the conversation (see "Conversation tree"). */
  parentId: z.string().nullable(),
  role: z.enum(MESSAGE_ROLES),
  content: z.string(),
  createdAt: z.date(),
  /** Set on a question made by editing another: when it was written. */
  editedAt: z.date().optional(),
  status: z.enum(MESSAGE_STATUSES),
  model: z.string().optional(),
  toolCalls: z.array(toolCallOutput).optional(),
  usage: usageOutput.optional(),
  error: z.string().optional(),
  numbers: z.array(numberCheckOutput).optional(),
  /** The versions at this place of the conversation (same parent), this one included, oldest first. */
  siblingIds: z.array(z.string()),
});
export type Message = z.infer<typeof messageOutput>;

export const sendOutput = z.object({ userMessage: messageOutput, runId: z.string() });
export const regenerateOutput = z.object({ runId: z.string() });
export const messagePageOutput = pageOf(messageOutput);

/** What `chat.onEvents` streams; every event names its run. */
export type ChatEvent =
  | {
      type: 'run.started';
      runId: string;
      userMessageId: string;
      messageId: string;
      /** The message the user's message follows (null for the first): where the run sits in the tree. */
      parentId: string | null;
    }
  | { type: 'message.delta'; runId: string; messageId: string; text: string }
  | { type: 'tool.call'; runId: string; messageId: string; callId: string; name: string; input: unknown }
  | { type: 'tool.result'; runId: string; messageId: string; callId: string; output: unknown }
  | { type: 'message.completed'; runId: string; message: Message }
  | { type: 'run.cancelled'; runId: string; message: Message }
  | { type: 'run.failed'; runId: string; messageId: string; error: string };

/** A cell of a query result or preview: typed values, 64-bit integers beyond 2^53 as strings. */
export type CellValue = string | number | boolean | null;

/** What DS Bro's tools answer (the `output` of their `tool.result` events and stored tool calls). */
export interface ToolError {
  error: string;
  /** What to try instead, e.g. the tables and columns when a name was wrong. */
  hint?: string;
}
export interface RunSqlOutput {
  queryId: string;
  columns: { name: string; type: string }[];
  /** The first rows (at most 50); the whole result (at most 10,000 rows) is kept under `queryId`. */
  rows: CellValue[][];
  rowCount: number;
  /** Whether the result had more rows than were kept. */
  truncated: boolean;
}
export interface MakeChartOutput {
  fileId: string;
  filename: string;
}
export interface SaveTableOutput {
  fileId: string;
  filename: string;
  table: string;
}
