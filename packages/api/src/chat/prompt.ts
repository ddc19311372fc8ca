import type { FileRecord, MessageRecord } from '@leonidas/db';
import type { ChatTurn } from './llm/types.js';
import type { ToolCall } from './schema.js';
import { fileSummary } from './tools.js';

const PERSONA = `You are DS Bro, the data scientist inside Leonidas. You are friendly, sharp and plain-spoken.
- Answer from the user's own data. Every number you state comes from a tool result or from what the user wrote; never invent or estimate one without saying so.
- Use the tools: list_files to see the project's files, describe_file for a file's profile and first rows.
- When you do not know, or the data cannot answer, say so and say what would.
- Keep answers short and concrete; use Markdown tables for tabular results.`;

export function systemPrompt(files: FileRecord[]): string {
  const listing =
    files.length === 0
      ? 'The project has no files yet.'
      : files.map((file) => `- ${JSON.stringify(fileSummary(file))}`).join('\n');
  return `${PERSONA}\n\nFiles in this project:\n${listing}`;
}

/** Rough token count: ~4 characters a token is close enough to budget a context. */
const tokens = (text: string) => Math.ceil(text.length / 4);

/**
 * The conversation for the model: the most recent messages (newest first in, oldest first out) that fit the
 * budget, always including the latest user message. Earlier tool calls are summarised into the text so the
 * model keeps what it learned without replaying tool protocol.
 */
export function conversation(newestFirst: MessageRecord[], budget: number): ChatTurn[] {
  const turns: ChatTurn[] = [];
  let used = 0;
  for (const message of newestFirst) {
    if (message.role === 'assistant' && message.status === 'streaming') continue;
    const text = messageText(message);
    if (!text) continue;
    used += tokens(text);
    if (used > budget && turns.length > 0) break;
    turns.unshift({ role: message.role, content: [{ type: 'text', text }] });
  }
  // Providers want the conversation to start with the user.
  while (turns[0]?.role === 'assistant') turns.shift();
  return mergeSameRole(turns);
}

function messageText(message: MessageRecord): string {
  const calls = (message.toolCalls as ToolCall[] | undefined) ?? [];
  const notes = calls.map(
    (call) => `[${call.name}(${JSON.stringify(call.input)}) returned ${JSON.stringify(call.output)}]`,
  );
  const suffix =
    message.status === 'cancelled'
      ? ' [stopped by the user]'
      : message.status === 'error'
        ? ' [interrupted]'
        : '';
  return (
    [...notes, message.content].filter(Boolean).join('\n') + (message.content || notes.length ? suffix : '')
  );
}

/** Two user messages in a row (e.g. after a failed reply) become one turn, as providers require alternation. */
function mergeSameRole(turns: ChatTurn[]): ChatTurn[] {
  const merged: ChatTurn[] = [];
  for (const turn of turns) {
    const last = merged.at(-1);
    if (last && last.role === turn.role) last.content.push(...turn.content);
    else merged.push({ role: turn.role, content: [...turn.content] });
  }
  return merged;
}
