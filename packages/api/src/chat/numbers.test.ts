import { describe, expect, it } from 'vitest';
import { checkNumbers, type NumberSource } from './numbers.js';

/** One tool call whose output holds `values`. */
const tool = (...values: unknown[]): NumberSource[] => [{ callId: 'c1', value: { rows: [values] } }];

/** Each number found, as its text and status: what most rules are about. */
const verdicts = (content: string, sources: NumberSource[] = []) =>
  checkNumbers(content, sources).map((check) => [check.text, check.status]);

/** The one number `content` holds, checked against a tool's `values`. */
function statusOf(content: string, ...values: unknown[]) {
  const checks = checkNumbers(content, tool(...values));
  expect(checks).toHaveLength(1);
  return checks[0]?.status;
}

describe('rounding to the digits shown', () => {
  it.each([
    ['3.14', Math.PI, 'verified'],
    ['3.142', Math.PI, 'verified'],
    ['3.141', Math.PI, 'unverified'],
    ['3.1', 3.16, 'unverified'],
    ['3.2', 3.16, 'verified'],
    ['3.2', 3.14999, 'unverified'],
    ['0.3', 0.1 + 0.2, 'verified'],
    ['0.30', 0.1 + 0.2, 'verified'],
    ['33.3', 100 / 3, 'verified'],
  ])('%s for %s: %s', (content, value, status) => {
    expect(statusOf(content, value)).toBe(status);
  });

  it('takes both half-up and half-even at exactly half, and nothing past half', () => {
    expect(statusOf('2.5', 2.45)).toBe('verified');
    expect(statusOf('2.4', 2.45)).toBe('verified');
    expect(statusOf('2.6', 2.55)).toBe('verified');
    // Half-even keeps the even neighbour only: 2.55 is never 2.5.
    expect(statusOf('2.5', 2.55)).toBe('unverified');
    expect(statusOf('2.68', 2.675)).toBe('verified');
    expect(statusOf('2.67', 2.675)).toBe('unverified');
    expect(statusOf('2.4', 2.4500001)).toBe('unverified');
  });

  it('an integer shown for a decimal is the decimal rounded, not truncated', () => {
    expect(statusOf('1235', 1234.5)).toBe('verified');
    expect(statusOf('1234', 1234.5)).toBe('verified');
    expect(statusOf('1235', 1234.4)).toBe('unverified');
    expect(statusOf('1236', 1234.5)).toBe('unverified');
    expect(statusOf('3', 3.4)).toBe('verified');
    expect(statusOf('3', 3.6)).toBe('unverified');
    expect(statusOf('4', 3.6)).toBe('verified');
  });

  it('decimals shown for an integer must be zeros, and trailing zeros claim their precision', () => {
    expect(statusOf('5.0', 5)).toBe('verified');
    expect(statusOf('5.00', 5)).toBe('verified');
    expect(statusOf('5.1', 5)).toBe('unverified');
    expect(statusOf('2.50', 2.5)).toBe('verified');
    expect(statusOf('2.50', 2.504)).toBe('verified');
    expect(statusOf('2.50', 2.495)).toBe('verified');
    expect(statusOf('2.50', 2.51)).toBe('unverified');
    expect(statusOf('2.50', 2.46)).toBe('unverified');
  });

  it('more digits than the source has are not in the source', () => {
    expect(statusOf('3.14159', 3.14)).toBe('unverified');
    expect(statusOf('1.0', 1.04)).toBe('verified');
    expect(statusOf('1.00', 1.04)).toBe('unverified');
  });

  it('rounding keeps the leading digit: only zero is "0", and a ratio is not "1"', () => {
    expect(statusOf('0', 0)).toBe('verified');
    expect(statusOf('0.0', 0)).toBe('verified');
    expect(statusOf('0%', -0)).toBe('verified');
    expect(statusOf('0', 0.37)).toBe('unverified');
    expect(statusOf('0.0', 0.04)).toBe('unverified');
    expect(statusOf('0%', 0.004)).toBe('unverified');
    expect(statusOf('1', 0.67)).toBe('unverified');
    expect(statusOf('1', 0.96)).toBe('unverified');
    expect(statusOf('1M', 960_000)).toBe('unverified');
    expect(statusOf('1', 1)).toBe('verified');
    expect(statusOf('1', 1.49)).toBe('verified');
    expect(statusOf('1.0', 0.96)).toBe('verified');
    expect(statusOf('100%', 0.996)).toBe('verified');
    expect(statusOf('1M', 1_040_000)).toBe('verified');
    expect(statusOf('2', 1.5)).toBe('verified');
    expect(verdicts('See Figure 1: 0 errors.', tool(0.67, 0.37))).toEqual([
      ['1', 'unverified'],
      ['0', 'unverified'],
    ]);
  });

  it('a leading decimal point', () => {
    expect(statusOf('.5', 0.5)).toBe('verified');
    expect(statusOf('.5', 5)).toBe('unverified');
  });

  it('numbers that merely resemble a source are unverified', () => {
    expect(statusOf('1,234', 12.34)).toBe('unverified');
    expect(statusOf('12.34', 1234)).toBe('unverified');
    expect(statusOf('12', 123)).toBe('unverified');
    expect(statusOf('123', 12)).toBe('unverified');
    expect(statusOf('45%', 4.5)).toBe('unverified');
    expect(statusOf('4.5%', 0.45)).toBe('unverified');
    expect(statusOf('1.2M', 1.2)).toBe('unverified');
    expect(statusOf('1.2M', 1_200)).toBe('unverified');
    expect(statusOf('1,234', 12, 34)).toBe('unverified');
    expect(statusOf('45.000%', 0.4501)).toBe('unverified');
    expect(statusOf('12', '12 apples', { 12: 'key' }, true)).toBe('unverified');
  });

  it('a number in prose that no tool produced is unverified', () => {
    expect(
      verdicts(
        'North sold 1,234 units, South 987, growth was 12%.',
        tool(1234, 'South', 0.11, { growth: 12.6 }),
      ),
    ).toEqual([
      ['1,234', 'verified'],
      ['987', 'unverified'],
      ['12%', 'unverified'],
    ]);
  });
});

