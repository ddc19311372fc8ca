import { type ReactNode, useMemo } from 'react';
import ReactMarkdown, { type Components } from 'react-markdown';
import remarkGfm from 'remark-gfm';
import { type ExplainedNumber, NUMBER_INDEX_PROPERTY, remarkCheckedNumbers } from '../lib/checked-numbers.js';

/** A path inside this app (`/projects/...`), as opposed to anything that leaves it (`//host`, `https:`...). */
function isAppPath(url: string | undefined): boolean {
  return /^\/(?![/\\])/.test(url ?? '');
}

/**
 * What a model wrote can be steered by the data it read, so it may not make the browser fetch or offer anything
 * outside the app: an image is shown as its description, never loaded, and a link elsewhere is plain text (its
 * address visible, nothing to click). Links within the app stay links.
 */
const components: Components = {
  img: ({ alt }) => <span className="text-slate-500">[image{alt ? `: ${alt}` : ''}, not shown]</span>,
  a: ({ href, children }) => {
    if (isAppPath(href)) return <a href={href}>{children}</a>;
    const label = textOf(children);
    return <span>{href && label !== href ? `${label} (${href})` : label}</span>;
  },
};

function textOf(node: ReactNode): string {
  if (typeof node === 'string' || typeof node === 'number') return String(node);
  if (Array.isArray(node)) return node.map(textOf).join('');
  return '';
}

/**
 * A model's reply as Markdown: GitHub tables and lists, no raw HTML, nothing loaded from elsewhere. With
 * `numbers` (checked against the reply's tool results), each number is marked where it stands.
 */
export function Markdown({
  children,
  numbers,
}: {
  children: string;
  numbers?: ExplainedNumber[] | undefined;
}) {
  const withNumbers = useMemo<Components>(
    () =>
      numbers
        ? {
            ...components,
            // Raw HTML is skipped, so every span here is one the number step made.
            span: ({ node, children: text }) => {
              const number = numbers[Number(node?.properties[NUMBER_INDEX_PROPERTY])];
              return number ? <CheckedNumber number={number}>{text}</CheckedNumber> : <span>{text}</span>;
            },
          }
        : components,
    [numbers],
  );
  return (
    <div className="markdown">
      <ReactMarkdown
        remarkPlugins={numbers ? [remarkGfm, [remarkCheckedNumbers, { numbers }]] : [remarkGfm]}
        skipHtml
        components={withNumbers}
      >
        {children}
      </ReactMarkdown>
    </div>
  );
}

/**
 * A number of a reply as checked. An unverified one stands out by more than colour (a wavy underline, a
 * question mark, and words for screen readers); a verified one says where it came from on hover, and the
 * reply's list of checked numbers says it to everyone.
 */
function CheckedNumber({ number, children }: { number: ExplainedNumber; children: ReactNode }) {
  if (number.status === 'verified')
    return (
      <span
        data-number="verified"
        title={`Verified: from ${number.origin}`}
        className="underline decoration-emerald-700 decoration-dotted underline-offset-2"
      >
        {children}
      </span>
    );
  return (
    <mark
      data-number="unverified"
      title="Unverified: no tool result holds this number. Check it before relying on it."
      className="rounded-sm bg-amber-100 px-0.5 text-amber-950 underline decoration-amber-700 decoration-wavy underline-offset-2"
    >
      {children}
      <sup aria-hidden="true" className="ml-px font-bold">
        ?
      </sup>
      <span className="sr-only"> (unverified)</span>
    </mark>
  );
}
