import type { ChatEvent, Message } from '@leonidas/api';
import { uploadForm } from '@leonidas/client';
import { describe, expect, it } from 'vitest';
import { activeBranch, type ChatState, chatReducer, emptyChat } from './chat-state.js';

/** A stored message; ids sort by time, as the server's do. */
const stored = (
  id: string,
  role: Message['role'],
  parentId: string | null,
  extra: Partial<Message> = {},
): Message => ({
  id,
  sessionId: 's',
  parentId,
  role,
  content: `${role} ${id}`,
  status: 'complete',
  createdAt: new Date(0),
  siblingIds: [id],
  ...extra,
});

const user = stored('01A', 'user', null, { content: 'describe a.csv' });
const fold = (state: ChatState, events: ChatEvent[]) =>
  events.reduce((next, event) => chatReducer(next, { type: 'event', event }), state);
const fromHistory = (...pages: Message[][]) => chatReducer(emptyChat, { type: 'history', pages });
const run = (events: ChatEvent[], start = fromHistory([user])) => fold(start, events);
const shown = (state: ChatState) => activeBranch(state).map((message) => message.content);

const started: ChatEvent = {
  type: 'run.started',
  runId: 'r1',
  userMessageId: '01A',
  messageId: '01B',
  parentId: null,
};
const delta = (text: string, messageId = '01B', runId = 'r1'): ChatEvent => ({
  type: 'message.delta',
  runId,
  messageId,
  text,
});
const completed = (message: Message, runId = 'r1'): ChatEvent => ({
  type: 'message.completed',
  runId,
  message,
});

describe('chatReducer', () => {
  it('builds a streaming reply from deltas and tool steps, then the final message', () => {
    const live = run([
      started,
      {
        type: 'tool.call',
        runId: 'r1',
        messageId: '01B',
        callId: 'c1',
        name: 'describe_file',
        input: { filename: 'a.csv' },
      },
      { type: 'tool.result', runId: 'r1', messageId: '01B', callId: 'c1', output: { rows: 3 } },
      delta('Three '),
      delta('rows.'),
    ]);
    expect(live.activeRunId).toBe('r1');
    expect(live.messages['01B']).toMatchObject({
      parentId: '01A',
      content: 'Three rows.',
      status: 'streaming',
      toolSteps: [{ callId: 'c1', name: 'describe_file', output: { rows: 3 } }],
    });
    const done = run(
      [completed(stored('01B', 'assistant', '01A', { content: 'Three rows.', model: 'offline/x' }))],
      live,
    );
    expect(done.activeRunId).toBeNull();
    expect(activeBranch(done).map((m) => [m.role, m.content, m.status])).toEqual([
      ['user', 'describe a.csv', 'complete'],
      ['assistant', 'Three rows.', 'complete'],
    ]);
  });

  it('takes the checked numbers from the finished reply, and drops them when the run is replayed', () => {
    const numbers = [{ text: '3', start: 0, end: 1, status: 'verified' as const, callId: 'c1' }];
    const done = run([
      started,
      delta('3 rows.'),
      completed(stored('01B', 'assistant', '01A', { content: '3 rows.', numbers })),
    ]);
    expect(done.messages['01B']?.numbers).toEqual(numbers);
    // Offsets belong to the finished text: a replay rebuilding it must not mark the partial one.
    expect(run([started, delta('3')], done).messages['01B']?.numbers).toBeUndefined();
  });

  it('does not double the text when a reload replays the run from its start', () => {
    const saved = stored('01B', 'assistant', '01A', { content: 'Three ', status: 'streaming' });
    const reloaded = fromHistory([user, saved]);
    expect(run([started, delta('Three '), delta('rows.')], reloaded).messages['01B']?.content).toBe(
      'Three rows.',
    );
  });

  it('keeps the partial text and the error when a run fails, and notices messages sent elsewhere', () => {
    const failed = run([
      started,
      delta('Half'),
      { type: 'run.failed', runId: 'r1', messageId: '01B', error: 'The model stopped.' },
    ]);
    expect(failed.messages['01B']).toMatchObject({
      content: 'Half',
      status: 'error',
      error: 'The model stopped.',
    });
    expect(failed.activeRunId).toBeNull();
    const elsewhere = chatReducer(fromHistory([user, stored('01B', 'assistant', '01A')]), {
      type: 'event',
      event: { ...started, userMessageId: '01Y', messageId: '01Z', parentId: '01B' },
    });
    expect(elsewhere.missesMessages).toBe(true);
    // The branch is read through the question not seen yet, which shows once it arrives.
    expect(shown(elsewhere)).toEqual(['describe a.csv', 'assistant 01B', '']);
    const arrived = chatReducer(elsewhere, {
      type: 'history',
      pages: [[user, stored('01B', 'assistant', '01A'), stored('01Y', 'user', '01B', { content: 'hi' })]],
    });
    expect([arrived.leafId, arrived.missesMessages]).toEqual(['01Z', false]);
    expect(shown(arrived)).toEqual(['describe a.csv', 'assistant 01B', 'hi', '']);
  });
});

