import type { NumberCheck } from './schema.js';

/**
 * Where a reply's numbers may come from: a tool call's output as data (`value`: any JSON, whose numbers and
 * wholly numeric strings count, since 64-bit integers arrive as strings), or prose (`text`: the user's message, a
 * message a tool wrote), whose numbers count as written.
 */
export type NumberSource = { callId?: string } & ({ value: unknown } | { text: string });

/**
 * Checks every number written in `content` outside code, except list markers, dates and times, and digits
 * inside words, identifiers and links, against the values of `sources` (design.md, "Number checks"): every
 * number in a tool's JSON output (and every string there that is entirely a number), and every number written
 * in the user's message. A number is verified when a value rounded to the last digit it shows equals it;
 * `callId` names the first source, in order, by which it is verified.
 *
 * `text` is what a reader takes as the number: its sign and currency symbol, its digits and separators, and the
 * `%`, "percent", scale suffix or word ("1.2k", "2 million") or ordinal suffix that changes what it means;
 * not units ("5 kg", "3x"), nor "±" or "~" around it.
 *
 * Rules where a reply's text is ambiguous:
 * - Rounding: at exactly half, both neighbours are right (1234.5 is "1234" or "1235"); past half, only the
 *   nearer. Rounding must keep the source's leading digit: only zero is "0", and 0.67 is not "1".
 * - A number written without a sign matches a source by magnitude: prose gives the direction in words ("fell
 *   by 5" for -5, "a loss of $3M"), and a reader checks the figure. A written sign must agree: "-5" needs a
 *   negative source, "+5" one that is not negative.
 * - Grouping separators are a comma, an apostrophe, a no-break, thin or narrow no-break space, each followed
 *   by exactly three digits, the same one all along ("1,234,567", "1 234"); never a plain space, which
 *   separates numbers in prose ("rows 1 234"). "1,2,3" is three numbers; a decimal comma is not supported.
 * - A percentage (or percentage points, "pp") matches the source as a ratio (`45%` is 0.45) or as written
 *   (45). A scaled number ("1.2k", "3.4M", "7bn", "2 million") matches only at its scale. A lowercase "m"
 *   means million only after a currency symbol ("$5m"): otherwise it is a unit (minutes, metres).
 * - A fraction "a/b" matches its quotient to two significant digits, as a ratio or a percentage, or both its
 *   terms ("3/4 checks passed" as 3 of 4). A range ("10-20") is two numbers, the second lending its unit to
 *   the first ("5–10%"); scientific notation shows its precision in its mantissa (`2.5e-3`).
 * - A plain four-digit integer from 1900 to 2100 is a year, hence a date, and not checked.
 */
export function checkNumbers(content: string, sources: NumberSource[]): NumberCheck[] {
  const known = new KnownValues(sources);
  return findWrittenNumbers(content, codeSpans(content)).map((written) => {
    const { start, end } = written;
    const text = content.slice(start, end);
    const sourceIndex = known.firstSourceOf(written);
    if (sourceIndex === undefined) return { text, start, end, status: 'unverified' };
    const callId = sources[sourceIndex]?.callId;
    return callId === undefined
      ? { text, start, end, status: 'verified' }
      : { text, start, end, status: 'verified', callId };
  });
}

/**
 * Neither a source nor a reply has a reason to write more significant digits than this (DuckDB's widest
 * types hold 39, a JSON number 17); longer ones are not compared, which keeps every comparison short.
 */
const MAX_SIGNIFICANT_DIGITS = 100;

interface Span {
  start: number;
  end: number;
}

type Sign = '' | '-' | '+';

/** A number as written in text. */
interface WrittenNumber extends Span {
  sign: Sign;
  /**
   * The value without its sign is `digits` × 10^`exponent` (scale and decimals folded in), and the last digit
   * shown is worth 10^`exponent`: how precisely a source must agree.
   */
  digits: string;
  exponent: number;
  /** `percent` also matches a ratio (0.45 for 45%), `fraction` also a percentage, and both terms. */
  form: 'plain' | 'percent' | 'fraction';
  /** A fraction's numerator and denominator. */
  terms?: [string, string];
}

// ---------------------------------------------------------------------------------------------------------
// Code: what Markdown shows as code is not prose, and its numbers are not claims.

/**
 * The fenced code blocks (``` or ~~~, indented or quoted, unclosed ones running to the end: a streamed reply
 * may stop inside one) and the inline code spans of `text`, in order.
 */
