import type { ChatEvent, Message } from '@leonidas/api';
import { describe, expect, it } from 'vitest';
import { chatReducer, emptyChat, orderedMessages } from './chat-state.js';
import { uploadForm } from './upload.js';

const user: Message = {
  id: '01A',
  sessionId: 's',
  role: 'user',
  content: 'describe a.csv',
  status: 'complete',
  createdAt: new Date(0),
};
const run = (events: ChatEvent[], start = chatReducer(emptyChat, { type: 'messages', messages: [user] })) =>
  events.reduce((state, event) => chatReducer(state, { type: 'event', event }), start);

const started: ChatEvent = { type: 'run.started', runId: 'r1', userMessageId: '01A', messageId: '01B' };
const delta = (text: string): ChatEvent => ({ type: 'message.delta', runId: 'r1', messageId: '01B', text });

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
      content: 'Three rows.',
      status: 'streaming',
      toolSteps: [{ callId: 'c1', name: 'describe_file', output: { rows: 3 } }],
    });
    const done = run(
      [
        {
          type: 'message.completed',
          runId: 'r1',
          message: { ...user, id: '01B', role: 'assistant', content: 'Three rows.', model: 'offline/x' },
        },
      ],
      live,
    );
    expect(done.activeRunId).toBeNull();
    expect(orderedMessages(done).map((m) => [m.role, m.content, m.status])).toEqual([
      ['user', 'describe a.csv', 'complete'],
      ['assistant', 'Three rows.', 'complete'],
    ]);
  });

  it('takes the checked numbers from the finished reply, and drops them when the run is replayed', () => {
    const numbers = [{ text: '3', start: 0, end: 1, status: 'verified' as const, callId: 'c1' }];
    const done = run([
      started,
      delta('3 rows.'),
      {
        type: 'message.completed',
        runId: 'r1',
        message: { ...user, id: '01B', role: 'assistant', content: '3 rows.', numbers },
      },
    ]);
    expect(done.messages['01B']?.numbers).toEqual(numbers);
    // Offsets belong to the finished text: a replay rebuilding it must not mark the partial one.
    expect(run([started, delta('3')], done).messages['01B']?.numbers).toBeUndefined();
  });

  it('does not double the text when a reload replays the run from its start', () => {
    const saved: Message = {
      id: '01B',
      sessionId: 's',
      role: 'assistant',
      content: 'Three ',
      status: 'streaming',
      createdAt: new Date(0),
    };
    const reloaded = chatReducer(emptyChat, { type: 'messages', messages: [user, saved] });
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
    const elsewhere = chatReducer(emptyChat, { type: 'event', event: { ...started, userMessageId: '01Z' } });
    expect(elsewhere.unknownUserMessage).toBe(true);
  });
});

describe('uploadForm', () => {
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
