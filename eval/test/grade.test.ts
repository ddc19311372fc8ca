import { describe, expect, it } from 'vitest';
import { isRight, type NumberCheck, shows } from '../src/grade.js';

const check = (text: string, status: NumberCheck['status'] = 'verified'): NumberCheck => ({
  text,
  start: 0,
  end: text.length,
  status,
});

describe('shows', () => {
  it('reads thousands separators, signs, currency and percent signs', () => {
    expect(shows('1,110,904.71', 1110904.71)).toBe(true);
    expect(shows('$222.18', 222.18)).toBe(true);
    expect(shows('29.2%', 29.2)).toBe(true);
    expect(shows('−38,468.55', -38468.55)).toBe(true);
    expect(shows('5 000', 5000)).toBe(false);
  });

  it('compares at the fewer decimals of the two, rounding half away from zero', () => {
    expect(shows('222.2', 222.18)).toBe(true);
    expect(shows('222.1', 222.18)).toBe(false);
    // More precise than the rounded answer is still right; a different value at that precision is not.
    expect(shows('12.345', 12.35)).toBe(true);
    expect(shows('12.344', 12.35)).toBe(false);
    expect(shows('324,855.00', 324855)).toBe(true);
    expect(shows('-2.5', -3)).toBe(true);
  });

  it('tells different numbers apart', () => {
    expect(shows('5,001', 5000)).toBe(false);
    expect(shows('1,288', 1870)).toBe(false);
    expect(shows('none', 0)).toBe(false);
  });
});

describe('isRight', () => {
  it('needs every expected number, each verified', () => {
    expect(isRight(172, [check('10', 'verified'), check('172', 'verified')])).toBe(true);
    expect(isRight(172, [check('172', 'unverified')])).toBe(false);
    expect(isRight([126, 2031], [check('126'), check('2,031')])).toBe(true);
    expect(isRight([126, 2031], [check('126'), check('2,031', 'unverified')])).toBe(false);
    expect(isRight(5000, [])).toBe(false);
  });
});