function codeSpans(text: string): Span[] {
  const spans: Span[] = [];
  let fence: { marker: string; length: number; start: number } | undefined;
  // Inline code spans live within a paragraph: they end at a blank line and at a fence.
  let paragraphStart = 0;
  let lineStart = 0;
  for (;;) {
    const newline = text.indexOf('\n', lineStart);
    const lineEnd = newline === -1 ? text.length : newline;
    const run = fenceRun(text, lineStart, lineEnd);
    if (fence) {
      if (
        run &&
        run.marker === fence.marker &&
        run.length >= fence.length &&
        isBlank(text, run.end, lineEnd)
      ) {
        spans.push({ start: fence.start, end: lineEnd });
        fence = undefined;
        paragraphStart = lineEnd;
      }
    } else if (run && (run.marker === '~' || !includesBetween(text, '`', run.end, lineEnd))) {
      inlineCodeSpans(text, paragraphStart, lineStart, spans);
      fence = { marker: run.marker, length: run.length, start: lineStart };
    } else if (isBlank(text, lineStart, lineEnd)) {
      inlineCodeSpans(text, paragraphStart, lineStart, spans);
      paragraphStart = lineEnd;
    }
    if (newline === -1) break;
    lineStart = newline + 1;
  }
  if (fence) spans.push({ start: fence.start, end: text.length });
  else inlineCodeSpans(text, paragraphStart, text.length, spans);
  return spans;
}

/** The run of three or more backticks or tildes opening the line, after indentation and quote markers. */
function fenceRun(text: string, lineStart: number, lineEnd: number) {
  let i = lineStart;
  while (i < lineEnd && (text[i] === ' ' || text[i] === '\t' || text[i] === '>')) i++;
  const marker = text[i];
  if (marker !== '`' && marker !== '~') return undefined;
  let end = i;
  while (end < lineEnd && text[end] === marker) end++;
  return end - i >= 3 ? { marker, length: end - i, end } : undefined;
}

/** A backtick fence's info string cannot hold a backtick (that line is inline code instead). */
function includesBetween(text: string, char: string, start: number, end: number) {
  for (let i = start; i < end; i++) if (text[i] === char) return true;
  return false;
}

function isBlank(text: string, start: number, end: number) {
  for (let i = start; i < end; i++) if (!/\s/.test(text[i] ?? '')) return false;
  return true;
}

/**
 * CommonMark's code spans in `text[start, end)`: a run of backticks opens one that the next run of the same
 * length closes; an opener without a closer is literal text, and so is a backtick escaped by a backslash
 * (inside a span backslashes escape nothing, so a closer cannot be escaped). Linear: each length keeps a cursor
 * into its runs, which only moves forward.
 */
function inlineCodeSpans(text: string, start: number, end: number, spans: Span[]) {
  const runs: Span[] = [];
  for (let i = start; i < end; ) {
    if (text[i] !== '`') {
      i++;
      continue;
    }
    let runEnd = i;
    while (runEnd < end && text[runEnd] === '`') runEnd++;
    runs.push({ start: i, end: runEnd });
    i = runEnd;
  }
  const runsByLength = new Map<number, number[]>();
  for (const [index, run] of runs.entries()) {
    const length = run.end - run.start;
    const sameLength = runsByLength.get(length);
    if (sameLength) sameLength.push(index);
    else runsByLength.set(length, [index]);
  }
  const cursors = new Map<number, number>();
  for (let r = 0; r < runs.length; ) {
    const run = runs[r]!;
    const openStart = isEscaped(text, run.start, start) ? run.start + 1 : run.start;
    const length = run.end - openStart;
    const candidates = runsByLength.get(length) ?? [];
    let cursor = cursors.get(length) ?? 0;
    while (cursor < candidates.length && candidates[cursor]! <= r) cursor++;
    cursors.set(length, cursor);
    const closer = length > 0 ? candidates[cursor] : undefined;
    if (closer === undefined) {
      r++;
      continue;
    }
    spans.push({ start: openStart, end: runs[closer]!.end });
    r = closer + 1;
  }
}

/** Whether an odd number of backslashes (not before `floor`) precedes `i`. */
function isEscaped(text: string, i: number, floor: number) {
  let backslashes = 0;
  while (i - backslashes - 1 >= floor && text[i - backslashes - 1] === '\\') backslashes++;
  return backslashes % 2 === 1;
}

// ---------------------------------------------------------------------------------------------------------
// Finding numbers: one pass, each character looked at a bounded number of times (lookbehinds and lookaheads
// are a few characters long, or stop at the previous number), no regular expression over more than a character.

const WORD_CHAR = /[\p{L}\p{M}\p{N}_]/u;
const isWordChar = (char: string | undefined) => char !== undefined && WORD_CHAR.test(char);
const isDigit = (char: string | undefined) => char !== undefined && char >= '0' && char <= '9';
const isAsciiLetter = (char: string | undefined) =>
  char !== undefined && ((char >= 'a' && char <= 'z') || (char >= 'A' && char <= 'Z'));