describe('separators', () => {
  it.each([
    ['1,234,567', 1_234_567],
    ['1,234,567.89', 1_234_567.891],
    ['1\u202f234\u202f567', 1_234_567],
    ['1\u2009234', 1_234],
    ['1\u00a0234', 1_234],
    ["1'234'567", 1_234_567],
    ['1’234', 1_234],
  ])('%s is %s', (content, value) => {
    expect(checkNumbers(content, tool(value))).toEqual([
      { text: content, start: 0, end: content.length, status: 'verified', callId: 'c1' },
    ]);
  });

  it('only groups of exactly three digits after one to three: "1,2,3" is a list', () => {
    expect(verdicts('1,2,3', tool(1, 2, 3, 123))).toEqual([
      ['1', 'verified'],
      ['2', 'verified'],
      ['3', 'verified'],
    ]);
    expect(verdicts('1234,567 and 1,2345', tool())).toEqual([
      ['1234', 'unverified'],
      ['567', 'unverified'],
      ['1', 'unverified'],
      ['2345', 'unverified'],
    ]);
  });

  it('one separator throughout, and never a plain space', () => {
    expect(verdicts('1,234 567', tool(1234, 567))).toEqual([
      ['1,234', 'verified'],
      ['567', 'verified'],
    ]);
    expect(verdicts("1,234'567", tool(1234, 567))).toEqual([
      ['1,234', 'verified'],
      ['567', 'verified'],
    ]);
  });

  it('a comma is not a decimal comma', () => {
    expect(verdicts('1,5', tool(1.5))).toEqual([
      ['1', 'unverified'],
      ['5', 'unverified'],
    ]);
  });
});

