import { finishRun, isDatabaseUnavailable, type MessageRecord, readBranch, saveProgress } from '@leonidas/db';
import type { ApiDeps } from '../context.js';
import { formatBytes } from '../quotas.js';
import type { RunLog } from './hub.js';
import type { ChatTurn, ContentPart } from './llm/types.js';
import { siblingsOf, toMessage } from './messages.js';
import { checkNumbers } from './numbers.js';
import { conversation, filesContext, SYSTEM_PROMPT } from './prompt.js';
import type { NumberCheck, ToolCall, ToolError, Usage } from './schema.js';
import { projectFiles, runTool, TOOL_SPECS } from './tools.js';

/** Enough for an analysis in several steps (look, query, repair, chart, save), while a confused model cannot loop for ever. */
export const MAX_TOOL_ROUNDS = 8;
/** Failed queries in a row a reply may make before it must answer with what it has. */
export const MAX_FAILED_QUERIES = 3;
export const TOO_MANY_STEPS =
  'I stopped here: this took more steps than one reply may take. Say "go on" and I will continue from these results.';
/** The reply is saved at most this often while it grows, not per token (each save is a DynamoDB write). */
export const SAVE_INTERVAL_MS = 1000;
/**
 * The most one tool result may take, as JSON: what the model reads of it and what the reply keeps of it, in its
 * DynamoDB item (400 KB for the whole reply). A larger one is refused as a tool error the model can act on.
 */
export const MAX_TOOL_OUTPUT_BYTES = 64 * 1024;
/** Said when a reply could not be saved whole (its tool results kept it over DynamoDB's item size). */
export const NOT_KEPT_WHOLE =
  'This reply was too large to keep whole: its text is kept, the results of its tools are not.';

export interface RunInput {
  log: RunLog;
  userId: string;
  projectId: string;
  assistantMessage: MessageRecord;
}

/** Recent messages of the reply's branch read for a run (the model sees those within `CHAT_HISTORY_TOKEN_BUDGET`). */
const HISTORY_WINDOW = 60;

type Ending = { status: 'complete' } | { status: 'cancelled' } | { status: 'error'; error: string };

/**
 * Writes one assistant reply: streams the model, runs its tool calls, emits every step as an event, saves the
 * text as it grows, and always ends the message as complete, cancelled or error (never left streaming).
 */