const SIGNS = new Map<string, Sign>([
  ['-', '-'],
  ['\u2212', '-'],
  ['+', '+'],
]);
const CURRENCY_SYMBOLS = new Set(['$', '€', '£', '¥', '₹']);
/** What may stand between a number and its `%` or word; a plain space or the no-break and thin ones. */
const SPACES = new Set([' ', '\u00a0', '\u2009', '\u202f']);
const GROUP_SEPARATORS = new Set([',', "'", '\u2019', '\u00a0', '\u2009', '\u202f']);
/** Characters that join words into one identifier: `COVID-19`, `v1.2`, `km/h`, `UTC+2`. */
const IDENTIFIER_JOINERS = new Set(['.', '-', '/', '+']);
const SCALE_SUFFIXES = new Map([
  ['k', 3],
  ['K', 3],
  ['M', 6],
  ['MM', 6],
  ['mn', 6],
  ['Mn', 6],
  ['B', 9],
  ['bn', 9],
  ['Bn', 9],
  ['T', 12],
  ['tn', 12],
]);
const SCALE_WORDS = new Map([
  ['thousand', 3],
  ['million', 6],
  ['billion', 9],
  ['trillion', 12],
]);
const ORDINAL_SUFFIXES = new Set(['st', 'nd', 'rd', 'th']);
// biome-ignore format: a list of words reads best filled to the line width
const MONTHS = new Set([
  'january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november',
  'december', 'jan', 'feb', 'mar', 'apr', 'jun', 'jul', 'aug', 'sep', 'sept', 'oct', 'nov', 'dec',
]);

function findWrittenNumbers(text: string, code: readonly Span[]): WrittenNumber[] {
  const scanner = new NumberScanner(text);
  let codeIndex = 0;
  for (let i = 0; i < text.length; ) {
    const span = code[codeIndex];
    if (span && i >= span.start) {
      i = Math.max(i, span.end);
      codeIndex++;
    } else {
      i = scanner.step(i);
    }
  }
  return scanner.found;
}

class NumberScanner {
  readonly found: WrittenNumber[] = [];
  /** The last number, while a range could still lend it the unit of its end ("5–10%", "1-2 million"). */
  private rangeStart: WrittenNumber | undefined;

  constructor(private readonly text: string) {}

  /** Reads what starts at `i` and returns where to go on. */
  step(i: number): number {
    const { text } = this;
    const char = text[i];
    if (isDigit(char) || (char === '.' && isDigit(text[i + 1]) && !isWordChar(text[i - 1]))) {
      return this.readNumber(i);
    }
    // An underscore before digits opens emphasis (`_45%_`); `_2024_q1` turns out an identifier once read.
    if (char === '_' && isDigit(text[i + 1]) && !isWordChar(text[i - 1])) return i + 1;
    if (isWordChar(char)) return urlEnd(text, i) ?? identifierEnd(text, i);
    return i + 1;
  }

  private readNumber(i: number): number {
    const { text } = this;
    if (isDigit(text[i])) {
      const markerEnd = listMarkerEnd(text, i);
      if (markerEnd !== undefined) return markerEnd;
      const dateEnd = dateOrTimeEnd(text, i);
      if (dateEnd !== undefined) return this.skip(dateEnd);
    }
    const body = readDigits(text, i);
    // A dotted run (1.2.3, 192.168.0.1) is a version or an address; digits joined by an underscore an identifier.
    const after = body.end;
    if (
      (text[after] === '.' && isDigit(text[after + 1])) ||
      (text[after] === '_' && isWordChar(text[after + 1]))
    ) {
      return identifierEnd(text, after);
    }
    const prefix = readPrefix(text, i);
    const suffix = readSuffix(text, body, prefix.currency);
    if (suffix === 'identifier') return identifierEnd(text, after);

    const plain =
      prefix.sign === '' && !prefix.currency && body.isInteger && !suffix.percent && suffix.scale === 0;
    const fraction =
      plain && !suffix.ordinal && suffix.unit === undefined ? readFraction(text, body) : undefined;
    if (fraction) return this.add({ start: prefix.start, sign: '', ...fraction }, false);
    if (plain && isDatePart(text, i, body, suffix)) return this.skip(suffix.resume);

    const hasUnit = suffix.percent || suffix.scale !== 0 || suffix.ordinal;
    if (hasUnit) this.lendUnitToRangeStart(prefix.start, suffix);
    return this.add(
      {
        start: prefix.start,
        end: suffix.textEnd,
        sign: prefix.sign,
        digits: body.digits,
        exponent: body.exponent + suffix.scale,
        form: suffix.percent ? 'percent' : 'plain',
      },
      !hasUnit && suffix.unit === undefined,
      suffix.resume,
    );
  }

  private add(written: WrittenNumber, mayStartRange: boolean, resume = written.end): number {
    this.found.push(written);
    this.rangeStart = mayStartRange ? written : undefined;
    return resume;
  }

  private skip(end: number): number {
    this.rangeStart = undefined;
    return end;
  }

  /** "5–10%" is 5% to 10%, "1-2 million" 1 million to 2 million. */
  private lendUnitToRangeStart(start: number, suffix: Suffix) {
    const rangeStart = this.rangeStart;
    const dash = this.text[start - 1];
    if (!rangeStart || rangeStart.end !== start - 1 || (dash !== '-' && dash !== '–')) return;
    rangeStart.exponent += suffix.scale;
    if (suffix.percent) rangeStart.form = 'percent';
  }
}

/**
 * A day next to a month name ("1 March", "March 1st", "5th of May"), or a year: a four-digit integer from 1900
 * to 2100, "s" allowed ("1990s"). Other years ("March 1850") are checked: read as years, "March 5000 units"
 * would hide a number.
 */
