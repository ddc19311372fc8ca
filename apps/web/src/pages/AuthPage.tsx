import { useMutation } from '@tanstack/react-query';
import { Link, useNavigate } from '@tanstack/react-router';
import { type FormEvent, useState } from 'react';
import { Button, ErrorNote, TextField } from '../components/ui.js';
import { signIn } from '../lib/auth.js';
import { useTRPC } from '../lib/trpc.js';

type FieldErrors = Partial<Record<'email' | 'password' | 'name', string>>;

function fieldErrorsOf(error: unknown): FieldErrors {
  const data = (
    error as { data?: { zodError?: { fieldErrors?: Record<string, string[] | undefined> } | null } }
  ).data;
  const fields = data?.zodError?.fieldErrors ?? {};
  return { email: fields.email?.[0], password: fields.password?.[0], name: fields.name?.[0] };
}

export function AuthPage({ mode }: { mode: 'login' | 'signup' }) {
  const trpc = useTRPC();
  const navigate = useNavigate();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [name, setName] = useState('');
  const onSuccess = (result: Parameters<typeof signIn>[0]) => {
    signIn(result);
    void navigate({ to: '/' });
  };
  const login = useMutation(trpc.auth.login.mutationOptions({ onSuccess }));
  const register = useMutation(trpc.auth.register.mutationOptions({ onSuccess }));
  const active = mode === 'login' ? login : register;
  const fieldErrors = active.error ? fieldErrorsOf(active.error) : {};
  const hasFieldErrors = Object.values(fieldErrors).some(Boolean);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    // The refresh token goes into an HttpOnly cookie, out of this page's reach; the response carries no copy.
    if (mode === 'login') login.mutate({ email, password, refreshTokenIn: 'cookie' });
    else register.mutate({ email, password, refreshTokenIn: 'cookie', ...(name.trim() ? { name } : {}) });
  };

  return (
    <main className="mx-auto mt-16 w-full max-w-sm px-4">
      <h1 className="text-2xl font-semibold">
        {mode === 'login' ? 'Log in to Leonidas' : 'Create your Leonidas account'}
      </h1>
      <p className="mt-1 text-sm text-slate-600">Your data, and DS Bro to help you make sense of it.</p>
      <form className="mt-6 flex flex-col gap-4" onSubmit={submit} noValidate>
        {mode === 'signup' ? (
          <TextField
            label="Name"
            value={name}
            onChange={(e) => setName(e.target.value)}
            autoComplete="name"
            error={fieldErrors.name}
          />
        ) : null}
        <TextField
          label="Email"
          type="email"
          value={email}
          onChange={(e) => setEmail(e.target.value)}
          autoComplete="email"
          required
          error={fieldErrors.email}
        />
        <TextField
          label="Password"
          type="password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          autoComplete={mode === 'login' ? 'current-password' : 'new-password'}
          required
          error={fieldErrors.password}
        />
        {active.error && !hasFieldErrors ? <ErrorNote>{active.error.message}</ErrorNote> : null}
        <Button type="submit" disabled={active.isPending}>
          {mode === 'login' ? 'Log in' : 'Sign up'}
        </Button>
      </form>
      <p className="mt-4 text-sm text-slate-600">
        {mode === 'login' ? (
          <>
            New here?{' '}
            <Link to="/signup" className="text-indigo-600 underline">
              Create an account
            </Link>
          </>
        ) : (
          <>
            Already have an account?{' '}
            <Link to="/login" className="text-indigo-600 underline">
              Log in
            </Link>
          </>
        )}
      </p>
    </main>
  );
}
