import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate } from '@tanstack/react-router';
import { createColumnHelper, flexRender, getCoreRowModel, useReactTable } from '@tanstack/react-table';
import { useMemo, useState } from 'react';
import { Button, ConfirmDialog, ErrorNote, Loading, RenameForm, StatusBadge } from '../components/ui.js';
import { useTRPC } from '../lib/trpc.js';
import { formatBytes } from '../lib/upload.js';

type Cell = string | number | boolean | null;

export function FilePage({ projectId, fileId }: { projectId: string; fileId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const file = useQuery({
    ...trpc.file.byId.queryOptions({ fileId }),
    refetchInterval: (query) => (query.state.data?.status === 'PROCESSING' ? 1500 : false),
  });
  const ready = file.data?.status === 'COMPLETED';
  const preview = useQuery({ ...trpc.file.preview.queryOptions({ fileId, limit: 50 }), enabled: ready });
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
          <h1 className="flex items-center gap-2 text-2xl font-semibold">
            {file.data.filename} <StatusBadge status={file.data.status} />
          </h1>
        )}
        <div className="flex flex-wrap gap-2">
          <Button variant="secondary" onClick={() => setRenaming(true)}>
            Rename file
          </Button>
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
      {ready ? (
        <section aria-labelledby="preview-heading" className="mt-6">
          <h2 id="preview-heading" className="text-lg font-semibold">
            First rows
          </h2>
          {preview.isPending ? <Loading label="Loading preview" /> : null}
          {preview.error ? <ErrorNote>{preview.error.message}</ErrorNote> : null}
          {preview.data ? <PreviewTable columns={preview.data.columns} rows={preview.data.rows} /> : null}
        </section>
      ) : null}
    </main>
  );
}

function PreviewTable({ columns, rows }: { columns: string[]; rows: Cell[][] }) {
  const helper = createColumnHelper<Cell[]>();
  const columnDefs = useMemo(
    () =>
      columns.map((name, index) =>
        helper.accessor((row) => row[index], {
          id: `${index}`,
          header: name,
          cell: (info) => formatCell(info.getValue()),
        }),
      ),
    [columns, helper],
  );
  const table = useReactTable({ data: rows, columns: columnDefs, getCoreRowModel: getCoreRowModel() });
  return (
    <div className="mt-2 max-h-[28rem] overflow-auto rounded border border-slate-200">
      <table aria-label="Preview of the first rows" className="min-w-full text-sm">
        <thead className="sticky top-0 bg-slate-100 text-left">
          {table.getHeaderGroups().map((group) => (
            <tr key={group.id}>
              {group.headers.map((header) => (
                <th key={header.id} className="px-2 py-1 whitespace-nowrap">
                  {flexRender(header.column.columnDef.header, header.getContext())}
                </th>
              ))}
            </tr>
          ))}
        </thead>
        <tbody>
          {table.getRowModel().rows.map((row) => (
            <tr key={row.id} className="border-b border-slate-100">
              {row.getVisibleCells().map((cell) => (
                <td key={cell.id} className="px-2 py-1 whitespace-nowrap">
                  {flexRender(cell.column.columnDef.cell, cell.getContext())}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function formatCell(value: Cell | undefined): string {
  if (value === null || value === undefined) return '–';
  return String(value);
}
