import { describe, expect, it } from 'vitest';
import { OfflineProvider } from './offline.js';
import { recognise } from './offline-requests.js';

describe('the offline analyst reading a message', () => {
  it.each([
    ['what files do I have?', { kind: 'list' }],
    ['describe sales.csv', { kind: 'describe', filename: 'sales.csv', rows: 5 }],
    [
      'show the first 10 rows of "Q1 (final).csv" please',
      { kind: 'describe', filename: 'Q1 (final).csv', rows: 10 },
    ],
    ['Tell me about Régions-2024.tsv!', { kind: 'describe', filename: 'Régions-2024.tsv', rows: 5 }],
    ['profile customers', { kind: 'describe', filename: 'customers', rows: 5 }],
    ['hello', { kind: 'help' }],
    ['Why did churn go up?', { kind: 'unknown' }],
  ])('%s', (text, intent) => {
    expect(recognise(text)).toEqual(intent);
  });

  it('reads a 32,000-character message in about the time of a short one', () => {
    const hostile = [
      'a'.repeat(32_000),
      `${'first '.repeat(5_000)}x`,
      `${'x.'.repeat(16_000)}csv`,
      `describe ${'(('.repeat(10_000)}`,
    ];
    const started = performance.now();
    for (const text of hostile) for (let i = 0; i < 10; i++) recognise(text);
    // 40 readings; one of them took 1.17 s before.
    expect(performance.now() - started).toBeLessThan(200);
  });

  it('keeps its pace by the clock: the words that came due while the server was busy come together', async () => {
    const answer = async (tokenDelayMs: number, onPiece: (index: number) => void = () => {}) => {
      const pieces: string[] = [];
      for await (const event of new OfflineProvider({ tokenDelayMs }).stream({
        system: '',
        messages: [{ role: 'user', content: [{ type: 'text', text: 'hello' }] }],
        tools: [],
        signal: new AbortController().signal,
      })) {
        if (event.type !== 'text') continue;
        onPiece(pieces.length);
        pieces.push(event.text);
      }
      return pieces;
    };
    const pieces = await answer(10, (index) => {
      // The event loop held for 100 ms after the first word, as by a busy server.
      if (index !== 0) return;
      const until = performance.now() + 100;
      while (performance.now() < until) {}
    });
    // About 10 words came due meanwhile: they are the next piece, not 10 pieces of their own.
    expect(pieces[1]?.trim().split(/\s+/).length).toBeGreaterThanOrEqual(5);
    expect(pieces.join('')).toBe((await answer(0)).join(''));
  });

  it('says nothing, at once, on a run already stopped', async () => {
    const controller = new AbortController();
    controller.abort('cancelled');
    const started = performance.now();
    const events = [];
    for await (const event of new OfflineProvider({ tokenDelayMs: 1000 }).stream({
      system: '',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'hello' }] }],
      tools: [],
      signal: controller.signal,
    })) {
      events.push(event);
    }
    expect(events).toEqual([]);
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('leaves no listener behind on the run signal, however long the answer', async () => {
    const provider = new OfflineProvider({ tokenDelayMs: 1 });
    const controller = new AbortController();
    let listeners = 0;
    const signal = controller.signal;
    const add = signal.addEventListener.bind(signal);
    const remove = signal.removeEventListener.bind(signal);
    signal.addEventListener = ((...args: Parameters<typeof add>) => {
      listeners++;
      add(...args);
    }) as typeof signal.addEventListener;
    signal.removeEventListener = ((...args: Parameters<typeof remove>) => {
      listeners--;
      remove(...args);
    }) as typeof signal.removeEventListener;
    let pieces = 0;
    let text = '';
    for await (const event of provider.stream({
      system: '',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'hello' }] }],
      tools: [],
      signal,
    })) {
      if (event.type !== 'text') continue;
      pieces++;
      text += event.text;
    }
    expect(text.split(/\s+/).length).toBeGreaterThan(20);
    expect(pieces).toBeGreaterThan(1);
    expect(listeners).toBe(0);
  });
});