function isDatePart(text: string, i: number, body: Digits, suffix: Suffix): boolean {
  const length = body.end - i;
  const value = Number(body.digits);
  if (length <= 2 && value >= 1 && value <= 31) {
    return followedByMonth(text, suffix.textEnd) || precededByMonth(text, i);
  }
  const isYear = length === 4 && value >= 1900 && value <= 2100 && !suffix.ordinal;
  return isYear && (suffix.unit === undefined || suffix.unit === 's');
}

interface Digits {
  /** All digits shown, without separators; the value is `digits` × 10^`exponent`. */
  digits: string;
  exponent: number;
  /** No separators, decimals or exponent: what could be a year, a day or a fraction's term. */
  isInteger: boolean;
  end: number;
}

/** The digits at `i` with their separators, decimals and exponent: `1,234.50`, `.5`, `2.5e-3`. */
function readDigits(text: string, i: number): Digits {
  const integerEnd = digitRunEnd(text, i);
  const parts = [text.slice(i, integerEnd)];
  let end = integerEnd;
  const separator = text[end];
  if (integerEnd - i <= 3 && separator !== undefined && GROUP_SEPARATORS.has(separator)) {
    while (text[end] === separator && isDigitGroup(text, end + 1)) {
      parts.push(text.slice(end + 1, end + 4));
      end += 4;
    }
  }
  let decimals = 0;
  if (text[end] === '.' && isDigit(text[end + 1])) {
    const fractionEnd = digitRunEnd(text, end + 1);
    parts.push(text.slice(end + 1, fractionEnd));
    decimals = fractionEnd - end - 1;
    end = fractionEnd;
  }
  const scientific = scientificExponent(text, end);
  const isInteger = end === integerEnd && scientific === undefined;
  return {
    digits: parts.join(''),
    exponent: (scientific?.exponent ?? 0) - decimals,
    isInteger,
    end: scientific?.end ?? end,
  };
}

/** Exactly three digits at `i`, the next group of `1,234`. */
const isDigitGroup = (text: string, i: number) =>
  isDigit(text[i]) && isDigit(text[i + 1]) && isDigit(text[i + 2]) && !isDigit(text[i + 3]);

/** `e6`, `E+5`, `e-3` after a number, not followed by more of a word (`1e6x` is an identifier). */
function scientificExponent(text: string, i: number) {
  if (text[i] !== 'e' && text[i] !== 'E') return undefined;
  const sign = SIGNS.get(text[i + 1] ?? '');
  const digitsStart = sign ? i + 2 : i + 1;
  const digitsEnd = digitRunEnd(text, digitsStart);
  // Longer exponents are not numbers anyone writes, and would not stay exact as JavaScript numbers.
  if (digitsEnd === digitsStart || digitsEnd - digitsStart > 15 || isWordChar(text[digitsEnd]))
    return undefined;
  const magnitude = Number(text.slice(digitsStart, digitsEnd));
  return { exponent: sign === '-' ? -magnitude : magnitude, end: digitsEnd };
}

function digitRunEnd(text: string, i: number) {
  let end = i;
  while (isDigit(text[end])) end++;
  return end;
}

/** The sign and currency symbol written right before the number, in either order: `-$5`, `$-5`, `−€12`. */
function readPrefix(text: string, i: number) {
  let start = i;
  let currency = false;
  let sign: Sign = '';
  if (CURRENCY_SYMBOLS.has(text[start - 1] ?? '')) {
    currency = true;
    start--;
  }
  const written = SIGNS.get(text[start - 1] ?? '');
  // After a word or a number a dash joins ("COVID-19", "10-20"): it is not a sign.
  if (written && !isWordChar(text[start - 2])) {
    sign = written;
    start--;
    if (!currency && CURRENCY_SYMBOLS.has(text[start - 1] ?? '')) {
      currency = true;
      start--;
    }
  }
  return { start, sign, currency };
}

interface Suffix {
  /** Where the number's text ends: after `%`, a scale or an ordinal suffix, before a unit. */
  textEnd: number;
  /** Where reading goes on: after a unit too. */
  resume: number;
  percent: boolean;
  /** The power of ten a scale suffix or word multiplies by. */
  scale: number;
  ordinal: boolean;
  /** Letters joined to the number that do not change its value (`kg`, `x`, `s` of "1990s"). */
  unit: string | undefined;
}

function readSuffix(text: string, body: Digits, currency: boolean): Suffix | 'identifier' {
  const i = body.end;
  let lettersEnd = i;
  while (isWordChar(text[lettersEnd]) && !isDigit(text[lettersEnd]) && text[lettersEnd] !== '_') lettersEnd++;
  if (lettersEnd > i) {
    const letters = text.slice(i, lettersEnd);
    // Letters then more digits (`2024Q1`, `1a2b`) are an identifier, and so is hexadecimal (`0xff`).
    if (isWordChar(text[lettersEnd]) || (body.digits === '0' && body.isInteger && /^[xX]/.test(letters))) {
      return 'identifier';
    }
    const scale = SCALE_SUFFIXES.get(letters) ?? (letters === 'm' && currency ? 6 : undefined);
    if (scale !== undefined) return suffix(lettersEnd, { scale });
    if (letters === 'pp') return suffix(lettersEnd, { percent: true });
    if (ORDINAL_SUFFIXES.has(letters) && body.isInteger) return suffix(lettersEnd, { ordinal: true });
    return suffix(i, { unit: letters }, lettersEnd);
  }
  if (text[i] === '%') return suffix(i + 1, { percent: true });
  if (!SPACES.has(text[i] ?? '')) return suffix(i);
  if (text[i + 1] === '%') return suffix(i + 2, { percent: true });
  const word = wordAt(text, i + 1);
  if (!word) return suffix(i);
  const percentEnd = percentWordsEnd(text, word);
  if (percentEnd !== undefined) return suffix(percentEnd, { percent: true });
  const scale = SCALE_WORDS.get(word.word.toLowerCase());
  return scale === undefined ? suffix(i) : suffix(word.end, { scale });
}

