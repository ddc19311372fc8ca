import type { MessageRecord } from '@leonidas/db';
import { RunLog } from './hub.js';
import type { ChatEvent, Message } from './schema.js';

/**
 * A stored message as clients see it. `siblingIds` are its parent's children (the session's first messages
 * for a first message): the caller has them, having read the parent along with the message.
 */
export function toMessage(record: MessageRecord, siblingIds: string[]): Message {
  return {
    id: record.messageId,
    sessionId: record.sessionId,
    parentId: record.parentId ?? null,
    role: record.role,
    content: record.content,
    createdAt: new Date(record.createdAt),
    ...(record.editedAt ? { editedAt: new Date(record.editedAt) } : {}),
    status: record.status,
    ...(record.model ? { model: record.provider ? `${record.provider}/${record.model}` : record.model } : {}),
    ...(record.toolCalls?.length ? { toolCalls: record.toolCalls } : {}),
    ...(record.usage ? { usage: record.usage } : {}),
    ...(record.error ? { error: record.error } : {}),
    ...(record.numbers ? { numbers: record.numbers } : {}),
    siblingIds: siblingIds.includes(record.messageId) ? siblingIds : [...siblingIds, record.messageId],
  };
}

/** The versions at a message's place: its parent's children, or the session's first messages. */
export function siblingsOf(parent: MessageRecord | null, rootIds: string[] | undefined): string[] {
  return (parent ? parent.childIds : rootIds) ?? [];
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
  push({
    type: 'run.started',
    runId,
    userMessageId: user.messageId,
    messageId,
    parentId: user.parentId ?? null,
  });
  for (const call of assistant.toolCalls ?? []) {
    push({ type: 'tool.call', runId, messageId, callId: call.callId, name: call.name, input: call.input });
    push({ type: 'tool.result', runId, messageId, callId: call.callId, output: call.output });
  }
  if (assistant.content) push({ type: 'message.delta', runId, messageId, text: assistant.content });
  const message = toMessage(assistant, siblingsOf(user, undefined));
  if (assistant.status === 'complete') push({ type: 'message.completed', runId, message });
  else if (assistant.status === 'cancelled') push({ type: 'run.cancelled', runId, message });
  else if (assistant.status === 'error') {
    push({ type: 'run.failed', runId, messageId, error: assistant.error ?? 'The reply was interrupted.' });
  }
  log.done = true;
  return log;
}
