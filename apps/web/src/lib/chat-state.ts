import type { ChatEvent, Message, NumberCheck } from '@leonidas/api';

export interface ToolStep {
  callId: string;
  name: string;
  input: unknown;
  output?: unknown;
}

export interface ChatMessage {
  id: string;
  role: 'user' | 'assistant';
  content: string;
  status: Message['status'];
  model?: string | undefined;
  error?: string | undefined;
  toolSteps: ToolStep[];
  /** The numbers of a finished reply, checked against its tool results (absent while it streams). */
  numbers?: NumberCheck[] | undefined;
}

export interface ChatState {
  messages: Record<string, ChatMessage>;
  /** The run being written, if any. */
  activeRunId: string | null;
  /** A run started for a user message this view has not seen (sent from another tab). */
  unknownUserMessage: boolean;
}

export const emptyChat: ChatState = { messages: {}, activeRunId: null, unknownUserMessage: false };

export function fromMessage(message: Message): ChatMessage {
  return {
    id: message.id,
    role: message.role,
    content: message.content,
    status: message.status,
    model: message.model,
    error: message.error,
    toolSteps: (message.toolCalls ?? []).map((call) => ({ ...call })),
    numbers: message.numbers,
  };
}

export type ChatAction = { type: 'messages'; messages: Message[] } | { type: 'event'; event: ChatEvent };

/**
 * Folds stored messages and live events into what the chat shows. Replays are safe: a run's start resets its
 * reply, so the events that follow rebuild it without doubling text.
 */
export function chatReducer(state: ChatState, action: ChatAction): ChatState {
  if (action.type === 'messages') {
    const messages = { ...state.messages };
    for (const message of action.messages) {
      // A live reply is fresher than a stored snapshot of it.
      if (messages[message.id]?.status === 'streaming' && message.status === 'streaming') continue;
      messages[message.id] = fromMessage(message);
    }
    return { ...state, messages, unknownUserMessage: false };
  }
  const { event } = action;
  const messages = { ...state.messages };
  const update = (id: string, change: (message: ChatMessage) => ChatMessage) => {
    const existing = messages[id] ?? {
      id,
      role: 'assistant',
      content: '',
      status: 'streaming',
      toolSteps: [],
    };
    messages[id] = change(existing);
  };
  switch (event.type) {
    case 'run.started':
      update(event.messageId, (message) => ({
        ...message,
        content: '',
        toolSteps: [],
        numbers: undefined,
        status: 'streaming',
        error: undefined,
      }));
      return {
        messages,
        activeRunId: event.runId,
        unknownUserMessage: state.unknownUserMessage || !messages[event.userMessageId],
      };
    case 'message.delta':
      update(event.messageId, (message) => ({ ...message, content: message.content + event.text }));
      return { ...state, messages };
    case 'tool.call':
      update(event.messageId, (message) => ({
        ...message,
        toolSteps: [...message.toolSteps, { callId: event.callId, name: event.name, input: event.input }],
      }));
      return { ...state, messages };
    case 'tool.result':
      update(event.messageId, (message) => ({
        ...message,
        toolSteps: message.toolSteps.map((step) =>
          step.callId === event.callId ? { ...step, output: event.output } : step,
        ),
      }));
      return { ...state, messages };
    case 'message.completed':
    case 'run.cancelled':
      messages[event.message.id] = fromMessage(event.message);
      return {
        ...state,
        messages,
        activeRunId: state.activeRunId === event.runId ? null : state.activeRunId,
      };
    case 'run.failed':
      update(event.messageId, (message) => ({ ...message, status: 'error', error: event.error }));
      return {
        ...state,
        messages,
        activeRunId: state.activeRunId === event.runId ? null : state.activeRunId,
      };
  }
}

/** Messages in conversation order (ids sort by time). */
export function orderedMessages(state: ChatState): ChatMessage[] {
  return Object.values(state.messages).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
