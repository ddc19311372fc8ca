import type { ChatEvent, Message, NumberCheck } from '@leonidas/api';

export interface ToolStep {
  callId: string;
  name: string;
  input: unknown;
  output?: unknown;
}

export interface ChatMessage {
  id: string;
  /** The message this one follows (null for the first): messages form a tree of versions. */
  parentId: string | null;
  /** The versions at this message's place (same parent), itself included, oldest first. */
  siblingIds: string[];
  role: 'user' | 'assistant';
  content: string;
  status: Message['status'];
  /** Set on a question written by editing another. */
  editedAt?: Date | undefined;
  model?: string | undefined;
  error?: string | undefined;
  toolSteps: ToolStep[];
  /** The numbers of a finished reply, checked against its tool results (absent while it streams). */
  numbers?: NumberCheck[] | undefined;
  /**
   * A question known only from the start of its reply's run (its sending has not answered yet): the branch is
   * read through it to the messages above, but it is not shown until it arrives.
   */
  placeholder?: true;
}

export interface ChatState {
  /** Every message seen, on any branch. */
  messages: Record<string, ChatMessage>;
  /** The newest message of the branch shown, which is read from it up through `parentId`. */
  leafId: string | null;
  /** The run being written, if any. */
  activeRunId: string | null;
  /**
   * The view misses messages of the server's branch (a question sent from another tab, or asked below a branch
   * chosen there): history is to be read again.
   */
  missesMessages: boolean;
}

export const emptyChat: ChatState = {
  messages: {},
  leafId: null,
  activeRunId: null,
  missesMessages: false,
};

export function fromMessage(message: Message): ChatMessage {
  return {
    id: message.id,
    parentId: message.parentId,
    siblingIds: message.siblingIds,
    role: message.role,
    content: message.content,
    status: message.status,
    editedAt: message.editedAt,
    model: message.model,
    error: message.error,
    toolSteps: (message.toolCalls ?? []).map((call) => ({ ...call })),
    numbers: message.numbers,
  };
}

export type ChatAction =
  /** Pages of `chat.history`, newest page first (each oldest first), merged into what is known. */
  | { type: 'history'; pages: Message[][] }
  /** Pages of `chat.history` that replace everything known: the tree changed (a version chosen, a deletion). */
  | { type: 'reset'; pages: Message[][] }
  /** A question this view just wrote (sent, or an edit): the branch shown now ends with it or its reply. */
  | { type: 'sent'; message: Message }
  | { type: 'event'; event: ChatEvent };

/** Ids in time order (they sort by time), each once. */
function unionOfIds(...lists: string[][]): string[] {
  return [...new Set(lists.flat())].sort();
}

/** Gives every known message among `ids` one list of versions: `ids` and the versions each already knew. */
function registerSiblings(messages: Record<string, ChatMessage>, ids: string[]): void {
  const all = unionOfIds(ids, ...ids.map((id) => messages[id]?.siblingIds ?? []));
  for (const id of all) {
    const sibling = messages[id];
    if (sibling) messages[id] = { ...sibling, siblingIds: all };
  }
}

/**
 * Merges stored messages into the known ones. Version lists are joined rather than replaced: a page read before
 * a regenerate started must not forget the reply it added (removals come with a `reset`).
 */
function absorb(messages: Record<string, ChatMessage>, incoming: Message[]): void {
  for (const message of incoming) {
    const known = messages[message.id];
    // A live reply is fresher than a stored snapshot of it.
    const fresher =
      known?.status === 'streaming' && message.status === 'streaming' ? known : fromMessage(message);
    messages[message.id] = { ...fresher, siblingIds: known?.siblingIds ?? [] };
    registerSiblings(messages, [...message.siblingIds, message.id]);
  }
}

/** Whether `id` is `ancestorId` or lies below it, as far as the known messages tell. */
export function isAtOrBelow(messages: Record<string, ChatMessage>, id: string, ancestorId: string): boolean {
  const seen = new Set<string>();
  for (let current: string | null | undefined = id; current && !seen.has(current); ) {
    if (current === ancestorId) return true;
    seen.add(current);
    current = messages[current]?.parentId;
  }
  return false;
}

