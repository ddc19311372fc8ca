import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { useState } from 'react';
import { Button, ErrorNote, Loading, TextField } from '../components/ui.js';
import { useTRPC } from '../lib/trpc.js';

export function ProjectsPage() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const projects = useQuery(trpc.project.list.queryOptions({ limit: 100 }));
  const [name, setName] = useState('');
  const create = useMutation(
    trpc.project.create.mutationOptions({
      onSuccess: () => {
        setName('');
        void queryClient.invalidateQueries({ queryKey: trpc.project.list.queryKey() });
      },
    }),
  );

  return (
    <main className="mx-auto w-full max-w-3xl px-4 py-8">
      <h1 className="text-2xl font-semibold">Projects</h1>
      <form
        className="mt-4 flex flex-wrap items-end gap-2"
        onSubmit={(event) => {
          event.preventDefault();
          create.mutate({ name });
        }}
      >
        <div className="min-w-60 flex-1">
          <TextField
            label="New project name"
            value={name}
            onChange={(e) => setName(e.target.value)}
            placeholder="e.g. Churn study"
          />
        </div>
        <Button type="submit" disabled={create.isPending || !name.trim()}>
          Create project
        </Button>
      </form>
      {create.error ? (
        <div className="mt-2">
          <ErrorNote>{create.error.message}</ErrorNote>
        </div>
      ) : null}
      <section aria-label="Your projects" className="mt-6">
        {projects.isPending ? <Loading label="Loading projects" /> : null}
        {projects.error ? <ErrorNote>{projects.error.message}</ErrorNote> : null}
        {projects.data?.items.length === 0 ? (
          <p className="rounded-lg border border-dashed border-slate-300 p-6 text-center text-slate-600">
            No projects yet. Create one above, then upload a CSV and ask DS Bro about it.
          </p>
        ) : null}
        <ul className="grid gap-3 sm:grid-cols-2">
          {projects.data?.items.map((project) => (
            <li key={project.id}>
              <Link
                to="/projects/$projectId"
                params={{ projectId: project.id }}
                className="block rounded-lg border border-slate-200 bg-white p-4 shadow-sm hover:border-indigo-300"
              >
                <span className="font-medium">{project.name}</span>
                <span className="mt-1 block text-xs text-slate-500">
                  Updated {project.updatedAt.toLocaleString()}
                </span>
              </Link>
            </li>
          ))}
        </ul>
      </section>
    </main>
  );
}
