import { answerFromTool, HELP, NO_MODEL } from './offline-answers.js';
import { decide } from './offline-requests.js';
import type { ChatRequest, ChatTurn, LlmProvider, ProviderEvent } from './types.js';

export const OFFLINE_MODEL = 'ds-bro-offline';

/** Its own tool calls are named so, to tell their results from the context the server adds. */
const OWN_CALL_PREFIX = 'offline-';

/**
 * The embedded default: no language model. It reads commands and a few plain requests (see
 * `offline-requests.ts`), answers them through the same tools a model calls (so tool calls show up as events,
 * and its numbers are checked like a model's), and otherwise says how to configure a model.
 */
export class OfflineProvider implements LlmProvider {
  readonly name = 'offline' as const;
  readonly model = OFFLINE_MODEL;

  constructor(private readonly options: { tokenDelayMs: number }) {}

  async *stream(request: ChatRequest): AsyncIterable<ProviderEvent> {
    // Only results of its own calls are answered; the context the server adds (the file listing) is not a
    // question, so the latest thing the user wrote is.
    const ownResult = request.messages
      .at(-1)
      ?.content.find((part) => part.type === 'tool_result' && part.toolUseId.startsWith(OWN_CALL_PREFIX));
    if (ownResult?.type === 'tool_result') {
      const call = findToolUse(request.messages, ownResult.toolUseId);
      yield* this.say(answerFromTool(call?.name ?? '', parse(ownResult.content)), request.signal);
      return;
    }
    const action = decide(latestUserText(request.messages), latestQueryId(request.messages));
    if (action.kind === 'call') {
      yield {
        type: 'tool_use',
        id: `${OWN_CALL_PREFIX}${action.name}`,
        name: action.name,
        input: action.input,
      };
    } else {
      const text = action.text === 'help' ? HELP : action.text === 'no-model' ? NO_MODEL : action.text.usage;
      yield* this.say(text, request.signal);
    }
  }

  /**
   * Streams the answer a word every `tokenDelayMs`, as a model would. The pace is kept by the clock rather than by
   * a pause per word: when a pause ends late (a busy server), the words due meanwhile come together, as a real
   * model's tokens do when they wait in the socket, instead of every word waiting its own turn of the event loop.
   */
  private async *say(text: string, signal: AbortSignal): AsyncIterable<ProviderEvent> {
    const words = text.match(/\S+\s*|\s+/g) ?? [];
    const pace = this.options.tokenDelayMs;
    const start = performance.now();
    let next = 0;
    while (next < words.length && !signal.aborted) {
      // Word i is due `pace` after word i - 1, the first `pace` after the start.
      const wait = start + (next + 1) * pace - performance.now();
      if (wait > 0) await sleep(wait, signal);
      if (signal.aborted) return;
      const due = pace > 0 ? Math.floor((performance.now() - start) / pace) : 0;
      const end = Math.min(words.length, Math.max(next + 1, due));
      yield { type: 'text', text: words.slice(next, end).join('') };
      next = end;
    }
  }
}

function latestUserText(messages: ChatTurn[]): string {
  for (const turn of [...messages].reverse()) {
    if (turn.role !== 'user') continue;
    // Two questions in a row (the reply to the first was deleted) arrive as one turn: the newest is asked.
    const texts = turn.content.flatMap((part) => (part.type === 'text' ? [part.text] : []));
    const newest = texts.at(-1);
    if (newest !== undefined) return newest;
  }
  return '';
}

/** The chat's latest query result, as the conversation replays earlier `run_sql` results. */
function latestQueryId(messages: ChatTurn[]): string | undefined {
  for (const turn of [...messages].reverse()) {
    for (const part of [...turn.content].reverse()) {
      if (part.type !== 'tool_result') continue;
      const result = parse(part.content);
      if (
        typeof result === 'object' &&
        result !== null &&
        'queryId' in result &&
        typeof result.queryId === 'string'
      ) {
        return result.queryId;
      }
    }
  }
  return undefined;
}

function findToolUse(messages: ChatTurn[], id: string) {
  for (const turn of messages) {
    for (const part of turn.content) if (part.type === 'tool_use' && part.id === id) return part;
  }
  return undefined;
}

function parse(content: string): unknown {
  try {
    return JSON.parse(content);
  } catch {
    return content;
  }
}

/** Waits, or stops waiting when the run is stopped; either way nothing stays listening on the signal. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
