import {
  finishRun,
  getMessage,
  listMessagesNewestFirst,
  listStaleStreamingMessages,
  type MessageRecord,
  newId,
  requestCancel,
  startRun,
} from '@leonidas/db';
import { tracked } from '@trpc/server';
import type { SignIn } from '../auth/tokens.js';
import type { ApiDeps } from '../context.js';
import { AppError, notFound, quotaReached, tooManyRequests } from '../errors.js';
import { formatCount } from '../quotas.js';
import { requireSession } from '../session/service.js';
import { checkReply, executeRun } from './engine.js';
import type { RunLog } from './hub.js';
import { rebuildRun, toMessage } from './messages.js';
import type { Message, ToolCall } from './schema.js';

type Owner = { userId: string };

/** How many recent messages are read to build the model's context (the token budget then trims them). */

export async function send(
  deps: ApiDeps,
  input: Owner & { sessionId: string; content: string; clientMessageId: string },
): Promise<{ userMessage: Message; runId: string }> {
  const decision = deps.chatLimiter.hit(input.userId);
  if (!decision.allowed) throw tooManyRequests('You are sending messages too fast.', decision.retryAfterMs);
  const session = await requireSession(deps, input);

  const runId = newId();
  const result = await startRun(deps.db, {
    sessionId: input.sessionId,
    runId,
    clientMessageId: input.clientMessageId,
    userMessageId: newId(),
    assistantMessageId: newId(),
    content: input.content,
    provider: deps.llm.name,
    model: deps.llm.model,
    maxMessages: deps.quotas.maxMessagesPerSession,
  });
  if (result.outcome === 'duplicate') {
    const existing = await getMessage(deps.db, { sessionId: input.sessionId, messageId: result.messageId });
    if (!existing) throw notFound('Message');
    return { userMessage: toMessage(existing), runId: result.runId };
  }
  if (result.outcome === 'busy') {
    throw new AppError(
      'CONFLICT',
      'DS Bro is still replying in this session. Wait for the reply or stop it first.',
    );
  }
  if (result.outcome === 'gone') throw notFound('Session');
  if (result.outcome === 'full') {
    throw quotaReached(
      `This chat has reached the limit of ${formatCount(deps.quotas.maxMessagesPerSession)} messages. Start a new chat, or start this one over.`,
    );
  }

  const log = deps.runs.start(input.sessionId, runId);
  deps.runs.emit(log, {
    type: 'run.started',
    runId,
    userMessageId: result.userMessage.messageId,
    messageId: result.assistantMessage.messageId,
  });
  // The run belongs to the server, not to this request: it goes on when the client goes away.
  void deps.background.run(
    executeRun(deps, {
      log,
      userId: input.userId,
      projectId: session.projectId,
      assistantMessage: result.assistantMessage,
    }),
  );
  return { userMessage: toMessage(result.userMessage), runId };
}

/**
 * The session's events: the latest run from just after `lastEventId` (or from its start), then live, then any
 * later runs, until the client goes away or its sign-in ends. Access is checked before the stream opens, so a
 * stranger gets NOT_FOUND as an error of the call rather than a broken stream. A stream ends with UNAUTHORIZED
 * when its access token expires or its login is revoked; clients resume from `lastEventId` with a fresh token.
 */
export async function subscribe(
  deps: ApiDeps,
  input: Owner & { signIn: SignIn; sessionId: string; lastEventId?: string | undefined },
  signal: AbortSignal | undefined,
) {
  await requireSession(deps, input);
  if (!(await deps.signIns.isActive(input.signIn.loginId))) throw new AppError('UNAUTHORIZED', SIGNED_OUT);
  return watchedEvents(deps, input, signal);
}

const SIGNED_OUT = 'You are signed out. Sign in again to follow this chat.';

async function* watchedEvents(
  deps: ApiDeps,
  input: { signIn: SignIn; sessionId: string; lastEventId?: string | undefined },
  signal: AbortSignal | undefined,
) {
  const signInEnded = deps.signIns.watch(input.signIn, signal);
  yield* events(deps, input, signal ? AbortSignal.any([signal, signInEnded]) : signInEnded);
  if (signInEnded.aborted && !signal?.aborted) {
    throw new AppError(
      'UNAUTHORIZED',
      signInEnded.reason === 'revoked'
        ? SIGNED_OUT
        : 'Your access token expired. Reconnect with a fresh one.',
    );
  }
}

