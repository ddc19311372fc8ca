import {
  $add,
  $append,
  $remove,
  EntityFormatter,
  executeTransactWrite,
  GetItemCommand,
  PutTransaction,
  QueryCommand,
  UpdateItemCommand,
  UpdateTransaction,
} from 'dynamodb-toolbox';
import type { Db } from './db.js';
import { type MESSAGE_ROLES, type MESSAGE_STATUSES, wholeDocument } from './entities.js';
import { failedConditionIndexes, isConditionFailure } from './errors.js';
import type { MessageRecord } from './records.js';
import { countUncountedMessages } from './sessions.js';
import type { NumberCheck, ToolCall, Usage } from './shapes.js';

export type MessageRole = (typeof MESSAGE_ROLES)[number];
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];

/**
 * How many ancestors a message keeps: a page of its branch (at most 100 messages, the largest page) is then
 * read with one GetItem and one BatchGetItem, however deep and however branched the conversation is.
 */
export const MAX_ANCESTORS = 100;

/** Where a new message goes in the tree: below `parentId` (null: first of the conversation). */
export interface TreePosition {
  parentId: string | null;
  depth: number;
  ancestors: string[];
}

/** The place of a message that follows `parent` (null: a first message). */
export function positionBelow(
  parent: Pick<MessageRecord, 'messageId' | 'depth' | 'ancestors'> | null,
): TreePosition {
  if (!parent) return { parentId: null, depth: 0, ancestors: [] };
  return {
    parentId: parent.messageId,
    depth: (parent.depth ?? 0) + 1,
    ancestors: [parent.messageId, ...(parent.ancestors ?? [])].slice(0, MAX_ANCESTORS),
  };
}

/** The place `message` holds, for a new version of it beside it (same parent). */
export function positionOf(message: MessageRecord): TreePosition {
  return {
    parentId: message.parentId ?? null,
    depth: message.depth ?? 0,
    ancestors: message.ancestors ?? [],
  };
}

const STREAMING = 'STREAMING_MESSAGE';

export type StartRunResult =
  | { outcome: 'started'; userMessage: MessageRecord | null; assistantMessage: MessageRecord }
  | { outcome: 'duplicate'; messageId: string; runId: string }
  | { outcome: 'busy' }
  | { outcome: 'full' }
  | { outcome: 'gone' }
  /** The tree changed since it was read (another change landed first, or the parent is gone): read again. */
  | { outcome: 'moved' };

export interface StartRunInput {
  sessionId: string;
  runId: string;
  clientMessageId: string;
  /** The session's `treeVersion` as read: the run starts only if nothing changed the tree since. */
  treeVersion: number;
  /** Where the new messages go: the question there and the reply below it, or only a reply (regenerate). */
  position: TreePosition;
  /** The user's message; none when a reply is regenerated for the question at `position.parentId`. */
  question?: { messageId: string; content: string; edited: boolean };
  assistantMessageId: string;
  provider: string;
  model: string;
  maxMessages: number;
}

/**
 * In one transaction: the session takes the run (only if none is active, its tree is as read and its messages
 * stay within `maxMessages`, counted on the session), the new messages are written (the question, if any,
 * then the reply, which starts as `streaming`) and hung below their parent, the reply becomes the end of the
 * active branch, and the client's idempotency claim is written. Exactly one of concurrent calls with the same
 * `clientMessageId` wins; the others learn which message and run it made.
 */
export async function startRun(db: Db, input: StartRunInput): Promise<StartRunResult> {
  const result = await tryStartRun(db, input);
  if (result !== 'uncounted') return result;
  await countUncountedMessages(db, input.sessionId);
  const counted = await tryStartRun(db, input);
  return counted === 'uncounted' ? { outcome: 'gone' } : counted;
}

