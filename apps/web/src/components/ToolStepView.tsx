import type { RunSqlOutput, ToolError } from '@leonidas/api';
import * as Collapsible from '@radix-ui/react-collapsible';
import { Link } from '@tanstack/react-router';
import { useState } from 'react';
import type { ToolStep } from '../lib/chat-state.js';
import {
  inputText,
  isMakeChartOutput,
  isRunSqlOutput,
  isSaveTableOutput,
  isToolError,
} from '../lib/tool-outputs.js';
import { ChartFile } from './ChartFile.js';
import { DataTable } from './DataTable.js';
import { SqlBlock } from './SqlBlock.js';

/** What DS Bro did in one tool call, drawn for what it is: a query and its result, a chart, a saved file. */
export function ToolStepView({ step, projectId }: { step: ToolStep; projectId: string }) {
  if (step.name === 'run_sql') return <QueryStep step={step} />;
  if (isToolError(step.output)) return <FailedStep step={step} error={step.output} />;
  if (step.output === undefined) return <p className="mb-1 text-xs text-slate-600">Running {step.name}…</p>;
  if (step.name === 'make_chart' && isMakeChartOutput(step.output)) {
    const { fileId, filename } = step.output;
    return (
      <div className="mb-2">
        <ChartFile fileId={fileId} title={inputText(step.input, 'title') ?? filename} />
        <FileLink projectId={projectId} fileId={fileId}>
          Open {filename}
        </FileLink>
      </div>
    );
  }
  if (step.name === 'save_table' && isSaveTableOutput(step.output))
    return (
      <p className="mb-2 text-xs text-slate-700">
        Saved the result as{' '}
        <FileLink projectId={projectId} fileId={step.output.fileId}>
          {step.output.filename}
        </FileLink>
        , the table <code className="rounded bg-slate-100 px-1">{step.output.table}</code> from now on.
      </p>
    );
  return <RawStep step={step} />;
}

function QueryStep({ step }: { step: ToolStep }) {
  const sql = inputText(step.input, 'sql') ?? '';
  const result = isRunSqlOutput(step.output) ? step.output : undefined;
  const error = isToolError(step.output) ? step.output : undefined;
  const heading =
    step.output === undefined
      ? 'Running SQL…'
      : result
        ? `SQL, result ${result.queryId}: ${rowsLabel(result.rowCount)}`
        : 'SQL that failed';
  return (
    <div className="mb-2 text-xs">
      <SqlBlock sql={sql} caption={heading} />
      {error ? <FailureNote error={error} /> : null}
      {result ? <QueryResult result={result} /> : null}
    </div>
  );
}

function QueryResult({ result }: { result: RunSqlOutput }) {
  const [open, setOpen] = useState(false);
  if (result.rowCount === 0) return <p className="mt-1 text-slate-600">The query returned no rows.</p>;
  const shown = result.rows.length;
  return (
    <Collapsible.Root open={open} onOpenChange={setOpen} className="mt-1">
      <Collapsible.Trigger className="text-slate-700 underline">
        {open ? 'Hide the result' : `Show the result (${rowsLabel(result.rowCount)})`}
      </Collapsible.Trigger>
      <Collapsible.Content>
        <DataTable
          label={`Result ${result.queryId}`}
          columns={result.columns.map((column) => column.name)}
          rows={result.rows}
          numericColumns={result.columns.map((column) => NUMERIC_SQL_TYPE.test(column.type))}
        />
        {shown < result.rowCount || result.truncated ? (
          <p className="mt-1 text-slate-600">
            Showing the first {shown.toLocaleString()} of {result.rowCount.toLocaleString()} rows
            {result.truncated ? ' kept (the query returned more)' : ''}.
          </p>
        ) : null}
      </Collapsible.Content>
    </Collapsible.Root>
  );
}

const NUMERIC_SQL_TYPE = /INT|DECIMAL|NUMERIC|DOUBLE|FLOAT|REAL/i;

const rowsLabel = (count: number) => `${count.toLocaleString()} row${count === 1 ? '' : 's'}`;

function FailedStep({ step, error }: { step: ToolStep; error: ToolError }) {
  return (
    <div className="mb-2 text-xs">
      <FailureNote error={error} name={step.name} />
    </div>
  );
}

/** A tool's refusal or error, with what to try instead; part of the conversation, not an alert. */
function FailureNote({ error, name }: { error: ToolError; name?: string }) {
  return (
    <div className="mt-1 rounded border border-red-200 bg-red-50 px-2 py-1 text-red-800">
      <p>
        <span className="font-semibold">{name ? `${name} failed:` : 'Failed:'}</span> {error.error}
      </p>
      {error.hint ? <p className="mt-1 whitespace-pre-wrap text-slate-800">{error.hint}</p> : null}
    </div>
  );
}

function FileLink({
  projectId,
  fileId,
  children,
}: {
  projectId: string;
  fileId: string;
  children: React.ReactNode;
}) {
  return (
    <Link
      to="/projects/$projectId/files/$fileId"
      params={{ projectId, fileId }}
      className="text-xs font-medium text-indigo-700 underline"
    >
      {children}
    </Link>
  );
}

/** Any other tool: what it was given and returned, as JSON, behind a disclosure. */
function RawStep({ step }: { step: ToolStep }) {
  return (
    <Collapsible.Root className="mb-1">
      <Collapsible.Trigger className="text-xs text-slate-600 underline">Used {step.name}</Collapsible.Trigger>
      <Collapsible.Content>
        <section
          // biome-ignore lint/a11y/noNoninteractiveTabindex: keyboard users must be able to scroll a long tool result (WCAG 2.1.1, axe's scrollable-region-focusable).
          tabIndex={0}
          aria-label={`What ${step.name} was given and returned`}
          className="mt-1 max-h-60 overflow-auto rounded bg-slate-900 p-2 focus-visible:outline-2 focus-visible:outline-indigo-500"
        >
          <pre className="text-xs text-slate-100">
            {JSON.stringify({ input: step.input, output: step.output }, null, 2)}
          </pre>
        </section>
      </Collapsible.Content>
    </Collapsible.Root>
  );
}
