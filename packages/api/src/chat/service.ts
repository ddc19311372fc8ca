import {
  adoptStraightHistory,
  clearConversation,
  collectSubtree,
  detachMessage,
  finishRun,
  getMessage,
  getSession,
  isOnBranch,
  listStaleStreamingMessages,
  type MessageRecord,
  newestLeafBelow,
  newId,
  positionBelow,
  positionOf,
  readBranch,
  requestCancel,
  type SessionRecord,
  setActiveLeaf,
  startRun,
  type TreeChangeFailure,
  type TreePosition,
} from '@leonidas/db';
import { tracked } from '@trpc/server';
import type { SignIn } from '../auth/tokens.js';
import type { ApiDeps } from '../context.js';
import { deleteInBackground, deleteNow, deletionLeaseUntil } from '../deletion/service.js';
import { AppError, notFound, quotaReached, tooManyRequests } from '../errors.js';
import { formatCount } from '../quotas.js';
import type { Session } from '../session/schema.js';
import { requireSession, requireSessionAnd, toSession } from '../session/service.js';
import { checkReply, executeRun } from './engine.js';
import type { RunLog } from './hub.js';
import { rebuildRun, siblingsOf, toMessage } from './messages.js';
import type { Message } from './schema.js';

type Owner = { userId: string };
type SessionInput = Owner & { sessionId: string };
/** A session with its conversation tree. */
type TreeSession = SessionRecord & { treeVersion: number };

/** How often a change of the tree is tried again when another change landed between its read and its write. */
const TREE_ATTEMPTS = 3;

const busy = () =>
  new AppError('CONFLICT', 'DS Bro is still replying in this session. Wait for the reply or stop it first.');
const changedMeanwhile = () =>
  new AppError('CONFLICT', 'The conversation changed at the same time. Reload it and try again.');

/**
 * The session, if this user owns it, with its conversation tree: a session from before the tree gets one
 * first, its messages read as one straight branch.
 */
async function requireTree(deps: ApiDeps, input: SessionInput): Promise<TreeSession> {
  const [session] = await requireTreeAnd(deps, input, async () => undefined);
  return session;
}

/**
 * `requireTree`, with `alongside` (reads that need only the session) run while the session's project is read:
 * one round trip less before a reply starts.
 */
async function requireTreeAnd<T>(
  deps: ApiDeps,
  input: SessionInput,
  alongside: (session: TreeSession) => Promise<T>,
): Promise<[TreeSession, T]> {
  const [session, read] = await requireSessionAnd(deps, input, async (record) =>
    record.treeVersion === undefined
      ? null
      : { value: await alongside({ ...record, treeVersion: record.treeVersion }) },
  );
  if (session.treeVersion !== undefined && read) {
    return [{ ...session, treeVersion: session.treeVersion }, read.value];
  }
  await adoptStraightHistory(deps.db, session.sessionId);
  const adopted = await getSession(deps.db, session.sessionId);
  if (adopted?.treeVersion === undefined) throw notFound('Session');
  const tree = { ...adopted, treeVersion: adopted.treeVersion };
  return [tree, await alongside(tree)];
}

/** A message of this session; NOT_FOUND like the session when it is someone else's or missing. */
async function requireMessage(deps: ApiDeps, sessionId: string, messageId: string): Promise<MessageRecord> {
  const message = await getMessage(deps.db, { sessionId, messageId });
  if (!message) throw notFound('Message');
  return message;
}

async function withSiblings(deps: ApiDeps, session: TreeSession, message: MessageRecord): Promise<Message> {
  const parent = message.parentId
    ? await getMessage(deps.db, { sessionId: session.sessionId, messageId: message.parentId })
    : null;
  return toMessage(message, siblingsOf(parent, session.rootIds));
}

/** Where a reply run starts: its place in the tree and, unless a reply is regenerated, the user's question. */
interface Placement {
  position: TreePosition;
  question?: { content: string; edited: boolean };
  /** The versions already at the question's place (it joins them). */
  siblingIds: string[];
}

/**
 * Starts a reply run where `place` says, from the tree as just read: writes the messages, announces the run
 * and lets the server write the reply, which goes on when the client goes away. Read and write are tried
 * again when another change of the tree landed between them.
 */
