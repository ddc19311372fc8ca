import { z } from 'zod';
import { pageInput, pageOf } from '../pagination.js';

const sessionId = z.string().min(1).max(64);

export const MAX_MESSAGE_CHARS = 32_000;

export const sendInput = z.strictObject({
  sessionId,
  content: z
    .string()
    .max(MAX_MESSAGE_CHARS, `A message can be at most ${MAX_MESSAGE_CHARS} characters`)
    .refine((content) => content.trim().length > 0, 'Write a message first'),
  clientMessageId: z.string().min(1).max(100),
});
export const onEventsInput = z.strictObject({ sessionId, lastEventId: z.string().max(100).optional() });
export const cancelInput = z.strictObject({ sessionId });
export const historyInput = z.strictObject({ sessionId, ...pageInput });

export const toolCallOutput = z.object({
  callId: z.string(),
  name: z.string(),
  input: z.unknown(),
  output: z.unknown(),
});
export type ToolCall = z.infer<typeof toolCallOutput>;

export const usageOutput = z.object({ inputTokens: z.number(), outputTokens: z.number() });
export type Usage = z.infer<typeof usageOutput>;

export const messageOutput = z.object({
  id: z.string(),
  sessionId: z.string(),
  role: z.enum(['user', 'assistant']),
  content: z.string(),
  createdAt: z.date(),
  status: z.enum(['complete', 'streaming', 'cancelled', 'error']),
  model: z.string().optional(),
  toolCalls: z.array(toolCallOutput).optional(),
  usage: usageOutput.optional(),
  error: z.string().optional(),
});
export type Message = z.infer<typeof messageOutput>;

export const sendOutput = z.object({ userMessage: messageOutput, runId: z.string() });
export const messagePageOutput = pageOf(messageOutput);

/** What `chat.onEvents` streams; every event names its run. */
export type ChatEvent =
  | { type: 'run.started'; runId: string; userMessageId: string; messageId: string }
  | { type: 'message.delta'; runId: string; messageId: string; text: string }
  | { type: 'tool.call'; runId: string; messageId: string; callId: string; name: string; input: unknown }
  | { type: 'tool.result'; runId: string; messageId: string; callId: string; output: unknown }
  | { type: 'message.completed'; runId: string; message: Message }
  | { type: 'run.cancelled'; runId: string; message: Message }
  | { type: 'run.failed'; runId: string; messageId: string; error: string };
