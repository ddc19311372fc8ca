import {
  $add,
  $remove,
  $set,
  executeTransactWrite,
  GetItemCommand,
  PutTransaction,
  QueryCommand,
  UpdateItemCommand,
  UpdateTransaction,
} from 'dynamodb-toolbox';
import type { Db } from './db.js';
import { failedConditionIndexes, isConditionFailure } from './errors.js';
import { type KeyPage, queryPage, type StartKey } from './pagination.js';
import { recountMessages } from './sessions.js';

export type MessageRole = 'user' | 'assistant';
export type MessageStatus = 'complete' | 'streaming' | 'cancelled' | 'error';

export interface MessageRecord {
  sessionId: string;
  messageId: string;
  role: MessageRole;
  content: string;
  status: MessageStatus;
  runId?: string | undefined;
  clientMessageId?: string | undefined;
  provider?: string | undefined;
  model?: string | undefined;
  toolCalls?: unknown;
  usage?: unknown;
  error?: string | undefined;
  numbers?: unknown;
  cancelRequested?: boolean | undefined;
  createdAt: string;
  updatedAt: string;
}

const STREAMING = 'STREAMING_MESSAGE';

const strip = <T extends MessageRecord>({
  gsi3pk: _1,
  gsi3sk: _2,
  ...record
}: T & { gsi3pk?: string; gsi3sk?: string }) => record as MessageRecord;

export type StartRunResult =
  | { outcome: 'started'; userMessage: MessageRecord; assistantMessage: MessageRecord }
  | { outcome: 'duplicate'; messageId: string; runId: string }
  | { outcome: 'busy' }
  | { outcome: 'full' }
  | { outcome: 'gone' };

/** A send writes two messages: the user's and the reply. */
const MESSAGES_PER_SEND = 2;

/**
 * In one transaction: the session takes the run (only if none is active and its messages stay within
 * `maxMessages`, counted on the session), the user message and the client's idempotency claim are written,
 * and the assistant message starts as `streaming`. Exactly one of concurrent sends with the same
 * `clientMessageId` wins; the others learn which message and run it made.
 */
export async function startRun(
  db: Db,
  input: {
    sessionId: string;
    runId: string;
    clientMessageId: string;
    userMessageId: string;
    assistantMessageId: string;
    content: string;
    provider: string;
    model: string;
    maxMessages: number;
  },
): Promise<StartRunResult> {
  const result = await tryStartRun(db, input);
  if (result !== 'uncounted') return result;
  await recountMessages(db, { sessionId: input.sessionId, onlyIfUncounted: true });
  const counted = await tryStartRun(db, input);
  return counted === 'uncounted' ? { outcome: 'gone' } : counted;
}

async function tryStartRun(
  db: Db,
  input: Parameters<typeof startRun>[1],
): Promise<StartRunResult | 'uncounted'> {
  const { session, message, clientMessage } = db.entities;
  const userItem = {
    sessionId: input.sessionId,
    messageId: input.userMessageId,
    role: 'user' as const,
    content: input.content,
    status: 'complete' as const,
    runId: input.runId,
    clientMessageId: input.clientMessageId,
  };
  const assistantItem = {
    sessionId: input.sessionId,
    messageId: input.assistantMessageId,
    role: 'assistant' as const,
    content: '',
    status: 'streaming' as const,
    runId: input.runId,
    provider: input.provider,
    model: input.model,
    gsi3pk: STREAMING,
    gsi3sk: input.assistantMessageId,
  };
  try {
    const { ToolboxItems } = await executeTransactWrite(
      clientMessage
        .build(PutTransaction)
        .item({
          sessionId: input.sessionId,
          clientMessageId: input.clientMessageId,
          messageId: input.userMessageId,
          runId: input.runId,
        })
        .options({ condition: { attr: 'clientMessageId', exists: false } }),
      session
        .build(UpdateTransaction)
        .item({ sessionId: input.sessionId, activeRunId: input.runId, messageCount: $add(MESSAGES_PER_SEND) })
        .options({
          condition: {
            and: [
              { attr: 'sessionId', exists: true },
              { attr: 'activeRunId', exists: false },
              { attr: 'messageCount', lte: input.maxMessages - MESSAGES_PER_SEND },
            ],
          },
        }),
      message
        .build(PutTransaction)
        .item(userItem)
        .options({ condition: { attr: 'messageId', exists: false } }),
      message
        .build(PutTransaction)
        .item(assistantItem)
        .options({ condition: { attr: 'messageId', exists: false } }),
    );
    return {
      outcome: 'started',
      userMessage: strip(ToolboxItems[2]),
      assistantMessage: strip(ToolboxItems[3]),
    };
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
      if (Item.messageCount > input.maxMessages - MESSAGES_PER_SEND) return { outcome: 'full' };
      return { outcome: 'busy' };
    }
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
  return Item ? strip(Item) : null;
}