const suffix = (
  textEnd: number,
  meaning: { percent?: boolean; scale?: number; ordinal?: boolean; unit?: string } = {},
  resume = textEnd,
): Suffix => ({
  textEnd,
  resume,
  percent: meaning.percent ?? false,
  scale: meaning.scale ?? 0,
  ordinal: meaning.ordinal ?? false,
  unit: meaning.unit,
});

/** Where "percent", "per cent", "percentage point(s)" or "pp" starting with `word` ends. */
function percentWordsEnd(text: string, word: Word): number | undefined {
  const lower = word.word.toLowerCase();
  if (lower === 'percent' || lower === 'pp') return word.end;
  if (text[word.end] !== ' ') return undefined;
  const next = wordAt(text, word.end + 1);
  const nextLower = next?.word.toLowerCase();
  if (lower === 'per' && nextLower === 'cent') return next?.end;
  if (lower === 'percentage' && (nextLower === 'point' || nextLower === 'points')) return next?.end;
  return undefined;
}

interface Word {
  word: string;
  end: number;
}

/** The short ASCII word at `i` (no longer than any word looked for), if it ends there. */
function wordAt(text: string, i: number): Word | undefined {
  let end = i;
  while (end - i <= 12 && isAsciiLetter(text[end])) end++;
  if (end === i || isWordChar(text[end])) return undefined;
  return { word: text.slice(i, end), end };
}

const isMonthName = (word: string) =>
  word.length >= 3 &&
  isAsciiLetter(word[0]) &&
  word[0] === word[0]?.toUpperCase() &&
  MONTHS.has(word.toLowerCase());

/** " March", " of March" at `i`. */
function followedByMonth(text: string, i: number) {
  if (!SPACES.has(text[i] ?? '')) return false;
  let word = wordAt(text, i + 1);
  if (word?.word === 'of' && text[word.end] === ' ') word = wordAt(text, word.end + 1);
  return word !== undefined && isMonthName(word.word);
}

/** "March ", "Mar. " right before `i`. */
function precededByMonth(text: string, i: number) {
  let end = i - 1;
  if (!SPACES.has(text[end] ?? '')) return false;
  if (text[end - 1] === '.') end--;
  let start = end;
  while (start > end - 10 && isAsciiLetter(text[start - 1])) start--;
  return !isWordChar(text[start - 1]) && isMonthName(text.slice(start, end));
}

/**
 * `a/b` after the integer `body`, both short integers and `b` not zero, and not part of a path or a date (those
 * were read before). Its value is the quotient to two significant digits: the precision a reader gives "1/3".
 */
function readFraction(text: string, body: Digits) {
  if (text[body.end] !== '/' || !isDigit(text[body.end + 1])) return undefined;
  const denominatorEnd = digitRunEnd(text, body.end + 1);
  const denominator = text.slice(body.end + 1, denominatorEnd);
  const continues =
    isWordChar(text[denominatorEnd]) ||
    ((text[denominatorEnd] === '.' || text[denominatorEnd] === '/') && isDigit(text[denominatorEnd + 1]));
  if (continues || body.digits.length > 6 || denominator.length > 6 || Number(denominator) === 0)
    return undefined;
  const { digits, exponent } = quotientToTwoDigits(Number(body.digits), Number(denominator));
  return {
    end: denominatorEnd,
    digits,
    exponent,
    form: 'fraction' as const,
    terms: [body.digits, denominator] as [string, string],
  };
}

/** `numerator / denominator` rounded half-up to two significant digits, as `digits` × 10^`exponent`. */
function quotientToTwoDigits(numerator: number, denominator: number) {
  if (numerator === 0) return { digits: '0', exponent: -2 };
  // numerator × 10^shift / denominator as a ratio of integers; with terms of at most six digits and shifts of at
  // most eight, both stay integers below 2^53 and every operation below is exact.
  const shifted = (shift: number) =>
    shift >= 0
      ? { top: numerator * 10 ** shift, bottom: denominator }
      : { top: numerator, bottom: denominator * 10 ** -shift };
  const isBelow = (shift: number, limit: number) => {
    const { top, bottom } = shifted(shift);
    return top < limit * bottom;
  };
  // From an estimate one or two powers off, to the shift that puts the quotient in [10, 100).
  let shift = String(denominator).length - String(numerator).length + 1;
  while (isBelow(shift, 10)) shift++;
  while (!isBelow(shift, 100)) shift--;
  const { top, bottom } = shifted(shift);
  const rounded = Math.floor((2 * top + bottom) / (2 * bottom));
  // 99.5 rounds to 100: one digit fewer at the next power.
  return rounded === 100
    ? { digits: '10', exponent: 1 - shift }
    : { digits: String(rounded), exponent: -shift };
}