export async function executeRun(deps: ApiDeps, input: RunInput): Promise<void> {
  const { log, assistantMessage } = input;
  const { sessionId, runId } = log;
  const messageId = assistantMessage.messageId;
  const emit = deps.runs.emit.bind(deps.runs, log);
  // The time limit aborts the run's own controller: AbortSignal.timeout joined with AbortSignal.any cost over a
  // millisecond of the event loop per run on Node 20, paid by every stream in flight when many runs start at once.
  const { signal } = log.abort;
  const deadline = setTimeout(() => log.abort.abort(TIMED_OUT), deps.chat.maxRunMs).unref();

  let content = '';
  const toolCalls: ToolCall[] = [];
  const scope = { userId: input.userId, projectId: input.projectId, sessionId, messageId };
  let failedQueries = 0;
  const usage: Usage = { inputTokens: 0, outputTokens: 0 };
  let sawUsage = false;
  let dirty = false;

  // Coalesced saves; each also learns whether a cancel was asked for on another server.
  const saver = setInterval(() => {
    if (!dirty) return;
    dirty = false;
    saveProgress(deps.db, { sessionId, messageId, content, toolCalls }).then(
      (state) => {
        if (state?.cancelRequested) log.abort.abort('cancelled');
      },
      (error: unknown) => deps.logger.warn({ err: error, sessionId }, 'could not save a reply in progress'),
    );
  }, SAVE_INTERVAL_MS);

  let ending: Ending = { status: 'complete' };
  let history: MessageRecord[] = [];
  let prepared = false;
  try {
    // The reply's own branch only (other versions are not the conversation it answers), newest first: the
    // reply itself, its question, and what came before them.
    const [branch, files] = await Promise.all([
      readBranch(deps.db, { sessionId, from: assistantMessage, limit: HISTORY_WINDOW }),
      projectFiles(deps, { projectId: input.projectId }),
    ]);
    history = branch.items;
    prepared = true;
    const turns: ChatTurn[] = [
      ...conversation(history, deps.chat.historyTokenBudget),
      ...filesContext(files),
    ];

    for (let round = 0; round < MAX_TOOL_ROUNDS; round++) {
      const uses: Extract<ContentPart, { type: 'tool_use' }>[] = [];
      let roundText = '';
      for await (const event of deps.llm.stream({
        system: SYSTEM_PROMPT,
        messages: turns,
        tools: TOOL_SPECS,
        signal,
      })) {
        if (signal.aborted) break;
        if (event.type === 'text') {
          content += event.text;
          roundText += event.text;
          dirty = true;
          emit({ type: 'message.delta', runId, messageId, text: event.text });
        } else if (event.type === 'tool_use') {
          uses.push({ type: 'tool_use', id: event.id, name: event.name, input: event.input });
        } else {
          sawUsage = true;
          usage.inputTokens += event.inputTokens;
          usage.outputTokens += event.outputTokens;
        }
      }
      if (signal.aborted || uses.length === 0) break;

      turns.push({
        role: 'assistant',
        content: [...(roundText ? [{ type: 'text' as const, text: roundText }] : []), ...uses],
      });
      const results: ContentPart[] = [];
      for (const use of uses) {
        emit({ type: 'tool.call', runId, messageId, callId: use.id, name: use.name, input: use.input });
        const output =
          use.name === 'run_sql' && failedQueries >= MAX_FAILED_QUERIES
            ? {
                error: `${MAX_FAILED_QUERIES} queries in a row failed; no more are run in this reply.`,
                hint: 'Answer with what the results so far show, or ask the user how to go on.',
              }
            : withinToolLimit(await runTool(deps, scope, use.name, use.input));
        if (use.name === 'run_sql') failedQueries = isToolError(output) ? failedQueries + 1 : 0;
        toolCalls.push({ callId: use.id, name: use.name, input: use.input, output });
        dirty = true;
        emit({ type: 'tool.result', runId, messageId, callId: use.id, output });
        results.push({ type: 'tool_result', toolUseId: use.id, content: JSON.stringify(output) });
      }
      turns.push({ role: 'user', content: results });
      if (round === MAX_TOOL_ROUNDS - 1) {
        // Still calling tools at the last round: say so rather than end on a reply with no answer.
        const note = `${content ? '\n\n' : ''}${TOO_MANY_STEPS}`;
        content += note;
        emit({ type: 'message.delta', runId, messageId, text: note });
      }
    }
    ending = stoppedEnding(signal) ?? ending;
  } catch (error) {
    const stopped = stoppedEnding(signal);
    if (stopped) ending = stopped;
    else {
      deps.logger.error({ err: error, sessionId, provider: deps.llm.name }, 'chat run failed');
      ending = {
        status: 'error',
        error: prepared
          ? 'The model stopped answering part-way. What was written so far is kept.'
          : 'The conversation could not be read, so there is no answer. Send the message again.',
      };
    }
  } finally {
    clearInterval(saver);
    clearTimeout(deadline);
  }

  const asked = history.find((message) => message.role === 'user')?.content ?? '';
  let numbers = checkReply(content, toolCalls, asked);
  const finish = () =>
    finishRun(deps.db, {
      sessionId,
      messageId,
      runId,
      started: assistantMessage,
      status: ending.status,
      content,
      toolCalls,
      numbers,
      ...(sawUsage ? { usage } : {}),
      ...(ending.status === 'error' ? { error: ending.error } : {}),
    });
  const finished = await finish()
    .catch(async (error: unknown) => {
      // Refused for what it holds (too large for its item), not for the database being away: saved again without
      // its tool results, so that the reply ends and its conversation takes the next message.
      if (isDatabaseUnavailable(error)) throw error;
      deps.logger.error(
        { err: error, sessionId },
        'could not save a reply whole: saved without its tool results',
      );
      toolCalls.length = 0;
      numbers = checkReply(content, toolCalls, asked);
      ending = { status: 'error', error: NOT_KEPT_WHOLE };
      return await finish();
    })
    .catch((error: unknown) => {
      deps.logger.error({ err: error, sessionId }, 'could not save the end of a reply');
      return null;
    });
  // The question's children, as read when the run began: nothing changes the tree while a run is active.
  const siblingIds = siblingsOf(history[1] ?? null, undefined);
  const message = toMessage(
    finished ?? {
      ...assistantMessage,
      content,
      status: ending.status,
      toolCalls,
      numbers,
      updatedAt: new Date().toISOString(),
    },
    siblingIds,
  );
  if (ending.status === 'complete') emit({ type: 'message.completed', runId, message });
  else if (ending.status === 'cancelled') emit({ type: 'run.cancelled', runId, message });
  else emit({ type: 'run.failed', runId, messageId, error: ending.error });
  deps.runs.finish(log);
}

function withinToolLimit(output: unknown): unknown {
  const bytes = Buffer.byteLength(JSON.stringify(output) ?? '');
  if (bytes <= MAX_TOOL_OUTPUT_BYTES) return output;
  return {
    error: `This result is too large to pass on: ${formatBytes(bytes)}, where the limit is ${formatBytes(MAX_TOOL_OUTPUT_BYTES)}.`,
    hint: 'Ask for less: fewer rows, or only the columns you need (run_sql can select them).',
  } satisfies ToolError;
}

/** What a reply states, checked against what its tools computed and what the user said (design.md). */
export function checkReply(content: string, toolCalls: ToolCall[], asked: string): NumberCheck[] {
  return checkNumbers(content, [
    ...toolCalls.flatMap((call) => [
      { callId: call.callId, value: call.output },
      // A refusal's numbers (a limit, a count) are the server's own words, which a reply may pass on.
      ...(isToolError(call.output)
        ? [{ callId: call.callId, text: `${call.output.error} ${call.output.hint ?? ''}` }]
        : []),
    ]),
    { text: asked },
  ]);
}

function isToolError(output: unknown): output is ToolError {
  return (
    typeof output === 'object' && output !== null && typeof (output as { error?: unknown }).error === 'string'
  );
}

/** The abort reason of a run stopped by its time limit. */
const TIMED_OUT = 'timed out';

/** How the run ends when it was stopped (time limit, cancel, shutdown, deletion), if it was. */
function stoppedEnding(abort: AbortSignal): Ending | undefined {
  if (!abort.aborted) return undefined;
  if (abort.reason === TIMED_OUT)
    return { status: 'error', error: 'The reply took too long and was stopped.' };
  if (abort.reason === 'cancelled') return { status: 'cancelled' };
  if (abort.reason === 'shutdown') {
    return { status: 'error', error: 'The reply was interrupted because the server restarted.' };
  }
  return { status: 'error', error: 'The reply was interrupted.' };
}