async function* events(
  deps: ApiDeps,
  input: { sessionId: string; lastEventId?: string | undefined },
  signal: AbortSignal | undefined,
) {
  let log: RunLog | undefined =
    deps.runs.get(input.sessionId) ?? (await rebuildLatestRun(deps, input.sessionId));
  let next =
    log && input.lastEventId ? log.events.findIndex((event) => event.id === input.lastEventId) + 1 : 0;

  while (!signal?.aborted && !deps.runs.isClosing) {
    const current = deps.runs.get(input.sessionId);
    if (current !== log) {
      log = current;
      next = 0;
    }
    while (log && next < log.events.length) {
      const entry = log.events[next++];
      if (entry) yield tracked(entry.id, entry.event);
    }
    const seen = log;
    const seenCount = next;
    await deps.runs.waitForChange(
      input.sessionId,
      signal,
      () => deps.runs.get(input.sessionId) !== seen || (seen !== undefined && seen.events.length > seenCount),
    );
  }
}

async function rebuildLatestRun(deps: ApiDeps, sessionId: string): Promise<RunLog | undefined> {
  const recent = (await listMessagesNewestFirst(deps.db, { sessionId, limit: 10 })).items;
  const assistant = recent.find((message) => message.role === 'assistant' && message.runId);
  const user = recent.find((message) => message.role === 'user' && message.runId === assistant?.runId);
  if (!assistant || !user) return undefined;
  return deps.runs.remember(rebuildRun(user, assistant));
}

export async function cancel(deps: ApiDeps, input: Owner & { sessionId: string }): Promise<{ ok: true }> {
  const session = await requireSession(deps, input);
  if (!session.activeRunId) return { ok: true };
  if (!deps.runs.abort(input.sessionId, 'cancelled')) {
    // The run is on another server: flag the message; that server sees it at its next save.
    const streaming = await findStreamingMessage(deps, input.sessionId, session.activeRunId);
    if (streaming)
      await requestCancel(deps.db, { sessionId: input.sessionId, messageId: streaming.messageId });
  }
  return { ok: true };
}

async function findStreamingMessage(
  deps: ApiDeps,
  sessionId: string,
  runId: string,
): Promise<MessageRecord | undefined> {
  const recent = (await listMessagesNewestFirst(deps.db, { sessionId, limit: 10 })).items;
  return recent.find((message) => message.runId === runId && message.status === 'streaming');
}

/** Pages back in time; each page is oldest first, ready to prepend. */
export async function history(
  deps: ApiDeps,
  input: Owner & { sessionId: string; limit: number; cursor?: string | undefined },
) {
  await requireSession(deps, input);
  const scope = `chat.history:${input.sessionId}`;
  const page = await listMessagesNewestFirst(deps.db, {
    sessionId: input.sessionId,
    limit: input.limit,
    startKey: deps.cursors.decode(scope, input.cursor),
  });
  const result = deps.cursors.page(scope, page, toMessage);
  return { items: result.items.reverse(), nextCursor: result.nextCursor };
}

/**
 * Replies left `streaming` by a server that died (no save for `staleAfterMs`) are marked as interrupted, with
 * what was written kept, and their sessions freed. Run at start and now and then.
 */
export async function recoverInterruptedRuns(deps: ApiDeps, staleAfterMs = 60_000): Promise<number> {
  const stale = await listStaleStreamingMessages(
    deps.db,
    new Date(deps.clock.now() - staleAfterMs).toISOString(),
  );
  for (const message of stale) {
    const toolCalls = Array.isArray(message.toolCalls) ? (message.toolCalls as ToolCall[]) : [];
    await finishRun(deps.db, {
      sessionId: message.sessionId,
      messageId: message.messageId,
      runId: message.runId ?? '',
      status: 'error',
      content: message.content,
      toolCalls,
      // What was written is kept, so it is checked too (numbers the user gave show as unverified here).
      numbers: checkReply(message.content, toolCalls, ''),
      error: 'The reply was interrupted because the server stopped.',
    });
  }
  return stale.length;
}