async function startReply(
  deps: ApiDeps,
  input: SessionInput & { clientMessageId: string },
  place: (session: TreeSession) => Promise<Placement>,
): Promise<{ userMessage: Message | null; runId: string }> {
  const decision = deps.chatLimiter.hit(input.userId);
  if (!decision.allowed) throw tooManyRequests('You are sending messages too fast.', decision.retryAfterMs);
  for (let attempt = 0; attempt < TREE_ATTEMPTS; attempt++) {
    const [session, placement] = await requireTreeAnd(deps, input, place);
    const runId = newId();
    const result = await startRun(deps.db, {
      sessionId: input.sessionId,
      runId,
      clientMessageId: input.clientMessageId,
      treeVersion: session.treeVersion,
      position: placement.position,
      ...(placement.question ? { question: { messageId: newId(), ...placement.question } } : {}),
      assistantMessageId: newId(),
      provider: deps.llm.name,
      model: deps.llm.model,
      maxMessages: deps.quotas.maxMessagesPerSession,
    });
    if (result.outcome === 'moved') continue;
    if (result.outcome === 'duplicate') {
      const existing = await requireMessage(deps, input.sessionId, result.messageId);
      return {
        userMessage: existing.role === 'user' ? await withSiblings(deps, session, existing) : null,
        runId: result.runId,
      };
    }
    if (result.outcome === 'busy') throw busy();
    if (result.outcome === 'gone') throw notFound('Session');
    if (result.outcome === 'full') {
      throw quotaReached(
        `This chat has reached the limit of ${formatCount(deps.quotas.maxMessagesPerSession)} messages. Start a new chat, or start this one over.`,
      );
    }

    const { userMessage, assistantMessage } = result;
    const log = deps.runs.start(input.sessionId, runId);
    const { position } = placement;
    deps.runs.emit(log, {
      type: 'run.started',
      runId,
      // A regenerated reply goes below the question at its place, whose own parent is the next one up.
      userMessageId: userMessage?.messageId ?? position.parentId ?? '',
      messageId: assistantMessage.messageId,
      parentId: userMessage ? position.parentId : (position.ancestors[1] ?? null),
    });
    void deps.background.run(
      executeRun(deps, { log, userId: input.userId, projectId: session.projectId, assistantMessage }),
    );
    return {
      userMessage: userMessage
        ? toMessage(userMessage, [...placement.siblingIds, userMessage.messageId])
        : null,
      runId,
    };
  }
  throw changedMeanwhile();
}

/** A question at the end of the active branch, and its reply. */
export async function send(
  deps: ApiDeps,
  input: SessionInput & { content: string; clientMessageId: string },
): Promise<{ userMessage: Message; runId: string }> {
  const { userMessage, runId } = await startReply(deps, input, async (session) => {
    const leaf = session.activeLeafId
      ? await getMessage(deps.db, { sessionId: session.sessionId, messageId: session.activeLeafId })
      : null;
    return {
      position: positionBelow(leaf),
      question: { content: input.content, edited: false },
      siblingIds: siblingsOf(leaf, session.rootIds),
    };
  });
  if (!userMessage) throw changedMeanwhile();
  return { userMessage, runId };
}

/** A new version of a user's question beside the old one (which stays), and a reply to it. */
export async function edit(
  deps: ApiDeps,
  input: SessionInput & { messageId: string; content: string; clientMessageId: string },
): Promise<{ userMessage: Message; runId: string }> {
  const { userMessage, runId } = await startReply(deps, input, async (session) => {
    const message = await requireMessage(deps, session.sessionId, input.messageId);
    if (message.role !== 'user') {
      throw new AppError(
        'BAD_REQUEST',
        'Only your own messages can be edited. To get another answer from DS Bro, regenerate its reply.',
      );
    }
    const parent = message.parentId ? await requireMessage(deps, session.sessionId, message.parentId) : null;
    return {
      position: positionOf(message),
      question: { content: input.content, edited: true },
      siblingIds: siblingsOf(parent, session.rootIds),
    };
  });
  if (!userMessage) throw changedMeanwhile();
  return { userMessage, runId };
}

/** Another reply to the same question, beside the old one (which stays). */
export async function regenerate(
  deps: ApiDeps,
  input: SessionInput & { messageId: string; clientMessageId: string },
): Promise<{ runId: string }> {
  const { runId } = await startReply(deps, input, async (session) => {
    const message = await requireMessage(deps, session.sessionId, input.messageId);
    if (message.role !== 'assistant' || !message.parentId) {
      throw new AppError(
        'BAD_REQUEST',
        "Only DS Bro's replies can be regenerated. To ask differently, edit your message.",
      );
    }
    return { position: positionOf(message), siblingIds: [] };
  });
  return { runId };
}

