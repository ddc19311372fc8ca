import type { MessageRecord } from '@leonidas/db';
import { RunLog } from './hub.js';
import type { ChatEvent, Message, NumberCheck, ToolCall, Usage } from './schema.js';

export function toMessage(record: MessageRecord): Message {
  return {
    id: record.messageId,
    sessionId: record.sessionId,
    role: record.role,
    content: record.content,
    createdAt: new Date(record.createdAt),
    status: record.status,
    ...(record.model ? { model: record.provider ? `${record.provider}/${record.model}` : record.model } : {}),
    ...(Array.isArray(record.toolCalls) && record.toolCalls.length > 0
      ? { toolCalls: record.toolCalls as ToolCall[] }
      : {}),
    ...(record.usage ? { usage: record.usage as Usage } : {}),
    ...(record.error ? { error: record.error } : {}),
    ...(Array.isArray(record.numbers) ? { numbers: record.numbers as NumberCheck[] } : {}),
  };
}

/**
 * The events of a run rebuilt from its stored messages, for a run this process did not see (another server,
 * or before a restart): the same shape a live run has, with the text in one delta.
 */
export function rebuildRun(user: MessageRecord, assistant: MessageRecord): RunLog {
  const runId = assistant.runId ?? assistant.messageId;
  const log = new RunLog(assistant.sessionId, runId);
  const messageId = assistant.messageId;
  const push = (event: ChatEvent) => log.events.push({ id: log.nextId(), event });
  push({ type: 'run.started', runId, userMessageId: user.messageId, messageId });
  for (const call of (assistant.toolCalls as ToolCall[] | undefined) ?? []) {
    push({ type: 'tool.call', runId, messageId, callId: call.callId, name: call.name, input: call.input });
    push({ type: 'tool.result', runId, messageId, callId: call.callId, output: call.output });
  }
  if (assistant.content) push({ type: 'message.delta', runId, messageId, text: assistant.content });
  const message = toMessage(assistant);
  if (assistant.status === 'complete') push({ type: 'message.completed', runId, message });
  else if (assistant.status === 'cancelled') push({ type: 'run.cancelled', runId, message });
  else if (assistant.status === 'error') {
    push({ type: 'run.failed', runId, messageId, error: assistant.error ?? 'The reply was interrupted.' });
  }
  log.done = true;
  return log;
}