describe('the conversation tree', () => {
  // what files? -> files; /help -> help; /tables -> tables
  const q1 = stored('01A', 'user', null, { content: 'what files?' });
  const a1 = stored('01B', 'assistant', '01A', { content: 'files' });
  const q2 = stored('01C', 'user', '01B', { content: '/help' });
  const a2 = stored('01D', 'assistant', '01C', { content: 'help' });
  const q3 = stored('01E', 'user', '01D', { content: '/tables' });
  const a3 = stored('01F', 'assistant', '01E', { content: 'tables' });
  const three = fromHistory([q1, a1, q2, a2, q3, a3]);

  it('shows the pages of the active branch in order, the newest page giving the leaf', () => {
    const paged = fromHistory([q3, a3], [q1, a1, q2, a2]);
    expect(paged.leafId).toBe('01F');
    expect(shown(paged)).toEqual(['what files?', 'files', '/help', 'help', '/tables', 'tables']);
  });

  it('after an edit shows the new question and its reply, and hides the old question and what followed', () => {
    const edited = stored('01G', 'user', '01B', {
      content: '/sql SELECT 1 AS one',
      siblingIds: ['01C', '01G'],
      editedAt: new Date(1),
    });
    const rerun: ChatEvent[] = [
      { type: 'run.started', runId: 'r2', userMessageId: '01G', messageId: '01H', parentId: '01B' },
      delta('one: 1', '01H', 'r2'),
    ];
    const afterSent = fold(chatReducer(three, { type: 'sent', message: edited }), rerun);
    expect(shown(afterSent)).toEqual(['what files?', 'files', '/sql SELECT 1 AS one', 'one: 1']);
    expect(afterSent.leafId).toBe('01H');
    // The old question knows of its new version too, for when it is shown again.
    expect(afterSent.messages['01C']?.siblingIds).toEqual(['01C', '01G']);
    expect(afterSent.messages['01G']?.siblingIds).toEqual(['01C', '01G']);
    expect(afterSent.messages['01H']?.siblingIds).toEqual(['01H']);

    // The run's start may arrive before the edit's answer: the reply is kept as the leaf when it comes.
    const startedFirst = fold(three, rerun);
    expect(startedFirst.missesMessages).toBe(true);
    expect(shown(startedFirst)).toEqual(['what files?', 'files', 'one: 1']);
    const answered = chatReducer(startedFirst, { type: 'sent', message: edited });
    expect(answered.leafId).toBe('01H');
    expect(shown(answered)).toEqual(shown(afterSent));
  });

  it('puts a regenerated reply beside the old one: both list both, the new one shown', () => {
    const again: ChatEvent = {
      type: 'run.started',
      runId: 'r2',
      userMessageId: '01E',
      messageId: '01G',
      parentId: '01D',
    };
    const regenerated = fold(three, [again, delta('tables again', '01G', 'r2')]);
    expect(regenerated.leafId).toBe('01G');
    expect(regenerated.activeRunId).toBe('r2');
    expect(shown(regenerated).slice(-2)).toEqual(['/tables', 'tables again']);
    expect(regenerated.messages['01F']?.siblingIds).toEqual(['01F', '01G']);
    expect(regenerated.messages['01G']?.siblingIds).toEqual(['01F', '01G']);

    // The finished reply (its versions as the server read them when it began) and a replay of the run change
    // neither the lists nor the text.
    const done = fold(regenerated, [
      completed(stored('01G', 'assistant', '01E', { content: 'tables again', siblingIds: ['01F'] }), 'r2'),
    ]);
    expect(done.messages['01G']?.siblingIds).toEqual(['01F', '01G']);
    const replayed = fold(done, [again, delta('tables again', '01G', 'r2')]);
    expect(replayed.messages['01G']?.content).toBe('tables again');
    expect(replayed.messages['01F']?.siblingIds).toEqual(['01F', '01G']);
    expect(shown(replayed)).toEqual(shown(regenerated));
  });

  it('switches to another version when the server branch replaces what is known', () => {
    const editedQ2 = stored('01G', 'user', '01B', { content: '/sql', siblingIds: ['01C', '01G'] });
    const editedA2 = stored('01H', 'assistant', '01G', { content: 'one' });
    const onVersion2 = chatReducer(three, { type: 'sent', message: editedQ2 });
    const withReply = fold(onVersion2, [completed(editedA2)]);
    // Version 1 chosen: the server's branch runs through the old question again.
    const version1 = chatReducer(withReply, {
      type: 'reset',
      pages: [[q1, a1, { ...q2, siblingIds: ['01C', '01G'] }, a2, q3, a3]],
    });
    expect(version1.leafId).toBe('01F');
    expect(shown(version1)).toEqual(['what files?', 'files', '/help', 'help', '/tables', 'tables']);
    expect(version1.messages['01G']).toBeUndefined();
    // A deletion leaves no stale version behind: the lists are the server's.
    const deleted = chatReducer(version1, { type: 'reset', pages: [[q1, a1]] });
    expect(shown(deleted)).toEqual(['what files?', 'files']);
    expect(Object.keys(deleted.messages)).toEqual(['01A', '01B']);
    const emptied = chatReducer(deleted, { type: 'reset', pages: [] });
    expect([emptied.leafId, emptied.messages]).toEqual([null, {}]);
  });

  it('keeps the leaf when it lies below the newest message of a page read earlier, and follows a newer branch', () => {
    // A reply started after the history was read: the page ends at its question.
    const live = fold(fromHistory([q1, a1, q2]), [
      { type: 'run.started', runId: 'r2', userMessageId: '01C', messageId: '01D', parentId: '01B' },
      delta('help', '01D', 'r2'),
    ]);
    const staleHistory = chatReducer(live, { type: 'history', pages: [[q1, a1, q2]] });
    expect(staleHistory.leafId).toBe('01D');
    expect(staleHistory.messages['01D']?.content).toBe('help');
    // A question just sent whose reply already started stays above the leaf too.
    expect(chatReducer(live, { type: 'sent', message: q2 }).leafId).toBe('01D');
    // A question sent here below a branch chosen in another tab: the messages above it are read again.
    const askedElsewhere = stored('01G', 'user', '01X', { content: 'other' });
    expect(chatReducer(three, { type: 'sent', message: askedElsewhere }).missesMessages).toBe(true);
    expect(chatReducer(three, { type: 'sent', message: q3 }).missesMessages).toBe(false);
    // Another tab chose another branch: the history's leaf is not above the current one, so it wins.
    const other = stored('01G', 'user', '01B', { content: 'other', siblingIds: ['01C', '01G'] });
    const switched = chatReducer(three, { type: 'history', pages: [[q1, a1, other]] });
    expect(switched.leafId).toBe('01G');
    expect(shown(switched)).toEqual(['what files?', 'files', 'other']);
    expect(switched.messages['01C']?.siblingIds).toEqual(['01C', '01G']);
  });
});

describe("the SDK's uploadForm, as the app posts files", () => {
  it('puts every presigned field before the file, as S3 requires', async () => {
    const form = uploadForm(
      { key: 'projects/p/files/f', Policy: 'abc', 'Content-Type': 'text/csv' },
      new Blob(['a,b\n']),
      'a.csv',
    );
    expect([...form.keys()]).toEqual(['key', 'Policy', 'Content-Type', 'file']);
    const file = form.get('file') as File;
    expect(file.name).toBe('a.csv');
    expect(await file.text()).toBe('a,b\n');
  });
});