describe('percentages', () => {
  it.each([
    ['45%', 0.45],
    ['45%', 45],
    ['45 %', 0.45],
    ['45\u00a0%', 0.45],
    ['45 percent', 0.45],
    ['45 per cent', 45],
    ['45 percentage points', 0.45],
    ['0.8pp', 0.008],
    ['0.8 pp', 0.8],
    ['12.5%', 0.125],
    ['12.5%', 12.5],
    ['12.5%', 0.12549],
    ['45.0%', 0.45],
    ['0.5%', 0.005],
    ['100%', 1],
  ])('%s matches %s', (content, value) => {
    expect(checkNumbers(content, tool(value))).toEqual([
      { text: content, start: 0, end: content.length, status: 'verified', callId: 'c1' },
    ]);
  });

  it.each([
    ['45%', 0.46],
    ['12.5%', 0.1256],
    ['45.0%', 0.4506],
    ['45%', 0.0045],
    ['1%', 100],
  ])('%s does not match %s', (content, value) => {
    expect(statusOf(content, value)).toBe('unverified');
  });

  it('"percentile" is not a percentage', () => {
    expect(verdicts('the 95 percentile', tool(0.95))).toEqual([['95', 'unverified']]);
  });
});

describe('signs', () => {
  it('a written minus needs a negative source', () => {
    expect(statusOf('-5', -5)).toBe('verified');
    expect(statusOf('-5', 5)).toBe('unverified');
    expect(verdicts('\u22125', tool(-5))).toEqual([['\u22125', 'verified']]);
    expect(statusOf('-0.5%', -0.005)).toBe('verified');
    expect(statusOf('-12.5%', 0.125)).toBe('unverified');
  });

  it('a written plus needs a source that is not negative', () => {
    expect(statusOf('+5', 5)).toBe('verified');
    expect(statusOf('+5', -5)).toBe('unverified');
    expect(statusOf('+5%', 0.05)).toBe('verified');
  });

  it('a number without a sign matches by magnitude: the words give the direction', () => {
    expect(verdicts('Revenue fell by 5, a drop of 12.5%.', tool(-5, -0.125))).toEqual([
      ['5', 'verified'],
      ['12.5%', 'verified'],
    ]);
    expect(statusOf('(5.2)', -5.2)).toBe('verified');
  });

  it('a dash between numbers is a range, not a sign; after a word, a hyphen', () => {
    expect(verdicts('10-20 and 10–20', tool(10, 20))).toEqual([
      ['10', 'verified'],
      ['20', 'verified'],
      ['10', 'verified'],
      ['20', 'verified'],
    ]);
    expect(verdicts('from -5 to -3', tool(-5, -3))).toEqual([
      ['-5', 'verified'],
      ['-3', 'verified'],
    ]);
    expect(verdicts('5+3', tool(5, 3))).toEqual([
      ['5', 'verified'],
      ['3', 'verified'],
    ]);
  });

  it('"±" is not a sign: the margin is a magnitude', () => {
    expect(verdicts('5 ± 0.3 and ±2%', tool(5, -0.3, 0.02))).toEqual([
      ['5', 'verified'],
      ['0.3', 'verified'],
      ['2%', 'verified'],
    ]);
  });
});

