import {
  collectSubtree,
  type Db,
  detachMessage,
  getMessage,
  getSession,
  type MessageRecord,
  newId,
  readBranch,
  setActiveLeaf,
} from '@leonidas/db';
import { appendTurn, scanTable, writePreTreeConversation } from '@leonidas/db/testing';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import {
  collectEvents,
  createTestApi,
  expectTrpcError,
  ScriptedProvider,
  signUp,
  type TestApi,
  words,
} from '../../test/helpers.js';
import { startOpenAiServer } from '../../test/wire/index.js';
import { finishAbandonedDeletions } from '../deletion/service.js';

type Caller = ReturnType<TestApi['caller']>;
type Event = { id: string; data: { type: string } & Record<string, unknown> };

/** A stand-in model on OpenAI's wire protocol that answers each question by quoting it. */
let model: Awaited<ReturnType<typeof startOpenAiServer>>;
let api: TestApi;
beforeAll(async () => {
  model = await startOpenAiServer((request) => [{ text: `Answer to "${request.lastUserText}".` }]);
  api = await createTestApi({
    LLM_PROVIDER: 'openai',
    OPENAI_BASE_URL: model.baseUrl,
    OPENAI_API_KEY: 'test',
    CHAT_SEND_PER_MINUTE: '1000',
  });
});
afterAll(async () => {
  await api.close();
  await model.stop();
});

async function chatFor(testApi: TestApi) {
  const account = await signUp(testApi);
  const project = await account.as.project.create({ name: 'Tree' });
  const session = await account.as.session.create({ projectId: project.id });
  return { ...account, project, sessionId: session.id };
}

const ends = (runId: string) => (events: Event[]) =>
  events.some(
    (event) =>
      event.data.runId === runId &&
      ['message.completed', 'run.cancelled', 'run.failed'].includes(event.data.type),
  );

/** Waits for a run to end and returns its events. */
async function runEvents(as: Caller, sessionId: string, runId: string): Promise<Event[]> {
  const events = await collectEvents(await as.chat.onEvents({ sessionId }), ends(runId));
  return events.filter((event) => event.data.runId === runId);
}

async function ask(as: Caller, sessionId: string, content: string) {
  const sent = await as.chat.send({ sessionId, content, clientMessageId: newId() });
  await runEvents(as, sessionId, sent.runId);
  return sent;
}

async function branch(as: Caller, sessionId: string) {
  return (await as.chat.history({ sessionId, limit: 100 })).items;
}

/** The user's words in the latest request the stand-in model got. */
const lastRequestQuestions = () =>
  (model.requests.at(-1)?.messages ?? [])
    .filter((message) => message.role === 'user')
    .map((message) => message.content);

