import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Db } from './db.js';
import { newId } from './ids.js';
import { finishRun, getMessage, positionBelow, startRun } from './messages.js';
import { createTestDb } from './testing.js';

let db: Db;
beforeAll(async () => {
  db = await createTestDb();
});

/** A question and its reply started in a session with no project around it: these tests are about the messages. */
async function startBareRun() {
  const [sessionId, runId, replyId] = [newId(), newId(), newId()];
  await db.documentClient.send(
    new PutCommand({
      TableName: db.tableName,
      Item: {
        pk: `SESSION#${sessionId}`,
        sk: 'SESSION',
        _et: 'SESSION',
        sessionId,
        userId: 'u',
        projectId: 'p',
        title: 't',
        version: 1,
        treeVersion: 0,
        messageCount: 0,
        createdAt: '2026-01-01T00:00:00.000Z',
        updatedAt: '2026-01-01T00:00:00.000Z',
      },
    }),
  );
  const started = await startRun(db, {
    sessionId,
    runId,
    clientMessageId: newId(),
    question: { messageId: newId(), content: 'how many?', edited: false },
    assistantMessageId: replyId,
    provider: 'offline',
    model: 'm',
    maxMessages: 10,
    treeVersion: 0,
    position: positionBelow(null),
  });
  if (started.outcome !== 'started') throw new Error(`not started: ${started.outcome}`);
  return { sessionId, runId, replyId, started };
}

describe('the end of a run', () => {
  it('returns the reply exactly as stored, without reading it back, and frees the session', async () => {
    const { sessionId, runId, replyId, started } = await startBareRun();
    const finished = await finishRun(db, {
      sessionId,
      messageId: replyId,
      runId,
      started: started.assistantMessage,
      status: 'error',
      content: 'There are 3.',
      toolCalls: [{ callId: 'c', name: 'run_sql', input: { sql: 'x' }, output: { rows: [[3]] } }],
      numbers: [{ text: '3', start: 10, end: 11, status: 'verified', callId: 'c' }],
      usage: { inputTokens: 5, outputTokens: 2 },
      error: 'cut',
    });
    expect(finished).toEqual(await getMessage(db, { sessionId, messageId: replyId }));
    expect(finished?.updatedAt).not.toBe(started.assistantMessage.updatedAt);
    const session = await db.documentClient.send(
      new GetCommand({ TableName: db.tableName, Key: { pk: `SESSION#${sessionId}`, sk: 'SESSION' } }),
    );
    expect(session.Item).not.toHaveProperty('activeRunId');
    // A second end (another server got there first) reads what is stored instead.
    const again = await finishRun(db, {
      sessionId,
      messageId: replyId,
      runId,
      started: started.assistantMessage,
      status: 'complete',
      content: 'something else',
      toolCalls: [],
    });
    expect(again).toEqual(finished);
  });
});

describe("a reply's tool calls", () => {
  it('are stored as JSON text, so numbers DynamoDB cannot hold (1e20, 1e-200) are kept exactly', async () => {
    const { sessionId, runId, replyId } = await startBareRun();
    const toolCalls = [
      { callId: 'c', name: 'run_sql', input: { sql: 'x' }, output: { rows: [[1e20, 1e-200, -0.5]] } },
    ];
    await finishRun(db, {
      sessionId,
      messageId: replyId,
      runId,
      status: 'complete',
      content: 'a',
      toolCalls,
    });
    expect((await getMessage(db, { sessionId, messageId: replyId }))?.toolCalls).toEqual(toolCalls);
    const raw = await db.documentClient.send(
      new GetCommand({
        TableName: db.tableName,
        Key: { pk: `SESSION#${sessionId}`, sk: `MESSAGE#${replyId}` },
      }),
    );
    expect(typeof raw.Item?.toolCalls).toBe('string');
  });

  it('stored as a map by an older version still read as they were', async () => {
    const sessionId = newId();
    const messageId = newId();
    const toolCalls = [{ callId: 'c', name: 'run_sql', input: { sql: 'x' }, output: { rows: [[1, 'a']] } }];
    await db.documentClient.send(
      new PutCommand({
        TableName: db.tableName,
        Item: {
          pk: `SESSION#${sessionId}`,
          sk: `MESSAGE#${messageId}`,
          _et: 'MESSAGE',
          sessionId,
          messageId,
          role: 'assistant',
          content: 'a',
          status: 'complete',
          toolCalls,
          createdAt: '2026-01-01T00:00:00.000Z',
          updatedAt: '2026-01-01T00:00:00.000Z',
        },
      }),
    );
    expect((await getMessage(db, { sessionId, messageId }))?.toolCalls).toEqual(toolCalls);
  });
});