describe('scales', () => {
  it.each([
    ['1.2k', 1_234],
    ['1.2k', 1_150],
    ['12K', 12_000],
    ['3.4M', 3_400_000],
    ['3.4M', 3_449_999],
    ['2 million', 2_400_000],
    ['2.0 million', 2_040_000],
    ['1.5 billion', 1.5e9],
    ['1.5 Billion', 1.5e9],
    ['7bn', 7e9],
    ['7B', 7.2e9],
    ['3 thousand', 3_000],
    ['1.1T', 1.1e12],
    ['$5m', 5e6],
    ['$5mn', 5e6],
  ])('%s matches %s', (content, value) => {
    expect(checkNumbers(content, tool(value))).toEqual([
      { text: content, start: 0, end: content.length, status: 'verified', callId: 'c1' },
    ]);
  });

  it.each([
    ['1.2k', 1.2],
    ['1.2k', 1_260],
    ['3.4M', 3_460_000],
    ['3.4M', 3.4],
    ['2.0 million', 2_060_000],
    ['7bn', 7e6],
  ])('%s does not match %s: only at its scale, to the digits shown', (content, value) => {
    expect(statusOf(content, value)).toBe('unverified');
  });

  it('a lowercase m without a currency is a unit (minutes, metres), not million', () => {
    expect(verdicts('ran for 5m', tool(5))).toEqual([['5', 'verified']]);
    expect(verdicts('ran for 5m', tool(5e6))).toEqual([['5', 'unverified']]);
  });

  it('units are not part of the number: 5 kg, 3x, 10ms', () => {
    expect(verdicts('5kg, 3x faster, 10ms, 5 GB', tool(5, 3, 10))).toEqual([
      ['5', 'verified'],
      ['3', 'verified'],
      ['10', 'verified'],
      ['5', 'verified'],
    ]);
  });

  it('a range lends the unit at its end to its start', () => {
    expect(verdicts('5–10% and 1-2 million', tool(0.05, 0.1, 1e6, 2e6))).toEqual([
      ['5', 'verified'],
      ['10%', 'verified'],
      ['1', 'verified'],
      ['2 million', 'verified'],
    ]);
    expect(verdicts('5-10%', tool(5, 0.1))).toEqual([
      ['5', 'verified'],
      ['10%', 'verified'],
    ]);
    expect(verdicts('1-2 million', tool(1, 2e6))).toEqual([
      ['1', 'unverified'],
      ['2 million', 'verified'],
    ]);
  });
});

describe('currency', () => {
  it.each([
    ['$1,234.50', 1234.5],
    ['€12', 12],
    ['£3', 3.04],
    ['¥500', 500],
    ['$3.4M', 3.4e6],
    ['-$5', -5],
    ['$-5', -5],
    ['−€12.5', -12.5],
  ])('%s is %s', (content, value) => {
    expect(checkNumbers(content, tool(value))).toEqual([
      { text: content, start: 0, end: content.length, status: 'verified', callId: 'c1' },
    ]);
  });

  it('US$ keeps the symbol only, and the value decides', () => {
    expect(checkNumbers('US$12', tool(13))).toEqual([
      { text: '$12', start: 2, end: 5, status: 'unverified' },
    ]);
  });
});

describe('scientific notation, fractions', () => {
  it.each([
    ['1e6', 1e6, 'verified'],
    ['1e6', 1_234_567, 'verified'],
    ['1e6', 1_500_001, 'unverified'],
    ['2.5e-3', 0.0025, 'verified'],
    ['2.5e-3', 0.00251, 'verified'],
    ['2.5e-3', 0.0026, 'unverified'],
    ['1.2E+5', 120_000, 'verified'],
    ['1.20E5', 120_400, 'verified'],
    ['1.20E5', 120_600, 'unverified'],
    ['6.02e23', 6.02214076e23, 'verified'],
  ])('%s for %s: %s', (content, value, status) => {
    expect(checkNumbers(content, tool(value))).toEqual([expect.objectContaining({ text: content, status })]);
  });

  it('a fraction is its quotient to two significant digits, as a ratio or a percentage', () => {
    expect(verdicts('1/3 of rows', tool(0.3333))).toEqual([['1/3', 'verified']]);
    expect(verdicts('1/3 of rows', tool(33.3))).toEqual([['1/3', 'verified']]);
    expect(verdicts('2/3 of rows', tool(0.6667))).toEqual([['2/3', 'verified']]);
    expect(verdicts('1/64 of rows', tool(0.0156))).toEqual([['1/64', 'verified']]);
    expect(verdicts('1/3 of rows', tool(0.4))).toEqual([['1/3', 'unverified']]);
    expect(verdicts('1/3 of rows', tool(0.34))).toEqual([['1/3', 'unverified']]);
  });

  it('a fraction is also its two terms ("3/4 checks passed"), verified by the later of their sources', () => {
    const sources = [
      { callId: 'a', value: 3 },
      { callId: 'b', value: 4 },
    ];
    expect(checkNumbers('3/4 checks passed', sources)).toEqual([
      { text: '3/4', start: 0, end: 3, status: 'verified', callId: 'b' },
    ]);
    expect(verdicts('3/4 checks passed', [{ callId: 'a', value: 3 }])).toEqual([['3/4', 'unverified']]);
    expect(verdicts('3/4 checks passed', [{ callId: 'a', value: 0.75 }])).toEqual([['3/4', 'verified']]);
  });

  it('a zero denominator is not a fraction', () => {
    expect(verdicts('1/0', tool(1, 0))).toEqual([
      ['1', 'verified'],
      ['0', 'verified'],
    ]);
  });
});

