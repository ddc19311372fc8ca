import { describe, expect, it } from 'vitest';
import { jsonDepthExceeds } from './request-bounds.js';

describe('jsonDepthExceeds', () => {
  it('counts arrays and objects, however mixed', () => {
    expect(jsonDepthExceeds('{"a":[{"b":[1]}]}', 4)).toBe(false);
    expect(jsonDepthExceeds('{"a":[{"b":[1]}]}', 3)).toBe(true);
    expect(jsonDepthExceeds('[[],[],[]]', 2)).toBe(false);
    expect(jsonDepthExceeds('1', 0)).toBe(false);
  });

  it('ignores brackets inside strings, escaped quotes included', () => {
    expect(jsonDepthExceeds(`{"a":"${'['.repeat(100)}"}`, 1)).toBe(false);
    expect(jsonDepthExceeds(String.raw`{"a":"\"[[[[","b":"\\"}`, 1)).toBe(false);
    expect(jsonDepthExceeds(String.raw`{"a":"\\",  "b":[[1]]}`, 2)).toBe(true);
  });
});