/** Shows the branch through `messageId`, down to its newest messages. */
export async function selectBranch(
  deps: ApiDeps,
  input: SessionInput & { messageId: string },
): Promise<Session> {
  const session = await changeTree(deps, input, async (tree) => {
    const message = await requireMessage(deps, input.sessionId, input.messageId);
    const leaf = await newestLeafBelow(deps.db, message);
    return setActiveLeaf(deps.db, {
      sessionId: input.sessionId,
      leafId: leaf.messageId,
      treeVersion: tree.treeVersion,
    });
  });
  return toSession(session);
}

/**
 * Deletes a message and everything below it, on every branch. They leave the conversation at once; their
 * items, kept query results and links from generated files go in the background. When the active branch ran
 * through the message, it moves to the nearest remaining version (its newest messages), else to the parent.
 */
export async function deleteMessage(
  deps: ApiDeps,
  input: SessionInput & { messageId: string },
): Promise<{ ok: true }> {
  const session = await changeTree(deps, input, async (tree) => {
    const message = await requireMessage(deps, input.sessionId, input.messageId);
    const read = (messageId: string) => getMessage(deps.db, { sessionId: input.sessionId, messageId });
    const [parent, subtree, leaf] = await Promise.all([
      message.parentId ? read(message.parentId) : null,
      collectSubtree(deps.db, message),
      tree.activeLeafId ? read(tree.activeLeafId) : null,
    ]);
    let newLeafId = tree.activeLeafId ?? null;
    if (leaf && (await isOnBranch(deps.db, leaf, message))) {
      const siblings = siblingsOf(parent, tree.rootIds);
      const at = siblings.indexOf(message.messageId);
      const nearest = siblings[at - 1] ?? siblings[at + 1];
      const sibling = nearest ? await read(nearest) : null;
      newLeafId = sibling ? (await newestLeafBelow(deps.db, sibling)).messageId : (parent?.messageId ?? null);
    }
    const detached = await detachMessage(deps.db, {
      session: tree,
      message,
      parent,
      removed: subtree.length,
      newLeafId,
      leaseUntil: deletionLeaseUntil(deps),
    });
    return detached === true ? tree : detached;
  });
  deleteInBackground(deps, {
    kind: 'MESSAGE',
    targetId: input.messageId,
    sessionId: input.sessionId,
    userId: session.userId,
    projectId: session.projectId,
  });
  return { ok: true };
}

/**
 * Starts the conversation over (`session.refresh`): every message leaves it at once, then is deleted with the
 * query results it kept, before the answer (so the client's message ids can be used again); the session stays.
 * CONFLICT while a reply is being written, including one whose send lands at the same moment: the tree's
 * version decides which comes first. A failure half-way leaves the deletion to housekeeping.
 */
export async function startOver(deps: ApiDeps, input: SessionInput): Promise<Session> {
  let rootIds: string[] = [];
  const session = await changeTree(deps, input, async (tree) => {
    rootIds = tree.rootIds ?? [];
    const cleared = await clearConversation(deps.db, { session: tree, leaseUntil: deletionLeaseUntil(deps) });
    return cleared === true ? tree : cleared;
  });
  const [first] = rootIds;
  if (first) {
    await deleteNow(deps, {
      kind: 'MESSAGE',
      targetId: first,
      messageIds: rootIds,
      sessionId: input.sessionId,
      userId: session.userId,
      projectId: session.projectId,
    });
  }
  return toSession(await requireSession(deps, input));
}

/**
 * A change of the conversation tree, made on the tree as just read and tried again when another change landed
 * between the read and the write. CONFLICT while a reply is being written. The run this server remembers for
 * replay could be on the branch left, so it is forgotten: the next one is rebuilt.
 */
async function changeTree(
  deps: ApiDeps,
  input: SessionInput,
  change: (tree: TreeSession) => Promise<SessionRecord | TreeChangeFailure>,
): Promise<SessionRecord> {
  for (let attempt = 0; attempt < TREE_ATTEMPTS; attempt++) {
    const tree = await requireTree(deps, input);
    if (tree.activeRunId) throw busy();
    const result = await change(tree);
    if (result === 'busy') throw busy();
    if (result === 'gone') throw notFound('Session');
    if (result === 'moved') continue;
    deps.runs.forget(input.sessionId);
    return result;
  }
  throw changedMeanwhile();
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
  // The sign-in is read alongside the session (one round trip less before the stream starts); someone else's
  // session is still NOT_FOUND first, as `Promise.all` rejects with the first check's error.
  const [session, signedIn] = await Promise.all([
    requireTree(deps, input),
    deps.signIns.isActive(input.signIn.loginId),
  ]);
  if (!signedIn) throw new AppError('UNAUTHORIZED', SIGNED_OUT);
  return watchedEvents(deps, { ...input, session }, signal);
}