/**
 * Saves the reply so far (coalesced by the caller, not per token) and returns whether someone asked to cancel
 * it, so a cancel reaches the run wherever it runs. Returns null when the message is no longer streaming.
 */
export async function saveProgress(
  db: Db,
  input: { sessionId: string; messageId: string; content: string; toolCalls: unknown[] },
): Promise<{ cancelRequested: boolean } | null> {
  try {
    const { Attributes } = await db.entities.message
      .build(UpdateItemCommand)
      .item({
        sessionId: input.sessionId,
        messageId: input.messageId,
        content: input.content,
        toolCalls: $set(input.toolCalls),
      })
      .options({ condition: { attr: 'status', eq: 'streaming' }, returnValues: 'ALL_NEW' })
      .send();
    return { cancelRequested: Attributes?.cancelRequested === true };
  } catch (error) {
    if (isConditionFailure(error)) return null;
    throw error;
  }
}

/** Ends the run: the message gets its final state and the session is free for the next send. */
export async function finishRun(
  db: Db,
  input: {
    sessionId: string;
    messageId: string;
    runId: string;
    status: Exclude<MessageStatus, 'streaming'>;
    content: string;
    toolCalls: unknown[];
    /** The reply's numbers as checked (`Message.numbers`). */
    numbers?: unknown[];
    usage?: unknown;
    error?: string | undefined;
  },
): Promise<MessageRecord | null> {
  const { message, session } = db.entities;
  try {
    await executeTransactWrite(
      message
        .build(UpdateTransaction)
        .item({
          sessionId: input.sessionId,
          messageId: input.messageId,
          status: input.status,
          content: input.content,
          toolCalls: $set(input.toolCalls),
          ...(input.numbers ? { numbers: $set(input.numbers) } : {}),
          ...(input.usage ? { usage: $set(input.usage) } : {}),
          ...(input.error ? { error: input.error } : {}),
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
  return getMessage(db, input);
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

/** Messages newest first: history pages and the recent conversation for the model. */
export async function listMessagesNewestFirst(
  db: Db,
  input: { sessionId: string; limit: number; startKey?: StartKey | undefined },
): Promise<KeyPage<MessageRecord>> {
  const page = await queryPage(
    db,
    db.entities.message,
    { partition: `SESSION#${input.sessionId}`, range: { beginsWith: 'MESSAGE#' } },
    { limit: input.limit, startKey: input.startKey, newestFirst: true },
  );
  return { items: page.items.map(strip), nextKey: page.nextKey };
}

/** Assistant messages still marked streaming whose last save is older than `updatedBefore` (ISO). */
export async function listStaleStreamingMessages(db: Db, updatedBefore: string): Promise<MessageRecord[]> {
  const { Items = [] } = await db.table
    .build(QueryCommand)
    .entities(db.entities.message)
    .query({ index: 'GSI3', partition: STREAMING })
    .options({ maxPages: 10 })
    .send();
  return Items.map(strip).filter((message) => message.updatedAt < updatedBefore);
}