/**
 * Where a Markdown ordered-list marker (`1.`, `2)`, after indentation or `>`) starting at `i` ends; a heading's
 * section number (`## 2. Results`) is one too.
 */
function listMarkerEnd(text: string, i: number): number | undefined {
  let before = i - 1;
  while (before >= 0 && ' \t>#'.includes(text[before] ?? '')) before--;
  if (before >= 0 && text[before] !== '\n') return undefined;
  const digitsEnd = digitRunEnd(text, i);
  const marker = text[digitsEnd];
  const after = text[digitsEnd + 1];
  if (digitsEnd - i > 9 || (marker !== '.' && marker !== ')')) return undefined;
  if (after !== undefined && after !== ' ' && after !== '\t' && after !== '\n' && after !== '\r')
    return undefined;
  return digitsEnd + 1;
}

/**
 * Where a date or time starting at `i` ends: 2024-03-01 (with a time: ISO datetimes), 01-03-2024, 2024-03,
 * 2023/24 and 2023–24 (fiscal years), 10:30, 10:30:15.5, 10am, 3 pm. Three numbers joined by `/` or `.` are a
 * date (01/03/2024, 01.03.2024), a version or an address, never a claim: skipped whole.
 */
function dateOrTimeEnd(text: string, i: number): number | undefined {
  const firstEnd = digitRunEnd(text, i);
  const first = firstEnd - i;
  const separator = text[firstEnd];
  if (separator === ':') return timeEnd(text, i);
  if (
    (separator === '-' || separator === '/' || separator === '.' || separator === '–') &&
    isDigit(text[firstEnd + 1])
  ) {
    const secondEnd = digitRunEnd(text, firstEnd + 1);
    const second = secondEnd - firstEnd - 1;
    if (text[secondEnd] === separator && isDigit(text[secondEnd + 1])) {
      if (separator === '/' || separator === '.') return identifierEnd(text, i);
      const thirdEnd = digitRunEnd(text, secondEnd + 1);
      const third = thirdEnd - secondEnd - 1;
      const isDate =
        (first === 4 && second <= 2 && third <= 2) ||
        (first <= 2 && second <= 2 && (third === 2 || third === 4));
      if (separator !== '-' || !isDate) return undefined;
      const timeStart = thirdEnd + 1;
      const withTime =
        (text[thirdEnd] === 'T' || text[thirdEnd] === ' ') && isDigit(text[timeStart])
          ? timeEnd(text, timeStart)
          : undefined;
      return withTime ?? thirdEnd;
    }
    const year = Number(text.slice(i, firstEnd));
    if (
      first === 4 &&
      year >= 1900 &&
      year <= 2100 &&
      second === 2 &&
      separator !== '.' &&
      !isWordChar(text[secondEnd])
    ) {
      return secondEnd;
    }
    return undefined;
  }
  const hour = Number(text.slice(i, firstEnd));
  if (first <= 2 && hour >= 1 && hour <= 12)
    return meridiemEnd(text, SPACES.has(separator ?? '') ? firstEnd + 1 : firstEnd);
  return undefined;
}

/** `10:30`, `10:30:15`, `10:30:15.250`, then `Z` or am/pm. */
function timeEnd(text: string, i: number): number | undefined {
  const hourEnd = digitRunEnd(text, i);
  if (hourEnd - i > 2 || text[hourEnd] !== ':') return undefined;
  const minuteEnd = digitRunEnd(text, hourEnd + 1);
  if (minuteEnd - hourEnd - 1 !== 2) return undefined;
  let end = minuteEnd;
  if (text[end] === ':' && isDigit(text[end + 1])) {
    const secondEnd = digitRunEnd(text, end + 1);
    if (secondEnd - end - 1 !== 2) return undefined;
    end = secondEnd;
    if (text[end] === '.' && isDigit(text[end + 1])) end = digitRunEnd(text, end + 1);
  }
  if (text[end] === 'Z') end++;
  end = meridiemEnd(text, SPACES.has(text[end] ?? '') ? end + 1 : end) ?? end;
  return isWordChar(text[end]) ? undefined : end;
}

/** `am`, `pm`, `a.m.`, `p.m.` (any case) at `i`. */
function meridiemEnd(text: string, i: number): number | undefined {
  const two = text.slice(i, i + 2).toLowerCase();
  if ((two === 'am' || two === 'pm') && !isWordChar(text[i + 2])) return i + 2;
  const four = text.slice(i, i + 4).toLowerCase();
  return four === 'a.m.' || four === 'p.m.' ? i + 4 : undefined;
}