describe('the conversation tree', () => {
  it('edits a question, switches versions, regenerates a reply and deletes a branch, the model seeing only the active one', async () => {
    const { as, sessionId } = await chatFor(api);
    for (const question of ['one', 'two', 'three']) await ask(as, sessionId, question);
    const straight = await branch(as, sessionId);
    expect(straight.map((message) => message.content)).toEqual([
      'one',
      'Answer to "one".',
      'two',
      'Answer to "two".',
      'three',
      'Answer to "three".',
    ]);
    expect(straight.map((message) => message.parentId)).toEqual([
      null,
      ...straight.slice(0, -1).map((message) => message.id),
    ]);
    for (const message of straight) expect(message.siblingIds).toEqual([message.id]);
    const [q1, a1, q2, a2, q3, a3] = straight.map((message) => message.id);

    // Edit the 2nd question: a version beside it, below the same reply, and a new run.
    const edited = await as.chat.edit({
      sessionId,
      messageId: q2 ?? '',
      content: 'two, again',
      clientMessageId: 'e1',
    });
    expect(edited.userMessage).toMatchObject({
      parentId: a1,
      role: 'user',
      content: 'two, again',
      siblingIds: [q2, edited.userMessage.id],
      editedAt: expect.any(Date),
    });
    const events = await runEvents(as, sessionId, edited.runId);
    expect(events[0]?.data).toMatchObject({
      type: 'run.started',
      userMessageId: edited.userMessage.id,
      parentId: a1,
    });
    expect(lastRequestQuestions()).toEqual(['one', 'two, again']);
    expect(JSON.stringify(model.requests.at(-1)?.messages)).not.toContain('three');
    const afterEdit = await branch(as, sessionId);
    expect(afterEdit.map((message) => message.content)).toEqual([
      'one',
      'Answer to "one".',
      'two, again',
      'Answer to "two, again".',
    ]);
    expect(afterEdit[2]?.siblingIds).toEqual([q2, edited.userMessage.id]);
    expect(afterEdit[3]?.siblingIds).toEqual([afterEdit[3]?.id]);

    // The first version again: its old reply and what followed are back, untouched.
    await as.chat.selectBranch({ sessionId, messageId: q2 ?? '' });
    const old = await branch(as, sessionId);
    expect(old.map((message) => message.id)).toEqual([q1, a1, q2, a2, q3, a3]);
    expect(old[2]?.siblingIds).toEqual([q2, edited.userMessage.id]);

    // Another reply to the third question, beside the first one; the model sees that branch.
    const regenerated = await as.chat.regenerate({ sessionId, messageId: a3 ?? '', clientMessageId: 'r1' });
    const regeneration = await runEvents(as, sessionId, regenerated.runId);
    expect(regeneration[0]?.data).toMatchObject({ type: 'run.started', userMessageId: q3, parentId: a2 });
    expect(lastRequestQuestions()).toEqual(['one', 'two', 'three']);
    const completed = regeneration.at(-1)?.data.message as {
      id: string;
      siblingIds: string[];
      parentId: string;
    };
    expect(completed).toMatchObject({ parentId: q3, siblingIds: [a3, completed.id] });
    const afterRegenerate = await branch(as, sessionId);
    expect(afterRegenerate.map((message) => message.id)).toEqual([q1, a1, q2, a2, q3, completed.id]);

    // Deleting the question shown takes it and all below it (both replies to "three" too); the branch moves
    // to the remaining version of it.
    await as.chat.deleteMessage({ sessionId, messageId: q2 ?? '' });
    const afterDelete = await branch(as, sessionId);
    expect(afterDelete.map((message) => message.content)).toEqual([
      'one',
      'Answer to "one".',
      'two, again',
      'Answer to "two, again".',
    ]);
    expect(afterDelete[1]?.siblingIds).toEqual([a1]);
    expect(afterDelete[2]?.siblingIds).toEqual([edited.userMessage.id]);
    await api.deps.background.drain(10_000);
    const gone = [q2, a2, q3, a3, completed.id];
    for (const messageId of gone) {
      expect(await getMessage(api.deps.db, { sessionId, messageId: messageId ?? '' })).toBeNull();
    }
    const items = await scanTable(api.deps.db);
    expect(items.filter((item) => gone.some((id) => JSON.stringify(item).includes(`"${id}"`)))).toEqual([]);
    expect((await getSession(api.deps.db, sessionId))?.messageCount).toBe(4);

    // The conversation goes on from the branch shown.
    await ask(as, sessionId, 'four');
    expect(lastRequestQuestions()).toEqual(['one', 'two, again', 'four']);
  });

  it('deletes a version that is not shown without moving the branch, and a first message down to nothing', async () => {
    const { as, sessionId } = await chatFor(api);
    await ask(as, sessionId, 'first');
    const [q1] = (await branch(as, sessionId)).map((message) => message.id);
    const edited = await as.chat.edit({
      sessionId,
      messageId: q1 ?? '',
      content: 'first, again',
      clientMessageId: 'e',
    });
    await runEvents(as, sessionId, edited.runId);
    expect((await branch(as, sessionId))[0]?.siblingIds).toEqual([q1, edited.userMessage.id]);

    await as.chat.deleteMessage({ sessionId, messageId: q1 ?? '' });
    const shown = await branch(as, sessionId);
    expect(shown.map((message) => message.content)).toEqual(['first, again', 'Answer to "first, again".']);
    expect(shown[0]?.siblingIds).toEqual([edited.userMessage.id]);

    // The reply alone: the question stays, at the end of the branch, ready to be edited and run again.
    await as.chat.deleteMessage({ sessionId, messageId: shown[1]?.id ?? '' });
    expect((await branch(as, sessionId)).map((message) => message.content)).toEqual(['first, again']);
    await as.chat.deleteMessage({ sessionId, messageId: edited.userMessage.id });
    expect(await branch(as, sessionId)).toEqual([]);
    await ask(as, sessionId, 'a fresh start');
    expect((await branch(as, sessionId)).map((message) => message.parentId)).toEqual([
      null,
      expect.any(String),
    ]);
    expect(lastRequestQuestions()).toEqual(['a fresh start']);
  });

  it('keeps what a deleted reply made: its files stay, without the link, and its query results go', async () => {
    const offline = await createTestApi({ OFFLINE_TOKEN_DELAY_MS: '0', CHAT_SEND_PER_MINUTE: '1000' });
    onTestFinished(() => offline.close());
    const { as, project, sessionId } = await chatFor(offline);
    await ask(as, sessionId, '/sql SELECT 1 AS one, 2 AS two');
    await ask(as, sessionId, '/save kept');
    const files = await as.file.list({ projectId: project.id, source: 'APP_GENERATED' });
    const saved = files.items[0];
    expect(saved?.provenance).toMatchObject({ sessionId, messageId: expect.any(String) });
    const keys = await offline.deps.storage.listKeys(`projects/${project.id}/sessions/${sessionId}/queries/`);
    expect(keys).toHaveLength(1);

    const [question] = await branch(as, sessionId);
    await as.chat.deleteMessage({ sessionId, messageId: question?.id ?? '' });
    await offline.deps.background.drain(10_000);
    expect(await branch(as, sessionId)).toEqual([]);
    const after = await as.file.byId({ fileId: saved?.id ?? '' });
    expect(after.status).toBe('COMPLETED');
    expect(after.provenance).toEqual({
      sessionId,
      sql: saved?.provenance?.sql,
      sourceFileIds: saved?.provenance?.sourceFileIds,
    });
    expect(
      await offline.deps.storage.listKeys(`projects/${project.id}/sessions/${sessionId}/queries/`),
    ).toEqual([]);
  });

  it('finishes a deletion whose server died half-way, from its tombstone', async () => {
    const { as, sessionId } = await chatFor(api);
    await ask(as, sessionId, 'keep');
    await ask(as, sessionId, 'drop');
    const shown = await branch(as, sessionId);
    const [, keptReply, dropped] = shown;
    // What `chat.deleteMessage` does before its background work, as if the server stopped right there.
    const session = await getSession(api.deps.db, sessionId);
    const message = await getMessage(api.deps.db, { sessionId, messageId: dropped?.id ?? '' });
    const parent = await getMessage(api.deps.db, { sessionId, messageId: keptReply?.id ?? '' });
    if (!session || !message) throw new Error('not written');
    const subtree = await collectSubtree(api.deps.db, message);
    expect(
      await detachMessage(api.deps.db, {
        session,
        message,
        parent,
        removed: subtree.length,
        newLeafId: keptReply?.id ?? null,
        leaseUntil: api.clock.now() - 1,
      }),
    ).toBe(true);
    expect((await branch(as, sessionId)).map((item) => item.id)).toEqual(
      shown.slice(0, 2).map((item) => item.id),
    );
    expect(
      await getMessage(api.deps.db, { sessionId, messageId: subtree[1]?.messageId ?? '' }),
    ).not.toBeNull();

    expect(await finishAbandonedDeletions(api.deps)).toBeGreaterThanOrEqual(1);
    for (const gone of subtree) {
      expect(await getMessage(api.deps.db, { sessionId, messageId: gone.messageId })).toBeNull();
    }
    expect(
      (await scanTable(api.deps.db)).filter((item) => String(item.pk).startsWith('DELETION#MESSAGE#')),
    ).toEqual([]);
  });

  it('answers the newest question when the reply to the one before it was deleted', async () => {
    const offline = await createTestApi({ OFFLINE_TOKEN_DELAY_MS: '0', CHAT_SEND_PER_MINUTE: '1000' });
    onTestFinished(() => offline.close());
    const { as, sessionId } = await chatFor(offline);
    await ask(as, sessionId, '/sql SELECT 2 AS two');
    const [question, reply] = await branch(as, sessionId);
    await as.chat.deleteMessage({ sessionId, messageId: reply?.id ?? '' });
    expect((await branch(as, sessionId)).map((message) => message.id)).toEqual([question?.id]);
    await ask(as, sessionId, '/sql SELECT 3 AS three');
    const shown = await branch(as, sessionId);
    expect(shown.map((message) => message.parentId)).toEqual([null, question?.id, shown[1]?.id]);
    expect(shown[2]?.toolCalls?.[0]?.input).toEqual({ sql: 'SELECT 3 AS three' });
    expect(shown[2]?.content).toContain('| 3 |');
  });

  it('is idempotent on clientMessageId, refuses changes during a run, and tells which role fits', async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow = new ScriptedProvider([
      words('Plain answer.'),
      words('Plain answer.'),
      [{ type: 'until', released: held }, ...words('Held answer.')],
      words('Plain answer.'),
    ]);
    const scripted = await createTestApi({ CHAT_SEND_PER_MINUTE: '1000' }, { llm: slow });
    onTestFinished(() => scripted.close());
    const { as, sessionId } = await chatFor(scripted);
    await ask(as, sessionId, 'question');
    const [question, reply] = await branch(as, sessionId);

    const first = await as.chat.edit({
      sessionId,
      messageId: question?.id ?? '',
      content: 'again',
      clientMessageId: 'same',
    });
    const retried = await as.chat.edit({
      sessionId,
      messageId: question?.id ?? '',
      content: 'again',
      clientMessageId: 'same',
    });
    expect(retried).toMatchObject({ runId: first.runId, userMessage: { id: first.userMessage.id } });
    await runEvents(as, sessionId, first.runId);

    await as.chat.selectBranch({ sessionId, messageId: question?.id ?? '' });
    const regenerated = await as.chat.regenerate({
      sessionId,
      messageId: reply?.id ?? '',
      clientMessageId: 'r',
    });
    // While that reply is held: every change of the tree waits its turn, and a retry still gets its answer.
    await expect(
      as.chat.regenerate({ sessionId, messageId: reply?.id ?? '', clientMessageId: 'r' }),
    ).resolves.toEqual(regenerated);
    const conflict = await expectTrpcError(
      as.chat.edit({ sessionId, messageId: question?.id ?? '', content: 'x', clientMessageId: 'other' }),
      'CONFLICT',
    );
    expect(conflict.message).toMatch(/still replying/);
    await expectTrpcError(
      as.chat.regenerate({ sessionId, messageId: reply?.id ?? '', clientMessageId: 'r2' }),
      'CONFLICT',
    );
    await expectTrpcError(as.chat.selectBranch({ sessionId, messageId: first.userMessage.id }), 'CONFLICT');
    await expectTrpcError(as.chat.deleteMessage({ sessionId, messageId: question?.id ?? '' }), 'CONFLICT');
    release();
    await runEvents(as, sessionId, regenerated.runId);
    expect((await branch(as, sessionId)).at(-1)?.siblingIds).toHaveLength(2);
    expect(slow.requests).toHaveLength(3);

    const wrongEdit = await expectTrpcError(
      as.chat.edit({ sessionId, messageId: reply?.id ?? '', content: 'x', clientMessageId: 'w1' }),
      'BAD_REQUEST',
    );
    expect(wrongEdit.message).toMatch(/Only your own messages can be edited.*regenerate/);
    const wrongRegenerate = await expectTrpcError(
      as.chat.regenerate({ sessionId, messageId: question?.id ?? '', clientMessageId: 'w2' }),
      'BAD_REQUEST',
    );
    expect(wrongRegenerate.message).toMatch(/Only DS Bro's replies can be regenerated.*edit/);
    const blank = await expectTrpcError(
      as.chat.edit({ sessionId, messageId: question?.id ?? '', content: '   ', clientMessageId: 'w3' }),
      'BAD_REQUEST',
    );
    expect(blank.message).toMatch(/Write a message first/);
    await expectTrpcError(as.chat.selectBranch({ sessionId, messageId: 'not-a-message' }), 'NOT_FOUND');
    await expectTrpcError(as.chat.deleteMessage({ sessionId, messageId: 'not-a-message' }), 'NOT_FOUND');
  });

  it("gives another user NOT_FOUND for a message, and no one reaches one session's message through another", async () => {
    const owner = await chatFor(api);
    await ask(owner.as, owner.sessionId, 'mine');
    const [question, reply] = await branch(owner.as, owner.sessionId);
    const intruder = await chatFor(api);
    for (const sessionId of [owner.sessionId, intruder.sessionId]) {
      const as = intruder.as;
      await expectTrpcError(
        as.chat.edit({ sessionId, messageId: question?.id ?? '', content: 'x', clientMessageId: 'x' }),
        'NOT_FOUND',
      );
      await expectTrpcError(
        as.chat.regenerate({ sessionId, messageId: reply?.id ?? '', clientMessageId: 'x' }),
        'NOT_FOUND',
      );
      await expectTrpcError(as.chat.selectBranch({ sessionId, messageId: question?.id ?? '' }), 'NOT_FOUND');
      await expectTrpcError(as.chat.deleteMessage({ sessionId, messageId: question?.id ?? '' }), 'NOT_FOUND');
    }
    expect((await branch(owner.as, owner.sessionId)).map((message) => message.id)).toEqual([
      question?.id,
      reply?.id,
    ]);
    expect(await branch(intruder.as, intruder.sessionId)).toEqual([]);
  });

  it('reads the project and the message a reply goes below side by side, after the session', async () => {
    const { as, sessionId, project } = await chatFor(api);
    const first = await ask(as, sessionId, 'one');
    const leafId = (await branch(as, sessionId)).at(-1)?.id ?? '';
    // When each read began and ended, in one sequence.
    let clock = 0;
    const reads: { key: string; began: number; ended: number }[] = [];
    const name = `overlap-${newId()}`;
    const db = api.deps.db;
    db.documentClient.middlewareStack.add(
      (next, context) => async (args) => {
        const input = JSON.stringify(args.input);
        // A message's key holds its session's id too: the most precise match first.
        const key = [leafId, project.id, sessionId].find((id) => input.includes(id));
        if (context.commandName !== 'GetItemCommand' || !key) return next(args);
        const read = { key, began: ++clock, ended: 0 };
        try {
          return await next(args);
        } finally {
          read.ended = ++clock;
          reads.push(read);
        }
      },
      { step: 'initialize', name },
    );
    let sent: Awaited<ReturnType<typeof as.chat.send>>;
    try {
      sent = await as.chat.send({ sessionId, content: 'two', clientMessageId: newId() });
    } finally {
      db.documentClient.middlewareStack.remove(name);
    }
    await runEvents(as, sessionId, sent.runId);
    const [session, ...after] = reads.sort((a, b) => a.began - b.began);
    expect(session?.key).toBe(sessionId);
    const projectRead = after.find((read) => read.key === project.id);
    const leafRead = after.find((read) => read.key === leafId);
    if (!session || !projectRead || !leafRead) throw new Error(`reads missing: ${JSON.stringify(reads)}`);
    // Both wait for the session (which names them), and neither for the other.
    expect(projectRead.began).toBeGreaterThan(session.ended);
    expect(leafRead.began).toBeGreaterThan(session.ended);
    expect(leafRead.began).toBeLessThan(projectRead.ended);
    expect(projectRead.began).toBeLessThan(leafRead.ended);
    expect(sent.userMessage.parentId).toBe(leafId);
    expect(first.userMessage.parentId).toBeNull();
  });

  it('replays the run that ends the branch shown, after a switch', async () => {
    const { as, sessionId } = await chatFor(api);
    await ask(as, sessionId, 'alpha');
    const [question] = await branch(as, sessionId);
    const edited = await as.chat.edit({
      sessionId,
      messageId: question?.id ?? '',
      content: 'beta',
      clientMessageId: 'b',
    });
    const live = await runEvents(as, sessionId, edited.runId);
    await as.chat.selectBranch({ sessionId, messageId: question?.id ?? '' });
    const replayed = await collectEvents(await as.chat.onEvents({ sessionId }), (events) =>
      events.some((event) => event.data.type === 'message.completed'),
    );
    expect(replayed[0]?.data).toMatchObject({
      type: 'run.started',
      userMessageId: question?.id,
      parentId: null,
    });
    expect(replayed.at(-1)?.data.message).toMatchObject({ content: 'Answer to "alpha".' });
    // A client that followed the other branch resumes from its last event: the branch shown is replayed whole.
    const resumed = await collectEvents(
      await as.chat.onEvents({ sessionId, lastEventId: live.at(-1)?.id }),
      (events) => events.some((event) => event.data.type === 'message.completed'),
    );
    expect(resumed[0]?.data).toMatchObject({ type: 'run.started', userMessageId: question?.id });
  });
});