async function tryStartRun(db: Db, input: StartRunInput): Promise<StartRunResult | 'uncounted'> {
  const { session, message, clientMessage } = db.entities;
  const { position, question } = input;
  const added = question ? 2 : 1;
  const firstId = question?.messageId ?? input.assistantMessageId;
  const assistantPosition = question
    ? positionBelow({ messageId: question.messageId, depth: position.depth, ancestors: position.ancestors })
    : position;
  const placed = (at: TreePosition) => ({
    ...(at.parentId ? { parentId: at.parentId } : {}),
    depth: at.depth,
    ancestors: at.ancestors,
  });
  const items = [
    ...(question
      ? [
          {
            sessionId: input.sessionId,
            messageId: question.messageId,
            role: 'user' as const,
            content: question.content,
            status: 'complete' as const,
            runId: input.runId,
            clientMessageId: input.clientMessageId,
            childIds: [input.assistantMessageId],
            ...(question.edited ? { editedAt: new Date().toISOString() } : {}),
            ...placed(position),
          },
        ]
      : []),
    {
      sessionId: input.sessionId,
      messageId: input.assistantMessageId,
      role: 'assistant' as const,
      content: '',
      status: 'streaming' as const,
      runId: input.runId,
      provider: input.provider,
      model: input.model,
      ...(question ? {} : { clientMessageId: input.clientMessageId }),
      ...placed(assistantPosition),
      gsi3pk: STREAMING,
      gsi3sk: input.assistantMessageId,
    },
  ];
  try {
    const { ToolboxItems } = await executeTransactWrite(
      clientMessage
        .build(PutTransaction)
        .item({
          sessionId: input.sessionId,
          clientMessageId: input.clientMessageId,
          messageId: firstId,
          runId: input.runId,
        })
        .options({ condition: { attr: 'clientMessageId', exists: false } }),
      session
        .build(UpdateTransaction)
        .item({
          sessionId: input.sessionId,
          activeRunId: input.runId,
          activeLeafId: input.assistantMessageId,
          messageCount: $add(added),
          treeVersion: $add(1),
          ...(position.parentId ? {} : { rootIds: $append([firstId]) }),
        })
        .options({
          condition: {
            and: [
              { attr: 'sessionId', exists: true },
              { attr: 'activeRunId', exists: false },
              { attr: 'messageCount', lte: input.maxMessages - added },
              { attr: 'treeVersion', eq: input.treeVersion },
            ],
          },
        }),
      // The parent must still be there (a deletion may have taken it); a first message has none.
      ...(position.parentId
        ? [
            message
              .build(UpdateTransaction)
              .item({
                sessionId: input.sessionId,
                messageId: position.parentId,
                childIds: $append([firstId]),
              })
              .options({ condition: { attr: 'messageId', exists: true } }),
          ]
        : []),
      ...items.map((item) =>
        message
          .build(PutTransaction)
          .item(item)
          .options({ condition: { attr: 'messageId', exists: false } }),
      ),
    );
    const formatter = message.build(EntityFormatter);
    const written = ToolboxItems.slice(position.parentId ? 3 : 2).map((item) => formatter.format(item));
    const [first, last] = [written.at(0), written.at(-1)];
    if (!first || !last) throw new Error('The reply was not written');
    return { outcome: 'started', userMessage: question ? first : null, assistantMessage: last };
  } catch (error) {
    const failed = failedConditionIndexes(error);
    if (failed.includes(0)) {
      const { Item } = await clientMessage
        .build(GetItemCommand)
        .key({ sessionId: input.sessionId, clientMessageId: input.clientMessageId })
        .options({ consistent: true })
        .send();
      if (Item) return { outcome: 'duplicate', messageId: Item.messageId, runId: Item.runId };
    }
    if (failed.includes(1)) {
      const { Item } = await session
        .build(GetItemCommand)
        .key({ sessionId: input.sessionId })
        .options({ consistent: true })
        .send();
      if (!Item) return { outcome: 'gone' };
      // Sessions older than the message count get counted once, on their first send.
      if (Item.messageCount === undefined) return 'uncounted';
      if (Item.activeRunId !== undefined) return { outcome: 'busy' };
      if (Item.messageCount > input.maxMessages - added) return { outcome: 'full' };
      return { outcome: 'moved' };
    }
    if (position.parentId && failed.includes(2)) return { outcome: 'moved' };
    throw error;
  }
}

export async function getMessage(
  db: Db,
  key: { sessionId: string; messageId: string },
): Promise<MessageRecord | null> {
  const { Item } = await db.entities.message
    .build(GetItemCommand)
    .key(key)
    .options({ consistent: true })
    .send();
  return Item ?? null;
}

/**
 * Saves the reply so far (coalesced by the caller, not per token) and returns whether someone asked to cancel
 * it, so a cancel reaches the run wherever it runs. Returns null when the message is no longer streaming.
 */
