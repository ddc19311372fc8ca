import type { ReactNode } from 'react';
import { CopyButton } from './ui.js';

/** A query as DS Bro ran it, wrapped rather than scrolled, under a line with what it is and a copy button. */
export function SqlBlock({ sql, caption }: { sql: string; caption?: ReactNode }) {
  return (
    <div className="rounded border border-slate-200 bg-white text-xs">
      <div className="flex flex-wrap items-center justify-between gap-2 px-2 py-1">
        <span className="font-medium text-slate-700">{caption}</span>
        <span className="flex items-center gap-2">
          <CopyButton text={sql} label="Copy SQL" />
        </span>
      </div>
      <pre className="whitespace-pre-wrap break-words rounded-b bg-slate-900 px-2 py-1.5 font-mono text-slate-100">
        <code>{sql}</code>
      </pre>
    </div>
  );
}