describe('what is not a number to check', () => {
  it('inline code spans, of any backtick count', () => {
    expect(verdicts('Run `SELECT 42` or ``a ` 7``, then 5.', tool(5))).toEqual([['5', 'verified']]);
  });

  it('fenced blocks with backticks or tildes, indented or quoted', () => {
    const content = [
      'Total 12.',
      '```sql',
      'SELECT 99 LIMIT 10',
      '```',
      '~~~',
      '77',
      '~~~',
      '1. Step:',
      '   ```',
      '   LIMIT 55',
      '   ```',
      '> ```',
      '> 66',
      '> ```',
      'Then 13.',
    ].join('\n');
    expect(verdicts(content, tool(12, 13))).toEqual([
      ['12', 'verified'],
      ['13', 'verified'],
    ]);
  });

  it('an unclosed fence at the end of a streamed reply, and a fence closed only by its own marker', () => {
    expect(verdicts('So 5.\n```python\nx = 41\nprint(x * 2', tool(5))).toEqual([['5', 'verified']]);
    expect(verdicts('````\n```\n41\n````\n7', tool(7))).toEqual([['7', 'verified']]);
    expect(verdicts('```\n41\n~~~\n8', tool())).toEqual([]);
  });

  it('a backtick without its closer, or escaped, opens nothing', () => {
    expect(verdicts('a ` b 5', tool(5))).toEqual([['5', 'verified']]);
    expect(verdicts('\\`5` and 6', tool(5, 6))).toEqual([
      ['5', 'verified'],
      ['6', 'verified'],
    ]);
    expect(verdicts('```x``` 5', tool(5))).toEqual([['5', 'verified']]);
  });

  it('an inline code span ends at its paragraph', () => {
    expect(verdicts('a `b\n\n5 ` c', tool(5))).toEqual([['5', 'verified']]);
    expect(verdicts('a `b\n5 ` c 6', tool(6))).toEqual([['6', 'verified']]);
  });

  it('ordered-list markers', () => {
    const content =
      '1. North: 5\n2) South: 6\n   3. nested 7\n> 4. quoted 8\n## 10. ten 9\n\tWe saw 1. and 2.';
    expect(verdicts(content, tool(5, 6, 7, 8, 9))).toEqual([
      ['5', 'verified'],
      ['6', 'verified'],
      ['7', 'verified'],
      ['8', 'verified'],
      ['9', 'verified'],
      ['1', 'unverified'],
      ['2', 'unverified'],
    ]);
    expect(verdicts('1.5 million rows\n2.\n', tool(1.5e6))).toEqual([['1.5 million', 'verified']]);
  });

  it.each([
    '2024-03-01',
    '2024/03/01',
    '01/03/2024',
    '1/3/24',
    '01.03.2024',
    '01-03-2024',
    '1 March 2024',
    'March 1, 2024',
    'March 1st, 2024',
    'Mar. 5',
    '5th of May',
    'the 3rd Jan',
    'March 2024',
    'Q1 2024',
    'FY2023-24 and 2023/24',
    '2024-03',
    '10:30',
    '10:30:15',
    '10:30:15.250',
    '9:05 am',
    '10am and 3 PM and 11 p.m.',
    '2024-03-01T10:30:00Z',
    '2024-03-01T10:30:00+01:00',
    '2024-03-01 10:30',
    'in 2024',
    'from 1900 to 2100',
    'the 1990s',
  ])('dates and times: %s', (content) => {
    expect(verdicts(content, tool())).toEqual([]);
  });

  it('a year is a plain four-digit integer from 1900 to 2100; anything more is a number', () => {
    expect(verdicts('2101, 1899, 2,024, 2024.5, $2024, 2024%, 2000ms, -2024, 2024th', tool())).toEqual([
      ['2101', 'unverified'],
      ['1899', 'unverified'],
      ['2,024', 'unverified'],
      ['2024.5', 'unverified'],
      ['$2024', 'unverified'],
      ['2024%', 'unverified'],
      ['2000', 'unverified'],
      ['-2024', 'unverified'],
      ['2024th', 'unverified'],
    ]);
  });

  it('numbers next to a month are dates, others near dates are not', () => {
    expect(verdicts('On March 1, 5000 units; in March 1850 rows', tool(5000, 1850))).toEqual([
      ['5000', 'verified'],
      ['1850', 'verified'],
    ]);
    expect(verdicts('On March 1, 2024 we sold 5 units; 7 Marches; 31 rows', tool(5, 7, 31))).toEqual([
      ['5', 'verified'],
      ['7', 'verified'],
      ['31', 'verified'],
    ]);
    expect(verdicts('2024-03-01 10 rows', tool(10))).toEqual([['10', 'verified']]);
  });

  it.each([
    'q1',
    'sales_2024',
    'v5',
    'H2O',
    '0x1F',
    '0xff',
    'COVID-19',
    'GPT-4o',
    '1a2b3c',
    '2024Q1',
    '5f3e9a',
    'v1.2.3',
    '1.2.3',
    '192.168.0.1',
    'file2.csv',
    'UTC+2',
    'km/h2',
    'https://example.com/report/2024/5?id=42',
    'www.example.com/7',
    '[the report](https://x.io/a/42)',
    '2024_sales',
    '_2024_q1',
    '1e6x',
    'é5',
  ])('numbers inside words and identifiers: %s', (content) => {
    expect(verdicts(content, tool())).toEqual([]);
  });

  it('emphasis around a number is not a word', () => {
    expect(verdicts('**45%**, _7_ and *8*', tool(0.45, 7, 8))).toEqual([
      ['45%', 'verified'],
      ['7', 'verified'],
      ['8', 'verified'],
    ]);
  });

  it('a reply without numbers', () => {
    expect(checkNumbers('', tool(1))).toEqual([]);
    expect(checkNumbers('No numbers here, only words.', tool(1))).toEqual([]);
  });
});