/**
 * The leaf after `candidate` arrived as the newest message of a branch. The current leaf stays when it lies
 * below the candidate: a reply started after the page was read, so the view already knows more.
 */
function nextLeaf(state: ChatState, messages: Record<string, ChatMessage>, candidate: string | undefined) {
  if (!candidate) return state.leafId;
  if (state.leafId && isAtOrBelow(messages, state.leafId, candidate)) return state.leafId;
  return candidate;
}

/** A message the branch goes through that this view has not seen. */
const isUnknown = (messages: Record<string, ChatMessage>, id: string | null) => id !== null && !messages[id];

const newestOf = (pages: Message[][]) => pages[0]?.at(-1)?.id;

/**
 * Folds stored messages and live events into the conversation tree the chat shows one branch of. Replays are
 * safe: a run's start resets its reply, so the events that follow rebuild it without doubling text.
 */
export function chatReducer(state: ChatState, action: ChatAction): ChatState {
  switch (action.type) {
    case 'history': {
      const messages = { ...state.messages };
      absorb(messages, action.pages.flat());
      return {
        ...state,
        messages,
        leafId: nextLeaf(state, messages, newestOf(action.pages)),
        missesMessages: false,
      };
    }
    case 'reset': {
      const messages: Record<string, ChatMessage> = {};
      absorb(messages, action.pages.flat());
      return { ...state, messages, leafId: newestOf(action.pages) ?? null, missesMessages: false };
    }
    case 'sent': {
      const messages = { ...state.messages };
      absorb(messages, [action.message]);
      return {
        ...state,
        messages,
        leafId: nextLeaf(state, messages, action.message.id),
        missesMessages: state.missesMessages || isUnknown(messages, action.message.parentId),
      };
    }
    case 'event':
      return applyEvent(state, action.event);
  }
}

function applyEvent(state: ChatState, event: ChatEvent): ChatState {
  const messages = { ...state.messages };
  const update = (id: string, change: (message: ChatMessage) => ChatMessage) => {
    const existing = messages[id] ?? {
      id,
      parentId: null,
      siblingIds: [id],
      role: 'assistant',
      content: '',
      status: 'streaming',
      toolSteps: [],
    };
    messages[id] = change(existing);
  };
  const finished = () => (state.activeRunId === event.runId ? null : state.activeRunId);
  switch (event.type) {
    case 'run.started': {
      update(event.messageId, (message) => ({
        ...message,
        parentId: event.userMessageId,
        content: '',
        toolSteps: [],
        numbers: undefined,
        status: 'streaming',
        error: undefined,
      }));
      const unknownUserMessage = !messages[event.userMessageId];
      if (unknownUserMessage) {
        messages[event.userMessageId] = {
          id: event.userMessageId,
          parentId: event.parentId,
          siblingIds: [event.userMessageId],
          role: 'user',
          content: '',
          status: 'complete',
          toolSteps: [],
          placeholder: true,
        };
      }
      // The other replies to the same question, as far as known, are its versions.
      const replies = Object.values(messages).filter((message) => message.parentId === event.userMessageId);
      registerSiblings(
        messages,
        replies.map((reply) => reply.id),
      );
      return {
        messages,
        leafId: nextLeaf(state, messages, event.messageId),
        activeRunId: event.runId,
        missesMessages: state.missesMessages || unknownUserMessage,
      };
    }
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
      absorb(messages, [event.message]);
      return { ...state, messages, activeRunId: finished() };
    case 'run.failed':
      update(event.messageId, (message) => ({ ...message, status: 'error', error: event.error }));
      return { ...state, messages, activeRunId: finished() };
  }
}

/** The branch shown, oldest first: from the leaf up through the parents that are loaded. */
export function activeBranch(state: ChatState): ChatMessage[] {
  const branch: ChatMessage[] = [];
  const seen = new Set<string>();
  for (let id = state.leafId; id && !seen.has(id); ) {
    const message = state.messages[id];
    if (!message) break;
    seen.add(id);
    if (!message.placeholder) branch.push(message);
    id = message.parentId;
  }
  return branch.reverse();
}