describe('reading the active branch', () => {
  /** Counts the DynamoDB requests made through this client while `work` runs. */
  /**
   * The database calls `work` makes for one chat: those naming its session, project or owner, and any scan.
   * Background work of earlier tests on the same client (a sign-in check, a run finishing) is not counted.
   */
  async function countCalls(
    db: Db,
    chat: { sessionId: string; project: { id: string }; user: { id: string } },
    work: () => Promise<unknown>,
  ): Promise<string[]> {
    const calls: string[] = [];
    const name = `count-${newId()}`;
    const names = [chat.sessionId, chat.project.id, chat.user.id];
    db.documentClient.middlewareStack.add(
      (next, context) => (args) => {
        const index = (args.input as { IndexName?: string }).IndexName;
        const input = JSON.stringify(args.input);
        if (context.commandName === 'ScanCommand' || names.some((id) => input.includes(id)))
          calls.push(`${String(context.commandName).replace(/Command$/, '')}${index ? ` on ${index}` : ''}`);
        return next(args);
      },
      { step: 'initialize', name },
    );
    try {
      await work();
    } finally {
      db.documentClient.middlewareStack.remove(name);
    }
    return calls;
  }

  /** Goes back to the message at `depth` on the branch shown and writes turns from there down to 30 messages. */
  async function branchFrom(sessionId: string, depth: number, label: string) {
    const session = await getSession(api.deps.db, sessionId);
    const shown = await readBranch(api.deps.db, { sessionId, from: session?.activeLeafId ?? '', limit: 100 });
    const forkAt = shown.items.find((message) => message.depth === depth - 1) as MessageRecord;
    await setActiveLeaf(api.deps.db, {
      sessionId,
      leafId: forkAt.messageId,
      treeVersion: session?.treeVersion ?? 0,
    });
    for (let at = depth; at < 30; at += 2) {
      await appendTurn(api.deps.db, { sessionId, question: `${label} q${at}`, answer: `${label} a${at}` });
    }
  }

  it('costs the same requests with 10 branches of 30 messages as with one straight branch', async () => {
    const straight = await chatFor(api);
    const branched = await chatFor(api);
    for (let at = 0; at < 30; at += 2) {
      await appendTurn(api.deps.db, { sessionId: straight.sessionId, question: `q${at}`, answer: `a${at}` });
      await appendTurn(api.deps.db, {
        sessionId: branched.sessionId,
        question: `b0 q${at}`,
        answer: `b0 a${at}`,
      });
    }
    // Nine more branches, each forking at another question of the one shown: 10 leaves, 30 messages deep.
    for (let branchNumber = 1; branchNumber < 10; branchNumber++) {
      await branchFrom(branched.sessionId, 2 * branchNumber + 2, `b${branchNumber}`);
    }
    const all = (await scanTable(api.deps.db)).filter(
      (item) => item.pk === `SESSION#${branched.sessionId}` && String(item.sk).startsWith('MESSAGE#'),
    );
    expect(all.length).toBeGreaterThan(150);

    const read = (as: Caller, sessionId: string) => as.chat.history({ sessionId, limit: 20 });
    const straightCalls = await countCalls(api.deps.db, straight, () =>
      read(straight.as, straight.sessionId),
    );
    const branchedCalls = await countCalls(api.deps.db, branched, () =>
      read(branched.as, branched.sessionId),
    );
    expect(branchedCalls).toEqual(straightCalls);
    // The session, its project (ownership), the message the page starts at, then the rest in one batch.
    expect(branchedCalls).toEqual(['GetItem', 'GetItem', 'GetItem', 'BatchGetItem']);

    const pageOf = async (chat: typeof straight) => {
      const first = await read(chat.as, chat.sessionId);
      const calls = await countCalls(api.deps.db, chat, () =>
        chat.as.chat.history({ sessionId: chat.sessionId, limit: 20, cursor: first.nextCursor ?? '' }),
      );
      return { first, calls };
    };
    const straightNext = await pageOf(straight);
    const branchedNext = await pageOf(branched);
    expect(branchedNext.calls).toEqual(straightNext.calls);
    const whole = [
      ...(
        await branched.as.chat.history({
          sessionId: branched.sessionId,
          limit: 20,
          cursor: branchedNext.first.nextCursor ?? '',
        })
      ).items,
      ...branchedNext.first.items,
    ];
    expect(whole).toHaveLength(30);
    // Each branch holds two messages of the one shown (the first fork keeps b0's first four), b9 the rest.
    const expected = Array.from({ length: 30 }, (_, depth) => {
      const label = depth < 4 ? 0 : Math.min(9, Math.floor((depth - 2) / 2));
      return `b${label} ${depth % 2 === 0 ? 'q' : 'a'}${depth - (depth % 2)}`;
    });
    expect(whole.map((message) => message.content)).toEqual(expected);
    const forks = whole.filter((message) => message.siblingIds.length > 1).map((message) => message.content);
    expect(forks).toEqual(Array.from({ length: 9 }, (_, i) => `b${i + 1} q${2 * i + 4}`));

    // A reply reads its context (the branch it answers) in one BatchGetItem too; the one query lists the
    // project's files (GSI1), and the session's partition is never queried.
    const replyReads = async (chat: typeof straight) =>
      (await countCalls(api.deps.db, chat, () => ask(chat.as, chat.sessionId, 'one more')))
        .filter((call) => /^(BatchGetItem|Query|Scan)/.test(call))
        .sort();
    expect(await replyReads(straight)).toEqual(['BatchGetItem', 'Query on GSI1']);
    expect(await replyReads(branched)).toEqual(['BatchGetItem', 'Query on GSI1']);
  });
});

describe('a conversation from before the tree', () => {
  it('reads as one straight branch, then takes sends, edits and switches', async () => {
    const { as, sessionId } = await chatFor(api);
    const contents = ['old question', 'old answer', 'second question', 'second answer'];
    const ids = await writePreTreeConversation(api.deps.db, { sessionId, contents });

    const read = await branch(as, sessionId);
    expect(read.map((message) => [message.id, message.parentId, message.siblingIds])).toEqual(
      ids.map((id, index) => [id, ids[index - 1] ?? null, [id]]),
    );
    await ask(as, sessionId, 'third question');
    expect(lastRequestQuestions()).toEqual(['old question', 'second question', 'third question']);
    const edited = await as.chat.edit({
      sessionId,
      messageId: ids[2] ?? '',
      content: 'second question, put better',
      clientMessageId: 'legacy-edit',
    });
    await runEvents(as, sessionId, edited.runId);
    expect(edited.userMessage.siblingIds).toEqual([ids[2], edited.userMessage.id]);
    await as.chat.selectBranch({ sessionId, messageId: ids[2] ?? '' });
    expect((await branch(as, sessionId)).map((message) => message.content)).toEqual([
      ...contents,
      'third question',
      'Answer to "third question".',
    ]);
  });
});