describe('tables are text', () => {
  it('checks every cell', () => {
    const content = [
      '| Region | Units | Share |',
      '|:-------|------:|------:|',
      '| North  | 1,234 | 55.6% |',
      '| South  |   987 | 44.4% |',
    ].join('\n');
    expect(verdicts(content, tool(1234, 0.5556, 986, 0.444))).toEqual([
      ['1,234', 'verified'],
      ['55.6%', 'verified'],
      ['987', 'unverified'],
      ['44.4%', 'verified'],
    ]);
  });
});

describe('ordinals', () => {
  it('are numbers, with their suffix', () => {
    expect(verdicts('ranked 3rd of 21st', tool(3))).toEqual([
      ['3rd', 'verified'],
      ['21st', 'unverified'],
    ]);
  });
});

describe('sources', () => {
  it('numbers anywhere in the JSON, and strings that are entirely numbers; not keys, words or booleans', () => {
    const output = {
      queryId: 'q1',
      columns: [{ name: '2023', type: 'BIGINT' }],
      rows: [
        ['North', 1.5, '17', '-2.5', '1e3', true, null],
        [{ nested: [[[42]]] }, 'Region 9', '12 apples', 'NaN'],
      ],
      rowCount: 2,
    };
    expect(verdicts('1.5 17 -2.5 1,000 42 2 9 12 2023 1', [{ callId: 'c1', value: output }])).toEqual([
      ['1.5', 'verified'],
      ['17', 'verified'],
      ['-2.5', 'verified'],
      ['1,000', 'verified'],
      ['42', 'verified'],
      ['2', 'verified'],
      ['9', 'unverified'],
      ['12', 'unverified'],
      ['1', 'unverified'],
    ]);
  });

  it('64-bit integers as strings, exactly', () => {
    const sources = tool('12345678901234567890', '-9223372036854775808');
    expect(verdicts('12,345,678,901,234,567,890 and 12345678901234567891', sources)).toEqual([
      ['12,345,678,901,234,567,890', 'verified'],
      ['12345678901234567891', 'unverified'],
    ]);
    expect(verdicts('-9,223,372,036,854,775,808 or about -9.2e18', sources)).toEqual([
      ['-9,223,372,036,854,775,808', 'verified'],
      ['-9.2e18', 'verified'],
    ]);
    // A JavaScript number past 2^53 has lost the last digits a string keeps.
    const rounded = Number('12345678901234567890');
    expect(statusOf('12345678901234567890', rounded)).toBe('unverified');
    expect(statusOf('12345678901234567000', rounded)).toBe('verified');
  });

  it('BigInt values', () => {
    expect(statusOf('9007199254740993', 9007199254740993n)).toBe('verified');
  });

  it("the user's own numbers are verified without a callId", () => {
    const sources: NumberSource[] = [
      { text: 'Assume a 7% discount, 2 million users, a −3 change, `LIMIT 50` and 1/3 of them.' },
      { callId: 'c1', value: { rows: [[12]] } },
    ];
    expect(checkNumbers('With 7%, 0.07, 2,000,000, 2.0M, -3, 50, 3 and 12:', sources)).toEqual([
      { text: '7%', start: 5, end: 7, status: 'verified' },
      { text: '0.07', start: 9, end: 13, status: 'verified' },
      { text: '2,000,000', start: 15, end: 24, status: 'verified' },
      { text: '2.0M', start: 26, end: 30, status: 'verified' },
      { text: '-3', start: 32, end: 34, status: 'verified' },
      { text: '50', start: 36, end: 38, status: 'verified' },
      { text: '3', start: 40, end: 41, status: 'verified' },
      { text: '12', start: 46, end: 48, status: 'verified', callId: 'c1' },
    ]);
  });

  it("a tool's own words are prose too, naming the call", () => {
    const sources: NumberSource[] = [
      { callId: 'c1', value: { error: 'over the limit of 97.7 KB', rows: [['item 12']] } },
      { callId: 'c1', text: 'over the limit of 97.7 KB' },
    ];
    expect(checkNumbers('The limit is 97.7 KB, not 12.', sources)).toEqual([
      { text: '97.7', start: 13, end: 17, status: 'verified', callId: 'c1' },
      { text: '12', start: 26, end: 28, status: 'unverified' },
    ]);
  });

  it("the user's words are text, not one number: their years and list markers are not values", () => {
    const sources: NumberSource[] = [{ text: '1. Sales in 2024' }];
    expect(verdicts('1 and 2,024', sources)).toEqual([
      ['1', 'unverified'],
      ['2,024', 'unverified'],
    ]);
  });

  it('callId is that of the first source, in order, holding the value', () => {
    const sources: NumberSource[] = [
      { callId: 'a', value: { rows: [[1]] } },
      { text: 'compare with 5' },
      { callId: 'b', value: { rows: [[5, 6]] } },
      { callId: 'c', value: { rows: [[6, 7]] } },
    ];
    expect(checkNumbers('1 5 6 7 8', sources)).toEqual([
      { text: '1', start: 0, end: 1, status: 'verified', callId: 'a' },
      { text: '5', start: 2, end: 3, status: 'verified' },
      { text: '6', start: 4, end: 5, status: 'verified', callId: 'b' },
      { text: '7', start: 6, end: 7, status: 'verified', callId: 'c' },
      { text: '8', start: 8, end: 9, status: 'unverified' },
    ]);
  });

  it('the first source that rounds to the number, even when a later one is closer', () => {
    const sources: NumberSource[] = [
      { callId: 'a', value: 3.04 },
      { callId: 'b', value: 3 },
    ];
    expect(checkNumbers('3', sources)).toEqual([
      { text: '3', start: 0, end: 1, status: 'verified', callId: 'a' },
    ]);
  });

  it('a string output with a callId is JSON, not text', () => {
    expect(verdicts('5', [{ callId: 'a', value: 'There are 5 rows' }])).toEqual([['5', 'unverified']]);
    expect(verdicts('5', [{ callId: 'a', value: '5' }])).toEqual([['5', 'verified']]);
  });

  it('a signed number finds its source among values of that sign', () => {
    const sources: NumberSource[] = [
      { callId: 'a', value: 5 },
      { callId: 'b', value: -5 },
    ];
    expect(checkNumbers('5 -5 +5', sources).map((check) => check.callId)).toEqual(['a', 'b', 'a']);
  });

  it('shared and cyclic objects are read once, deep nesting without recursion', () => {
    const shared = { value: 8 };
    const cyclic: { self?: unknown; value: number } = { value: 9 };
    cyclic.self = cyclic;
    let deep: unknown = 10;
    for (let depth = 0; depth < 100_000; depth++) deep = [deep];
    expect(verdicts('8 9 10', tool(shared, shared, cyclic, deep))).toEqual([
      ['8', 'verified'],
      ['9', 'verified'],
      ['10', 'verified'],
    ]);
  });
});