/** The end of the identifier at `i`: word characters and the joiners between them (`sales_2024`, `v1.2.3`). */
function identifierEnd(text: string, i: number) {
  let end = i;
  while (isWordChar(text[end]) || (IDENTIFIER_JOINERS.has(text[end] ?? '') && isWordChar(text[end + 1])))
    end++;
  return end;
}

/** A link's numbers are its address, not claims: `https://…`, `www.…` up to a space or closing bracket. */
function urlEnd(text: string, i: number): number | undefined {
  const head = text.slice(i, i + 8).toLowerCase();
  if (!head.startsWith('http://') && !head.startsWith('https://') && !head.startsWith('www.'))
    return undefined;
  let end = i;
  while (end < text.length && !/[\s)\]>"'<`|]/.test(text[end] ?? '')) end++;
  return end;
}

// ---------------------------------------------------------------------------------------------------------
// Matching: every value of the sources, by magnitude in exact decimal, sorted; a written number matches the
// values in an interval (those that round to it), and the first source among them is a range-minimum query.

/**
 * A non-negative exact decimal 0.`digits` × 10^`point`, without leading or trailing zeros (zero has no
 * digits), so that equal values have one form whatever their notation, and comparing is comparing strings.
 */
interface Magnitude {
  digits: string;
  point: number;
}

const ZERO: Magnitude = { digits: '', point: 0 };

/** `digits` × 10^`exponent`, or undefined past the significant digits compared. */
function magnitudeOf(digits: string, exponent: number): Magnitude | undefined {
  let first = 0;
  while (digits[first] === '0') first++;
  if (first === digits.length) return ZERO;
  let last = digits.length;
  while (digits[last - 1] === '0') last--;
  if (last - first > MAX_SIGNIFICANT_DIGITS) return undefined;
  return { digits: digits.slice(first, last), point: digits.length - first + exponent };
}

function compareMagnitudes(a: Magnitude, b: Magnitude): number {
  if (a.digits === '' || b.digits === '') return (a.digits === '' ? 0 : 1) - (b.digits === '' ? 0 : 1);
  if (a.point !== b.point) return a.point - b.point;
  return a.digits < b.digits ? -1 : a.digits > b.digits ? 1 : 0;
}

interface KnownValue {
  magnitude: Magnitude;
  negative: boolean;
  source: number;
}

class KnownValues {
  private readonly all: SortedValues;
  private readonly negative: SortedValues;
  private readonly nonNegative: SortedValues;

  constructor(sources: NumberSource[]) {
    const values: KnownValue[] = [];
    for (const [source, from] of sources.entries()) {
      const add = (negative: boolean, digits: string, exponent: number) => {
        const magnitude = magnitudeOf(digits, exponent);
        if (magnitude) values.push({ magnitude, negative, source });
      };
      if ('text' in from) addWrittenValues(from.text, add);
      else addJsonValues(from.value, add);
    }
    // Stable: equal magnitudes stay in source order.
    values.sort((a, b) => compareMagnitudes(a.magnitude, b.magnitude));
    this.all = new SortedValues(values);
    this.negative = new SortedValues(values.filter((value) => value.negative));
    this.nonNegative = new SortedValues(values.filter((value) => !value.negative));
  }

  /** The first source by which `written` is verified, if any. */
  firstSourceOf(written: WrittenNumber): number | undefined {
    const values = written.sign === '-' ? this.negative : written.sign === '+' ? this.nonNegative : this.all;
    const exponents =
      written.form === 'percent'
        ? [written.exponent, written.exponent - 2]
        : written.form === 'fraction'
          ? [written.exponent, written.exponent + 2]
          : [written.exponent];
    let first: number | undefined;
    for (const exponent of exponents)
      first = earliest(first, values.firstRoundingTo(written.digits, exponent));
    if (written.terms) {
      // Both terms are needed: the number is verified once the later of their first sources has been read.
      const [numerator, denominator] = written.terms.map((term) => this.all.firstRoundingTo(term, 0));
      if (numerator !== undefined && denominator !== undefined)
        first = earliest(first, Math.max(numerator, denominator));
    }
    return first;
  }
}

const earliest = (a: number | undefined, b: number | undefined) =>
  a === undefined ? b : b === undefined ? a : Math.min(a, b);

/** The values of the numbers written in the user's message: a percentage as written and as a ratio. */
function addWrittenValues(text: string, add: (negative: boolean, digits: string, exponent: number) => void) {
  for (const written of findWrittenNumbers(text, [])) {
    if (written.terms) {
      for (const term of written.terms) add(false, term, 0);
      continue;
    }
    add(written.sign === '-', written.digits, written.exponent);
    if (written.form === 'percent') add(written.sign === '-', written.digits, written.exponent - 2);
  }
}

/**
 * Every number in a JSON value, and every string that is entirely a number (64-bit integers, decimals);
 * not keys, which name columns. Iterative, and each object once, whatever the depth or sharing.
 */
