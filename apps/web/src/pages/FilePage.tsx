import type { Provenance } from '@leonidas/api';
import { useMutation, useQueries, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate } from '@tanstack/react-router';
import { useState } from 'react';
import { ChartFile } from '../components/ChartFile.js';
import { DataTable } from '../components/DataTable.js';
import { SqlBlock } from '../components/SqlBlock.js';
import {
  Button,
  ConfirmDialog,
  ErrorNote,
  Loading,
  MadeByDsBroBadge,
  RenameForm,
  StatusBadge,
} from '../components/ui.js';
import { CHART_CONTENT_TYPE } from '../lib/chart-files.js';
import { useTRPC } from '../lib/trpc.js';
import { formatBytes } from '../lib/upload.js';

export function FilePage({ projectId, fileId }: { projectId: string; fileId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const file = useQuery({
    ...trpc.file.byId.queryOptions({ fileId }),
    refetchInterval: (query) => (query.state.data?.status === 'PROCESSING' ? 1500 : false),
  });
  const ready = file.data?.status === 'COMPLETED';
  const chart = file.data?.contentType === CHART_CONTENT_TYPE;
  const preview = useQuery({
    ...trpc.file.preview.queryOptions({ fileId, limit: 50 }),
    enabled: ready && !chart,
  });
  const rename = useMutation(trpc.file.rename.mutationOptions());
  const remove = useMutation(trpc.file.delete.mutationOptions());
  const download = useMutation({
    mutationFn: () =>
      queryClient.fetchQuery({ ...trpc.file.downloadUrl.queryOptions({ fileId }), staleTime: 0 }),
    onSuccess: ({ url }) => {
      window.location.assign(url);
    },
  });
  const [renaming, setRenaming] = useState(false);

  if (file.isPending)
    return (
      <main className="p-6">
        <Loading label="Loading file" />
      </main>
    );
  if (file.error)
    return (
      <main className="p-6">
        <ErrorNote>{file.error.message}</ErrorNote>
      </main>
    );
  const metadata = file.data.metadata;

  return (
    <main className="mx-auto w-full max-w-5xl px-4 py-6">
      <nav aria-label="Breadcrumb" className="text-sm text-slate-500">
        <Link to="/projects/$projectId" params={{ projectId }} className="underline">
          Back to project
        </Link>
      </nav>
      <header className="mt-2 flex flex-wrap items-center justify-between gap-3">
        {renaming ? (
          <RenameForm
            label="File name"
            value={file.data.filename}
            onSave={async (filename) => {
              await rename.mutateAsync({ fileId, filename });
              await queryClient.invalidateQueries({ queryKey: trpc.file.pathKey() });
            }}
            onDone={() => setRenaming(false)}
          />
        ) : (
          <h1 className="flex flex-wrap items-center gap-2 text-2xl font-semibold">
            {file.data.filename} <StatusBadge status={file.data.status} />
            {file.data.source === 'APP_GENERATED' ? <MadeByDsBroBadge /> : null}
          </h1>
        )}
        <div className="flex flex-wrap gap-2">
          {/* File names end in .csv or .tsv, which a chart's cannot. */}
          {chart ? null : (
            <Button variant="secondary" onClick={() => setRenaming(true)}>
              Rename file
            </Button>
          )}
          <Button
            variant="secondary"
            onClick={() => download.mutate()}
            disabled={file.data.status === 'UPLOADING'}
          >
            Download
          </Button>
          <ConfirmDialog
            trigger={<Button variant="danger">Delete file</Button>}
            title={`Delete ${file.data.filename}?`}
            description="The file and its stored data are deleted for good."
            confirmLabel="Delete file"
            onConfirm={async () => {
              await remove.mutateAsync({ fileId });
              await navigate({ to: '/projects/$projectId', params: { projectId } });
              queryClient.removeQueries({ queryKey: trpc.file.byId.queryKey({ fileId }) });
              await queryClient.invalidateQueries({ queryKey: trpc.file.list.pathKey() });
            }}
          />
        </div>
      </header>
      {download.error ? <ErrorNote>{download.error.message}</ErrorNote> : null}
      <p className="mt-1 text-sm text-slate-500">{formatBytes(file.data.size)}</p>
      {file.data.status === 'FAILED' ? (
        <ErrorNote>{file.data.failureReason ?? 'This file could not be processed.'}</ErrorNote>
      ) : null}
      {file.data.status === 'PROCESSING' ? <Loading label="Checking and profiling the file" /> : null}
      {file.data.provenance ? (
        <ProvenanceSection projectId={projectId} provenance={file.data.provenance} />
      ) : null}
      {chart && ready ? (
        <section aria-labelledby="chart-heading" className="mt-6">
          <h2 id="chart-heading" className="text-lg font-semibold">
            Chart
          </h2>
          <ChartFile fileId={fileId} title={file.data.filename.replace(/\.vl\.json$/, '')} />
        </section>
      ) : null}
      {metadata ? (
        <section aria-labelledby="profile-heading" className="mt-6">
          <h2 id="profile-heading" className="text-lg font-semibold">
            Profile
          </h2>
          <p className="text-sm text-slate-600">
            {metadata.rowCount.toLocaleString()} rows · {metadata.columns.length} columns · delimiter{' '}
            {metadata.delimiter === '\t' ? 'tab' : `"${metadata.delimiter}"`} · {metadata.encoding}
          </p>
          <div className="mt-2 overflow-x-auto">
            <table aria-label="Column profile" className="min-w-full text-sm">
              <thead className="bg-slate-100 text-left">
                <tr>
                  {['Column', 'Type', 'Nulls', 'Distinct', 'Min', 'Max', 'Mean'].map((h) => (
                    <th key={h} className="px-2 py-1">
                      {h}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {metadata.columns.map((column) => (
                  <tr key={column.name} className="border-b border-slate-100">
                    <td className="px-2 py-1 font-medium">{column.name}</td>
                    <td className="px-2 py-1">{column.type}</td>
                    <td className="px-2 py-1">{column.nullCount.toLocaleString()}</td>
                    <td className="px-2 py-1">{column.distinctCount.toLocaleString()}</td>
                    <td className="px-2 py-1">{column.min ?? '–'}</td>
                    <td className="px-2 py-1">{column.max ?? '–'}</td>
                    <td className="px-2 py-1">
                      {column.mean === undefined
                        ? '–'
                        : column.mean.toLocaleString(undefined, { maximumFractionDigits: 4 })}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      ) : null}
      {ready && !chart ? (
        <section aria-labelledby="preview-heading" className="mt-6">
          <h2 id="preview-heading" className="text-lg font-semibold">
            First rows
          </h2>
          {preview.isPending ? <Loading label="Loading preview" /> : null}
          {preview.error ? <ErrorNote>{preview.error.message}</ErrorNote> : null}
          {preview.data ? (
            <DataTable
              label="Preview of the first rows"
              columns={preview.data.columns}
              rows={preview.data.rows}
              numericColumns={preview.data.columns.map((name) =>
                Boolean(
                  metadata?.columns.some(
                    (column) =>
                      column.name === name && (column.type === 'integer' || column.type === 'number'),
                  ),
                ),
              )}
            />
          ) : null}
        </section>
      ) : null}
    </main>
  );
}

/** Where a file DS Bro made came from: the chat message that asked for it, the query, the files it read. */
function ProvenanceSection({ projectId, provenance }: { projectId: string; provenance: Provenance }) {
  const trpc = useTRPC();
  const session = useQuery({
    ...trpc.session.byId.queryOptions({ sessionId: provenance.sessionId }),
    retry: false,
  });
  const sources = useQueries({
    queries: provenance.sourceFileIds.map((fileId) => ({
      ...trpc.file.byId.queryOptions({ fileId }),
      retry: false,
    })),
  });
  return (
    <section aria-labelledby="provenance-heading" className="mt-6">
      <h2 id="provenance-heading" className="text-lg font-semibold">
        Made by DS Bro
      </h2>
      <p className="mt-1 text-sm text-slate-700">
        {session.error ? (
          'Asked for in a chat that has since been deleted.'
        ) : (
          <>
            Asked for in{' '}
            <Link
              to="/projects/$projectId/sessions/$sessionId"
              params={{ projectId, sessionId: provenance.sessionId }}
              {...(provenance.messageId ? { hash: `message-${provenance.messageId}` } : {})}
              className="font-medium text-indigo-700 underline"
            >
              {session.data ? `the chat “${session.data.title}”` : 'the chat'}
            </Link>
            {provenance.messageId ? '' : ' (the message that made it was deleted)'}.
          </>
        )}
      </p>
      <h3 className="mt-3 text-sm font-semibold text-slate-800">Query</h3>
      <div className="mt-1 text-xs">
        <SqlBlock sql={provenance.sql} />
      </div>
      <h3 className="mt-3 text-sm font-semibold text-slate-800">Source files</h3>
      {provenance.sourceFileIds.length === 0 ? (
        <p className="text-sm text-slate-600">No file of the project.</p>
      ) : (
        <ul className="mt-1 list-disc pl-5 text-sm">
          {provenance.sourceFileIds.map((fileId, index) => {
            const source = sources[index];
            return (
              <li key={fileId}>
                {source?.error ? (
                  <span className="text-slate-600">a file since deleted</span>
                ) : (
                  <Link
                    to="/projects/$projectId/files/$fileId"
                    params={{ projectId, fileId }}
                    className="font-medium text-indigo-700 underline"
                  >
                    {source?.data?.filename ?? 'Loading…'}
                  </Link>
                )}
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}
