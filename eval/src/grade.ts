import type { Message } from '@leonidas/client';

export type NumberCheck = NonNullable<Message['numbers']>[number];

/**
 * A reply is right when every expected number appears in it as a number the server checked and `verified`
 * (found in the run's tool results): a number the model made up does not count, even if it happens to be right.
 */
export function isRight(expected: number | number[], numbers: NumberCheck[]): boolean {
  const verified = numbers.filter((number) => number.status === 'verified');
  return [expected].flat().every((value) => verified.some((number) => shows(number.text, value)));
}

/**
 * Whether a number as the reply wrote it (`1,110,904.71`, `$222.18`, `29.2%`) is `expected` the way a reader
 * would take it: both rounded to the fewer of their decimals agree. So `222.2` and `222.18` stand for 222.18,
 * and `12.345` for an answer of 12.35 (a reply may be more precise than asked).
 */
export function shows(text: string, expected: number): boolean {
  const written = decimalOf(text.replace(/\u2212/g, '-').match(WRITTEN_NUMBER)?.[0]);
  const answer = decimalOf(String(expected));
  if (!written || !answer) return false;
  const decimals = Math.min(written.decimals, answer.decimals);
  return roundTo(written, decimals) === roundTo(answer, decimals);
}

/** Digits with optional thousands separators (comma, no-break or thin space) and decimals. */
const WRITTEN_NUMBER = /-?\d{1,3}(?:[,\u00a0\u202f]\d{3})+(?:\.\d+)?|-?\d+(?:\.\d+)?/;

/** A decimal as an integer count of its last place, so rounding is exact. */
interface Decimal {
  units: number;
  decimals: number;
}

function decimalOf(text: string | undefined): Decimal | undefined {
  const match = text?.replace(/[,\u00a0\u202f]/g, '').match(/^(-?)(\d+)(?:\.(\d+))?$/);
  if (!match) return undefined;
  const [, sign, whole, fraction = ''] = match;
  return { units: Number(`${sign}${whole}${fraction}`), decimals: fraction.length };
}

/** Half away from zero, as people round. */
function roundTo(value: Decimal, decimals: number): number {
  const scaled = Math.abs(value.units) / 10 ** (value.decimals - decimals);
  return Math.sign(value.units) * Math.round(scaled);
}
