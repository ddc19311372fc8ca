import type { ReactNode } from 'react';
import ReactMarkdown, { type Components } from 'react-markdown';
import remarkGfm from 'remark-gfm';

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

/** A model's reply as Markdown: GitHub tables and lists, no raw HTML, nothing loaded from elsewhere. */
export function Markdown({ children }: { children: string }) {
  return (
    <div className="markdown">
      <ReactMarkdown remarkPlugins={[remarkGfm]} skipHtml components={components}>
        {children}
      </ReactMarkdown>
    </div>
  );
}
