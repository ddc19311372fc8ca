import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate } from '@tanstack/react-router';
import { type DragEvent, useRef, useState } from 'react';
import {
  Button,
  ConfirmDialog,
  ErrorNote,
  errorMessage,
  Loading,
  MadeByDsBroBadge,
  RenameForm,
  StatusBadge,
} from '../components/ui.js';
import { CHART_CONTENT_TYPE } from '../lib/chart-files.js';
import { useTRPC } from '../lib/trpc.js';
import { formatBytes, postToStorage } from '../lib/upload.js';

export function ProjectPage({ projectId }: { projectId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const project = useQuery(trpc.project.byId.queryOptions({ projectId }));
  const [renaming, setRenaming] = useState(false);
  const update = useMutation(trpc.project.update.mutationOptions());
  const remove = useMutation(trpc.project.delete.mutationOptions());

  if (project.isPending)
    return (
      <main className="p-6">
        <Loading label="Loading project" />
      </main>
    );
  if (project.error)
    return (
      <main className="p-6">
        <ErrorNote>{project.error.message}</ErrorNote>
      </main>
    );

  return (
    <main className="mx-auto w-full max-w-5xl px-4 py-6">
      <nav aria-label="Breadcrumb" className="text-sm text-slate-500">
        <Link to="/" className="underline">
          Projects
        </Link>
      </nav>
      <header className="mt-2 flex flex-wrap items-center justify-between gap-3">
        {renaming ? (
          <RenameForm
            label="Project name"
            value={project.data.name}
            onSave={async (name) => {
              await update.mutateAsync({ projectId, name });
              await queryClient.invalidateQueries({ queryKey: trpc.project.pathKey() });
            }}
            onDone={() => setRenaming(false)}
          />
        ) : (
          <h1 className="text-2xl font-semibold">{project.data.name}</h1>
        )}
        <div className="flex gap-2">
          <Button variant="secondary" onClick={() => setRenaming(true)}>
            Rename project
          </Button>
          <ConfirmDialog
            trigger={<Button variant="danger">Delete project</Button>}
            title={`Delete ${project.data.name}?`}
            description="Its files, chats and messages are deleted for good."
            confirmLabel="Delete project"
            onConfirm={async () => {
              await remove.mutateAsync({ projectId });
              await navigate({ to: '/' });
              queryClient.removeQueries({ queryKey: trpc.project.byId.queryKey({ projectId }) });
              await queryClient.invalidateQueries({ queryKey: trpc.project.list.pathKey() });
            }}
          />
        </div>
      </header>
      <div className="mt-6 grid gap-6 lg:grid-cols-2">
        <FilesPanel projectId={projectId} />
        <SessionsPanel projectId={projectId} />
      </div>
    </main>
  );
}

type LocalUpload = { id: string; name: string; progress: number; error?: string };

function FilesPanel({ projectId }: { projectId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const files = useQuery({
    ...trpc.file.list.queryOptions({ projectId, limit: 100 }),
    // Poll while something is still being processed.
    refetchInterval: (query) =>
      query.state.data?.items.some((file) => file.status === 'PROCESSING' || file.status === 'UPLOADING')
        ? 1500
        : false,
  });
  const createUpload = useMutation(trpc.file.createUpload.mutationOptions());
  const confirm = useMutation(trpc.file.confirm.mutationOptions());
  const [uploads, setUploads] = useState<LocalUpload[]>([]);
  const [dragging, setDragging] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const refresh = () =>
    queryClient.invalidateQueries({ queryKey: trpc.file.list.queryKey({ projectId, limit: 100 }) });

  const uploadOne = async (file: File) => {
    const id = crypto.randomUUID();
    const patch = (change: Partial<LocalUpload>) =>
      setUploads((all) => all.map((upload) => (upload.id === id ? { ...upload, ...change } : upload)));
    setUploads((all) => [...all, { id, name: file.name, progress: 0 }]);
    try {
      const { file: record, upload } = await createUpload.mutateAsync({
        projectId,
        filename: file.name,
        size: file.size,
        contentType: file.type,
      });
      await refresh();
      await postToStorage(upload, file, (progress) => patch({ progress }));
      await confirm.mutateAsync({ fileId: record.id });
      setUploads((all) => all.filter((upload) => upload.id !== id));
    } catch (error) {
      patch({ error: errorMessage(error) });
    }
    await refresh();
  };
  const uploadAll = (list: FileList | null) => {
    for (const file of Array.from(list ?? [])) void uploadOne(file);
  };

  return (
    <section
      aria-labelledby="files-heading"
      className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm"
    >
      <h2 id="files-heading" className="text-lg font-semibold">
        Files
      </h2>
      <section
        aria-label="Drop files to upload"
        onDragOver={(event: DragEvent) => {
          event.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={(event: DragEvent) => {
          event.preventDefault();
          setDragging(false);
          uploadAll(event.dataTransfer.files);
        }}
        className={`mt-3 rounded-lg border-2 border-dashed p-4 text-center text-sm ${dragging ? 'border-indigo-400 bg-indigo-50' : 'border-slate-300'}`}
      >
        <p className="text-slate-600">Drop CSV or TSV files here, or</p>
        <Button variant="secondary" className="mt-2" onClick={() => input.current?.click()}>
          Choose files
        </Button>
        <input
          ref={input}
          type="file"
          accept=".csv,.tsv,text/csv,text/tab-separated-values"
          multiple
          aria-label="Upload CSV files"
          className="sr-only"
          onChange={(event) => {
            uploadAll(event.target.files);
            event.target.value = '';
          }}
        />
      </section>
      <ul aria-label="Uploads in progress" className="mt-3 flex flex-col gap-2">
        {uploads.map((upload) => (
          <li key={upload.id} className="text-sm">
            <span>{upload.name}</span>
            {upload.error ? (
              <ErrorNote>{upload.error}</ErrorNote>
            ) : (
              <div
                role="progressbar"
                aria-label={`Uploading ${upload.name}`}
                aria-valuemin={0}
                aria-valuemax={100}
                aria-valuenow={Math.round(upload.progress * 100)}
                className="mt-1 h-2 rounded bg-slate-100"
              >
                <div
                  className="h-2 rounded bg-indigo-500 transition-all"
                  style={{ width: `${Math.round(upload.progress * 100)}%` }}
                />
              </div>
            )}
          </li>
        ))}
      </ul>
      {files.isPending ? <Loading label="Loading files" /> : null}
      {files.error ? <ErrorNote>{files.error.message}</ErrorNote> : null}
      {files.data?.items.length === 0 && uploads.length === 0 ? (
        <p className="mt-3 text-sm text-slate-500">No files yet. Upload a CSV to get started.</p>
      ) : null}
      <ul aria-label="Project files" className="mt-3 divide-y divide-slate-100">
        {files.data?.items.map((file) => (
          <li key={file.id} className="flex flex-wrap items-center justify-between gap-2 py-2 text-sm">
            <Link
              to="/projects/$projectId/files/$fileId"
              params={{ projectId, fileId: file.id }}
              className="font-medium text-indigo-700 underline"
            >
              {file.filename}
            </Link>
            <span className="flex items-center gap-2 text-slate-500">
              {formatBytes(file.size)}
              {file.metadata ? ` · ${file.metadata.rowCount.toLocaleString()} rows` : ''}
              {file.contentType === CHART_CONTENT_TYPE ? ' · chart' : ''}
              {file.source === 'APP_GENERATED' ? <MadeByDsBroBadge /> : null}
              <StatusBadge status={file.status} />
            </span>
            {file.failureReason ? <p className="w-full text-xs text-red-700">{file.failureReason}</p> : null}
          </li>
        ))}
      </ul>
    </section>
  );
}

function SessionsPanel({ projectId }: { projectId: string }) {
  const trpc = useTRPC();
  const navigate = useNavigate();
  const sessions = useQuery(trpc.session.list.queryOptions({ projectId, limit: 100 }));
  const create = useMutation(
    trpc.session.create.mutationOptions({
      onSuccess: (session) =>
        navigate({
          to: '/projects/$projectId/sessions/$sessionId',
          params: { projectId, sessionId: session.id },
        }),
    }),
  );
  return (
    <section
      aria-labelledby="sessions-heading"
      className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm"
    >
      <div className="flex items-center justify-between">
        <h2 id="sessions-heading" className="text-lg font-semibold">
          Chats with DS Bro
        </h2>
        <Button onClick={() => create.mutate({ projectId })} disabled={create.isPending}>
          New chat
        </Button>
      </div>
      {create.error ? <ErrorNote>{create.error.message}</ErrorNote> : null}
      {sessions.isPending ? <Loading label="Loading chats" /> : null}
      {sessions.data?.items.length === 0 ? (
        <p className="mt-3 text-sm text-slate-500">No chats yet. Start one and ask about your files.</p>
      ) : null}
      <ul aria-label="Chats" className="mt-3 divide-y divide-slate-100">
        {sessions.data?.items.map((session) => (
          <li key={session.id} className="py-2 text-sm">
            <Link
              to="/projects/$projectId/sessions/$sessionId"
              params={{ projectId, sessionId: session.id }}
              className="font-medium text-indigo-700 underline"
            >
              {session.title}
            </Link>
            <span className="ml-2 text-xs text-slate-500">{session.updatedAt.toLocaleString()}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}