const SIGNED_OUT = 'You are signed out. Sign in again to follow this chat.';

/**
 * One generator from the run's events to tRPC, with no inner generator to delegate to: each event of a stream
 * passes every layer it is wrapped in, a token at a time.
 */
async function* watchedEvents(
  deps: ApiDeps,
  input: { signIn: SignIn; session: SessionRecord; sessionId: string; lastEventId?: string | undefined },
  signal: AbortSignal | undefined,
) {
  const signInEnded = deps.signIns.watch(input.signIn, signal);
  const stop = signal ? AbortSignal.any([signal, signInEnded]) : signInEnded;
  const { sessionId } = input;
  const watch = deps.runs.watch(sessionId, stop, SESSION_CHECK_MS);
  try {
    let log: RunLog | undefined = deps.runs.get(sessionId) ?? (await rebuildLatestRun(deps, input.session));
    let next =
      log && input.lastEventId ? log.events.findIndex((event) => event.id === input.lastEventId) + 1 : 0;

    while (!stop.aborted && !deps.runs.isClosing) {
      // A run that left the hub (retired, or its session started over) is still read to its end here.
      const current = deps.runs.get(sessionId);
      if (current && current !== log) {
        log = current;
        next = 0;
      }
      while (log && next < log.events.length) {
        const entry = log.events[next++];
        if (entry) yield tracked(entry.id, entry.event);
      }
      const changed = await watch.next();
      // Quiet for a while, or this server forgot the session's run (deleted, started over): a deleted session's
      // stream ends here, wherever it was deleted, instead of waiting for events that cannot come.
      if ((!changed || !deps.runs.get(sessionId)) && !(await getSession(deps.db, sessionId))) break;
    }
  } finally {
    watch.close();
  }
  if (signInEnded.aborted && !signal?.aborted) {
    throw new AppError(
      'UNAUTHORIZED',
      signInEnded.reason === 'revoked'
        ? SIGNED_OUT
        : 'Your access token expired. Reconnect with a fresh one.',
    );
  }
}

/** How often an idle event stream checks that its session still exists. */
const SESSION_CHECK_MS = 15_000;

/** The run that ends the active branch, from its stored messages (a reply and its question). */
async function rebuildLatestRun(deps: ApiDeps, session: SessionRecord): Promise<RunLog | undefined> {
  if (!session.activeLeafId) return undefined;
  const { items } = await readBranch(deps.db, {
    sessionId: session.sessionId,
    from: session.activeLeafId,
    limit: 2,
  });
  const [assistant, user] = items;
  if (assistant?.role !== 'assistant' || !assistant.runId || user?.role !== 'user') return undefined;
  return deps.runs.remember(rebuildRun(user, assistant));
}

export async function cancel(deps: ApiDeps, input: SessionInput): Promise<{ ok: true }> {
  const session = await requireSession(deps, input);
  if (!session.activeRunId) return { ok: true };
  if (!deps.runs.abort(input.sessionId, 'cancelled') && session.activeLeafId) {
    // The run is on another server: flag its reply (the end of the active branch while it runs); that server
    // sees the flag at its next save.
    await requestCancel(deps.db, { sessionId: input.sessionId, messageId: session.activeLeafId });
  }
  return { ok: true };
}

/**
 * Pages back in time along the active branch; each page is oldest first, ready to prepend. A cursor names the
 * message its page starts at (signed, so it is one this server handed out for this session).
 */
export async function history(
  deps: ApiDeps,
  input: SessionInput & { limit: number; cursor?: string | undefined },
) {
  const session = await requireTree(deps, input);
  const scope = `chat.history:${input.sessionId}`;
  const from = input.cursor ? deps.cursors.decode(scope, input.cursor)?.messageId : session.activeLeafId;
  if (typeof from !== 'string') return { items: [], nextCursor: null };
  const page = await readBranch(deps.db, { sessionId: input.sessionId, from, limit: input.limit });
  const items = page.items.map((message, index) =>
    toMessage(message, siblingsOf(page.items[index + 1] ?? page.parentOfOldest, session.rootIds)),
  );
  return {
    items: items.reverse(),
    nextCursor: page.nextId ? deps.cursors.encode(scope, { messageId: page.nextId }) : null,
  };
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
    const toolCalls = message.toolCalls ?? [];
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
