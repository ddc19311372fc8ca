/**
 * What a CSV value can be read as, told from its bytes alone: the evidence that lets a large file skip DuckDB's
 * whole-file type detection (`profile.ts`). Each shape is a strict form, a subset of what DuckDB's detection
 * accepts for its type: a value outside it only means "not sure", never "not that type". An empty value (NULL)
 * fits every shape.
 */
export const Shape = {
  /** `0`, or up to 18 digits with no leading zero, optionally negative: always a BIGINT. */
  Integer: 1,
  /** An integer part of up to 15 digits (no leading zero, not `-0`), optionally negative, and an optional fraction. */
  Double: 2,
  /** `true` or `false`. */
  Boolean: 4,
  /** An ISO date `YYYY-MM-DD` of a year from 1000 to 9999 that exists in the calendar. */
  Date: 8,
} as const;
export const ANY_SHAPE = Shape.Integer | Shape.Double | Shape.Boolean | Shape.Date;

/** Numeric values longer than this are never given a shape (the forms above are shorter). */
const MAX_SHAPED_BYTES = 40;

const ZERO = 0x30;
const NINE = 0x39;
const MINUS = 0x2d;
const DOT = 0x2e;
const TRUE = Uint8Array.of(0x74, 0x72, 0x75, 0x65);
const FALSE = Uint8Array.of(0x66, 0x61, 0x6c, 0x73, 0x65);

/** The shapes of the value in `bytes[start, end)`, as bits of `Shape`. */
export function shapeOf(bytes: Uint8Array, start: number, end: number): number {
  const length = end - start;
  if (length === 0) return ANY_SHAPE;
  if (length > MAX_SHAPED_BYTES) return 0;
  const first = bytes[start];
  if (first === TRUE[0]) return matches(bytes, start, end, TRUE) ? Shape.Boolean : 0;
  if (first === FALSE[0]) return matches(bytes, start, end, FALSE) ? Shape.Boolean : 0;
  if (length === 10 && bytes[start + 4] === MINUS) return isIsoDate(bytes, start) ? Shape.Date : 0;

  const negative = first === MINUS;
  const digitsStart = negative ? start + 1 : start;
  let i = digitsStart;
  while (i < end && (bytes[i] as number) >= ZERO && (bytes[i] as number) <= NINE) i++;
  const digits = i - digitsStart;
  const leadingZero = bytes[digitsStart] === ZERO;
  // No digits, or a leading zero (`007`, which DuckDB may keep as text).
  if (digits === 0 || (leadingZero && digits > 1)) return 0;
  if (i === end) {
    if (negative && leadingZero) return 0; // `-0`
    return (digits <= 18 ? Shape.Integer : 0) | (digits <= 15 ? Shape.Double : 0);
  }
  if (bytes[i] !== DOT || digits > 15) return 0;
  const fractionStart = ++i;
  while (i < end && (bytes[i] as number) >= ZERO && (bytes[i] as number) <= NINE) i++;
  return i === end && i > fractionStart ? Shape.Double : 0;
}

/**
 * Whether values of these shapes, all of them, are sure to be read as `duckDbType` by DuckDB's detection. Any
 * type without a shape here (TIMESTAMP, TIME, ...) is never confirmed; VARCHAR always is, since more values can
 * only make a column less specific, never more.
 */
export function confirmsType(duckDbType: string, shapes: number, dateFormat: string | null): boolean {
  switch (duckDbType) {
    case 'VARCHAR':
      return true;
    case 'BIGINT':
      return (shapes & Shape.Integer) !== 0;
    case 'DOUBLE':
      return (shapes & Shape.Double) !== 0;
    case 'BOOLEAN':
      return (shapes & Shape.Boolean) !== 0;
    case 'DATE':
      return (shapes & Shape.Date) !== 0 && dateFormat === '%Y-%m-%d';
    default:
      return false;
  }
}

function matches(bytes: Uint8Array, start: number, end: number, word: Uint8Array): boolean {
  if (end - start !== word.length) return false;
  for (let i = 0; i < word.length; i++) if (bytes[start + i] !== word[i]) return false;
  return true;
}

/** Days in each month of a common year. */
const MONTH_DAYS = Uint8Array.of(31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31);

/** The digits of `bytes[from, from + count)` as a number, or -1 if any is not a digit. */
function digitsValue(bytes: Uint8Array, from: number, count: number): number {
  let value = 0;
  for (let i = from; i < from + count; i++) {
    const digit = (bytes[i] as number) - ZERO;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value;
}

function isIsoDate(bytes: Uint8Array, start: number): boolean {
  if (bytes[start + 7] !== MINUS) return false;
  const year = digitsValue(bytes, start, 4);
  const month = digitsValue(bytes, start + 5, 2);
  const day = digitsValue(bytes, start + 8, 2);
  if (year < 1000 || month < 1 || month > 12 || day < 1) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return day <= (MONTH_DAYS[month - 1] as number) + (leap && month === 2 ? 1 : 0);
}
