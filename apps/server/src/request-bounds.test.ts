import { describe, expect, it } from 'vitest';
import { jsonShapeProblem, MAX_JSON_VALUES } from './request-bounds.js';

describe('jsonShapeProblem', () => {
  it('passes the shapes the API takes', () => {
    expect(
      jsonShapeProblem('{"0":{"json":{"a":[{"b":[1,2,3]}]},"meta":{"values":{"x":["Date"]}}}}'),
    ).toBeUndefined();
    expect(jsonShapeProblem('')).toBeUndefined();
  });

  it('counts nesting of arrays and objects, however mixed', () => {
    expect(jsonShapeProblem(`${'[{"a":'.repeat(16)}1${'}]'.repeat(16)}`)).toBeUndefined();
    expect(jsonShapeProblem(`${'[{"a":'.repeat(17)}1${'}]'.repeat(17)}`)).toMatch(/nested more than 32/);
  });

  it('counts values, so that a wide body is refused like a deep one', () => {
    const many = (count: number) => `[${Array.from({ length: count }, () => '[]').join(',')}]`;
    expect(jsonShapeProblem(many(MAX_JSON_VALUES / 2 - 1))).toBeUndefined();
    expect(jsonShapeProblem(many(MAX_JSON_VALUES))).toMatch(/more than 10000 values/);
  });

  it('ignores brackets and commas inside strings, escaped quotes included', () => {
    expect(jsonShapeProblem(`{"a":"${'[,'.repeat(20_000)}"}`)).toBeUndefined();
    expect(jsonShapeProblem(String.raw`{"a":"\"[[[[","b":"\\"}`)).toBeUndefined();
    // The string holds one escaped backslash and ends there: what follows is structure again.
    expect(jsonShapeProblem(String.raw`{"a":"\\",  "b":${'['.repeat(40)}${']'.repeat(40)}}`)).toMatch(
      /nested/,
    );
  });
});