function addJsonValues(json: unknown, add: (negative: boolean, digits: string, exponent: number) => void) {
  const pending: unknown[] = [json];
  const seen = new Set<object>();
  while (pending.length > 0) {
    const value = pending.pop();
    const numeric =
      typeof value === 'string'
        ? parseNumber(value)
        : (typeof value === 'number' && Number.isFinite(value)) || typeof value === 'bigint'
          ? parseNumber(String(value))
          : undefined;
    if (numeric) add(numeric.negative, numeric.digits, numeric.exponent);
    if (typeof value !== 'object' || value === null || seen.has(value)) continue;
    seen.add(value);
    for (const item of Array.isArray(value) ? value : Object.values(value)) pending.push(item);
  }
}

/** A string that is entirely a number as JSON or JavaScript writes one: `-12.5`, `1e+21`, `.5`. */
function parseNumber(text: string) {
  const negative = text[0] === '-';
  const integerStart = negative || text[0] === '+' ? 1 : 0;
  const integerEnd = digitRunEnd(text, integerStart);
  const fractionEnd = text[integerEnd] === '.' ? digitRunEnd(text, integerEnd + 1) : integerEnd;
  const decimals = Math.max(0, fractionEnd - integerEnd - 1);
  if (integerEnd === integerStart && decimals === 0) return undefined;
  const scientific = scientificExponent(text, fractionEnd);
  if ((scientific?.end ?? fractionEnd) !== text.length) return undefined;
  const digits = text.slice(integerStart, integerEnd) + text.slice(integerEnd + 1, fractionEnd);
  return { negative, digits, exponent: (scientific?.exponent ?? 0) - decimals };
}

/** Values sorted by magnitude, with the first source among any run of them in constant time. */
class SortedValues {
  private readonly magnitudes: Magnitude[] = [];
  private readonly firstSource: RangeMinimum;

  /** `values` sorted by magnitude, each run of equal magnitudes in source order: the first of a run is kept. */
  constructor(values: KnownValue[]) {
    const sources: number[] = [];
    for (const value of values) {
      const last = this.magnitudes.at(-1);
      if (last && compareMagnitudes(last, value.magnitude) === 0) continue;
      this.magnitudes.push(value.magnitude);
      sources.push(value.source);
    }
    this.firstSource = new RangeMinimum(sources);
  }

  /** The first source with a value that rounds to `digits` × 10^`exponent` (see `roundingTo`). */
  firstRoundingTo(digits: string, exponent: number): number | undefined {
    const range = roundingTo(digits, exponent);
    if (!range) return undefined;
    const from = this.countBelow(range.low, false);
    const to = this.countBelow(range.high, range.includesHigh);
    return from < to ? this.firstSource.min(from, to) : undefined;
  }

  /** How many magnitudes are below `bound` (or equal to it, with `orEqual`): a binary search. */
  private countBelow(bound: Magnitude, orEqual: boolean): number {
    let low = 0;
    let high = this.magnitudes.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      const order = compareMagnitudes(this.magnitudes[middle]!, bound);
      if (order < 0 || (order === 0 && orEqual)) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}

/**
 * The magnitudes that round to `digits` × 10^`exponent` at that precision: those within half a unit of the
 * last digit shown. Exactly half a unit below rounds up to it (half-up); exactly half a unit above rounds down
 * to it only by half-even rounding, when its last digit is even.
 *
 * Rounding must keep the value's leading digit: 0.67 is not "1", 0.37 not "0", 960,000 not "1M", and only zero
 * is "0". Otherwise any ratio in a result would verify the small integers of prose ("Figure 1", "0 errors").
 */
function roundingTo(digits: string, exponent: number) {
  const significant = digits.replace(/^0+/, '');
  if (significant === '') return { low: ZERO, high: ZERO, includesHigh: true };
  const low =
    significant === '1'
      ? magnitudeOf('1', exponent)
      : magnitudeOf(`${decrement(significant)}5`, exponent - 1);
  const high = magnitudeOf(`${significant}5`, exponent - 1);
  const includesHigh = '02468'.includes(significant.at(-1) ?? '');
  return low && high ? { low, high, includesHigh } : undefined;
}

/** A positive integer's digits minus one (a leading zero is fine: magnitudes drop it). */
function decrement(digits: string): string {
  let i = digits.length - 1;
  while (digits[i] === '0') i--;
  return `${digits.slice(0, i)}${Number(digits[i]) - 1}${'9'.repeat(digits.length - 1 - i)}`;
}

/** The smallest of any run of `values` in constant time, after an n log n build (a sparse table). */
class RangeMinimum {
  /** `levels[k][i]` is the smallest of `values[i, i + 2^k)`. */
  private readonly levels: Int32Array[];

  constructor(values: number[]) {
    this.levels = [Int32Array.from(values)];
    for (let width = 2; width <= values.length; width *= 2) {
      const below = this.levels.at(-1)!;
      const level = new Int32Array(values.length - width + 1);
      for (let i = 0; i < level.length; i++) level[i] = Math.min(below[i]!, below[i + width / 2]!);
      this.levels.push(level);
    }
  }

  /** The smallest of `values[from, to)`; `from < to`. */
  min(from: number, to: number): number {
    const level = 31 - Math.clz32(to - from);
    const row = this.levels[level]!;
    return Math.min(row[from]!, row[to - 2 ** level]!);
  }
}
