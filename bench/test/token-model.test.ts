import { expect, it } from 'vitest';
import { startTokenModel, takeModelTokens } from '../token-model.js';

/** The bench relays' parser on the stand-in model's real stream, cut into pieces at every possible size. */
it('reads every token of the stand-in model, however its stream is cut, and skips [DONE]', async () => {
  const model = await startTokenModel(5, 1);
  try {
    const body = await (
      await fetch(`${model.baseUrl}/chat/completions`, { method: 'POST', body: '{}' })
    ).text();
    const whole = takeModelTokens(body);
    expect(whole.tokens).toHaveLength(5);
    expect(whole.tokens.every((token) => /^\d+\.\d{3} $/.test(token))).toBe(true);
    expect(whole.rest).toBe('');
    for (const size of [1, 7, 64, body.length - 1]) {
      const tokens: string[] = [];
      let buffer = '';
      for (let at = 0; at < body.length; at += size) {
        const taken = takeModelTokens(buffer + body.slice(at, at + size));
        tokens.push(...taken.tokens);
        buffer = taken.rest;
      }
      expect(tokens).toEqual(whole.tokens);
    }
  } finally {
    await model.stop();
  }
});
