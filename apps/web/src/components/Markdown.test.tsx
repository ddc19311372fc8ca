import type { NumberCheck } from '@leonidas/api';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { explainNumbers } from '../lib/checked-numbers.js';
import { Markdown } from './Markdown.js';

/** Checks for each `[text, status]`, found in `content` in order, as the server writes them. */
function checks(content: string, found: [string, NumberCheck['status']][]): NumberCheck[] {
  let from = 0;
  return found.map(([text, status]) => {
    const start = content.indexOf(text, from);
    from = start + text.length;
    return { text, start, end: from, status, ...(status === 'verified' ? { callId: 'c1' } : {}) };
  });
}

const sqlStep = {
  callId: 'c1',
  name: 'run_sql',
  input: { sql: 'SELECT plan, avg(months) FROM customers GROUP BY plan' },
  output: { queryId: 'q1', columns: [], rows: [], rowCount: 2, truncated: false },
};

function render(content: string, found: [string, NumberCheck['status']][]) {
  const numbers = explainNumbers(checks(content, found), [sqlStep]);
  return renderToStaticMarkup(<Markdown numbers={numbers}>{content}</Markdown>);
}

const verified = (text: string) =>
  `<span data-number="verified" title="Verified: from the result q1 of run_sql: SELECT plan, avg(months) FROM customers GROUP BY plan" class="underline decoration-emerald-700 decoration-dotted underline-offset-2">${text}</span>`;
const unverified = (text: string) =>
  `<mark data-number="unverified" title="Unverified: no tool result holds this number. Check it before relying on it." class="rounded-sm bg-amber-100 px-0.5 text-amber-950 underline decoration-amber-700 decoration-wavy underline-offset-2">${text}<sup aria-hidden="true" class="ml-px font-bold">?</sup><span class="sr-only"> (unverified)</span></mark>`;

describe('checked numbers in a reply', () => {
  it('marks each number where it stands, the unverified one in words as well as by look', () => {
    const html = render('Pro customers stay 9.5 months; 37 churned.', [
      ['9.5', 'verified'],
      ['37', 'unverified'],
    ]);
    expect(html).toBe(
      `<div class="markdown"><p>Pro customers stay ${verified('9.5')} months; ${unverified('37')} churned.</p></div>`,
    );
  });

  it('keeps the Markdown around them: emphasis, tables, lists, and code left unmarked', () => {
    const content = [
      '**4** plans, `LIMIT 10`:',
      '',
      '| plan | months |',
      '|---|---:|',
      '| pro | 9.5 |',
      '',
      '- about *1,200* rows',
    ].join('\n');
    const html = render(content, [
      ['4', 'verified'],
      ['9.5', 'verified'],
      ['1,200', 'unverified'],
    ]);
    expect(html).toContain(`<strong>${verified('4')}</strong> plans, <code>LIMIT 10</code>:`);
    expect(html).toContain(`<td style="text-align:right">${verified('9.5')}</td>`);
    expect(html).toContain(`<li>about <em>${unverified('1,200')}</em> rows</li>`);
  });

  it('finds a number after Markdown escapes, whose text differs from its source', () => {
    const html = render('a \\* b &amp; c 12 and 3', [
      ['12', 'verified'],
      ['3', 'unverified'],
    ]);
    expect(html).toContain(`<p>a * b &amp; c ${verified('12')} and ${unverified('3')}</p>`);
  });

  it('shows a reply without checks as it is', () => {
    const plain = renderToStaticMarkup(<Markdown>It has 4 rows.</Markdown>);
    expect(plain).toBe('<div class="markdown"><p>It has 4 rows.</p></div>');
  });
});

describe('where a checked number came from', () => {
  it('names the tool call and its SQL, the user message, or nothing', () => {
    const [fromSql, fromUser, nowhere] = explainNumbers(
      [
        { text: '2', start: 0, end: 1, status: 'verified', callId: 'c1' },
        { text: '5', start: 2, end: 3, status: 'verified' },
        { text: '7', start: 4, end: 5, status: 'unverified' },
      ],
      [sqlStep],
    );
    expect(fromSql?.origin).toBe(
      'the result q1 of run_sql: SELECT plan, avg(months) FROM customers GROUP BY plan',
    );
    expect(fromUser?.origin).toBe('your message');
    expect(nowhere?.origin).toBe('not found in the results of the tools DS Bro used');
  });
});