export async function saveProgress(
  db: Db,
  input: { sessionId: string; messageId: string; content: string; toolCalls: ToolCall[] },
): Promise<{ cancelRequested: boolean } | null> {
  try {
    await db.entities.message
      .build(UpdateItemCommand)
      .item({
        sessionId: input.sessionId,
        messageId: input.messageId,
        content: input.content,
        // Written as JSON text (see the entity), so a plain value replaces it whole.
        toolCalls: input.toolCalls,
      })
      // Nothing comes back: returning the item would send the whole reply so far back with every save. A cancel
      // fails the condition instead, and only then is the message read.
      .options({
        condition: {
          and: [
            { attr: 'status', eq: 'streaming' },
            { attr: 'cancelRequested', exists: false },
          ],
        },
      })
      .send();
    return { cancelRequested: false };
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    const current = await getMessage(db, input);
    return current?.status === 'streaming' ? { cancelRequested: current.cancelRequested === true } : null;
  }
}

/**
 * Ends the run: the message gets its final state and the session is free for the next send. Returns the message
 * as it now is: built from `started` when this call ended the run, read back otherwise.
 */
export async function finishRun(
  db: Db,
  input: {
    sessionId: string;
    messageId: string;
    runId: string;
    /**
     * The reply as its run started it (from `startRun`). While it streams, only its run writes it (and a cancel
     * its flag, which no reader of the finished message uses) and the tree around it stays as it is, so the
     * finished message is this plus what is written here: no read back, one round trip per reply less (a hundred
     * replies ending at once wait on a hundred fewer reads).
     */
    started?: MessageRecord;
    status: Exclude<MessageStatus, 'streaming'>;
    content: string;
    toolCalls: ToolCall[];
    /** The reply's numbers as checked (`Message.numbers`). */
    numbers?: NumberCheck[];
    usage?: Usage;
    error?: string | undefined;
  },
): Promise<MessageRecord | null> {
  const { message, session } = db.entities;
  const updatedAt = new Date().toISOString();
  try {
    await executeTransactWrite(
      message
        .build(UpdateTransaction)
        .item({
          sessionId: input.sessionId,
          messageId: input.messageId,
          status: input.status,
          content: input.content,
          // Written as JSON text (see the entity), so a plain value replaces it whole.
          toolCalls: input.toolCalls,
          ...(input.numbers ? { numbers: wholeDocument(input.numbers) } : {}),
          ...(input.usage ? { usage: wholeDocument(input.usage) } : {}),
          ...(input.error ? { error: input.error } : {}),
          updatedAt,
          gsi3pk: $remove(),
          gsi3sk: $remove(),
        })
        .options({ condition: { attr: 'status', eq: 'streaming' } }),
      session
        .build(UpdateTransaction)
        .item({ sessionId: input.sessionId, activeRunId: $remove() })
        .options({ condition: { attr: 'activeRunId', eq: input.runId } }),
    );
  } catch (error) {
    if (failedConditionIndexes(error).length === 0) throw error;
    // The message was finished elsewhere or the session is gone: nothing left to do.
    return getMessage(db, input);
  }
  if (!input.started) return getMessage(db, input);
  return {
    ...input.started,
    status: input.status,
    content: input.content,
    toolCalls: input.toolCalls,
    ...(input.numbers ? { numbers: input.numbers } : {}),
    ...(input.usage ? { usage: input.usage } : {}),
    ...(input.error ? { error: input.error } : {}),
    updatedAt,
  };
}

export async function requestCancel(db: Db, key: { sessionId: string; messageId: string }): Promise<boolean> {
  try {
    await db.entities.message
      .build(UpdateItemCommand)
      .item({ ...key, cancelRequested: true })
      .options({ condition: { attr: 'status', eq: 'streaming' } })
      .send();
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

/** Assistant messages still marked streaming whose last save is older than `updatedBefore` (ISO). */
export async function listStaleStreamingMessages(db: Db, updatedBefore: string): Promise<MessageRecord[]> {
  const { Items = [] } = await db.table
    .build(QueryCommand)
    .entities(db.entities.message)
    .query({ index: 'GSI3', partition: STREAMING })
    .options({ maxPages: 10 })
    .send();
  return Items.filter((message) => message.updatedAt < updatedBefore);
}