describe('offsets', () => {
  it('are JavaScript string indices into the content, past multi-byte characters', () => {
    const content = '📈 Ventes à Zürich: €1.234,5? No: €1,234.50 — 日本 −12% (après 3½)';
    const checks = checkNumbers(content, tool(1234.5, -0.12, 3));
    for (const check of checks) expect(content.slice(check.start, check.end)).toBe(check.text);
    expect(checks.map((check) => [check.text, check.start, check.status])).toEqual([
      ['€1.234', content.indexOf('€1.234'), 'unverified'],
      ['5', content.indexOf('5?'), 'unverified'],
      ['€1,234.50', content.indexOf('€1,234.50'), 'verified'],
      ['−12%', content.indexOf('−12%'), 'verified'],
      ['3', content.indexOf('3½'), 'verified'],
    ]);
  });

  it('come in order of position', () => {
    const checks = checkNumbers('a 1 `2` b 3 c 4.5%\n\n| 6 |', tool());
    expect(checks.map((check) => check.start)).toEqual([2, 10, 14, 22]);
  });
});

describe('bounds', () => {
  it.each([
    ['digits and separators', '1,234,567.89 '.repeat(8_000)],
    ['one long number', '9'.repeat(100_000)],
    ['one long grouped number', `1${',234'.repeat(25_000)}`],
    ['a long decimal', `0.${'0'.repeat(99_990)}1`],
    ['dotted digits', '1.2.'.repeat(25_000)],
    [
      'unmatched backticks of every length',
      Array.from({ length: 440 }, (_, i) => `${'`'.repeat(i + 1)}1`).join(' '),
    ],
    ['backtick pairs', '`1` 2 '.repeat(16_000)],
    ['fences', '```\n1\n'.repeat(16_000)],
    ['list markers', '1. 2\n'.repeat(20_000)],
    ['signs and dashes', '-1-2-3 '.repeat(14_000)],
    ['dates', '2024-03-01 '.repeat(9_000)],
    ['fractions', '1/3 '.repeat(25_000)],
    ['exponents', '1e999 1e-999 '.repeat(7_000)],
    ['spaces before a number', `${' '.repeat(100_000)}1.`],
    ['backslashes before backticks', '\\\\\\\\\\`'.repeat(16_000)],
  ])('a 100k-character reply of %s is checked quickly', (_label, content) => {
    const values = Array.from({ length: 2_000 }, (_, i) => i * 1.5 + 0.25);
    const sources: NumberSource[] = [{ callId: 'a', value: { rows: values } }, { value: content }];
    const started = performance.now();
    checkNumbers(content, sources);
    // Linear work takes tens of milliseconds here; quadratic work would take minutes.
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('a number with more significant digits than any source holds is unverified', () => {
    const long = `1${'1'.repeat(200)}`;
    expect(verdicts(long, [{ callId: 'a', value: long }])).toEqual([[long, 'unverified']]);
  });
});
