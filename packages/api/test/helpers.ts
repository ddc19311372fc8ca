import { randomBytes } from 'node:crypto';
import { createTestDb } from '@leonidas/db/testing';
import { TRPCError } from '@trpc/server';
import { expect } from 'vitest';
import { type ApiDeps, createApiDeps, createContext } from '../src/context.js';
import { parseApiEnv } from '../src/env.js';
import { appRouter } from '../src/root.js';
import { createCallerFactory } from '../src/trpc.js';

export class TestClock {
  constructor(public current = Date.now()) {}
  now = () => this.current;
  advance(ms: number) {
    this.current += ms;
  }
}

const createCaller = createCallerFactory(appRouter);

export interface TestApi {
  deps: ApiDeps;
  clock: TestClock;
  secret: string;
  /** A caller as an anonymous client, or as the holder of `accessToken`. */
  caller(accessToken?: string, clientIp?: string): ReturnType<typeof createCaller>;
}

export async function createTestApi(env: Record<string, string> = {}): Promise<TestApi> {
  const db = await createTestDb();
  const clock = new TestClock();
  const secret = randomBytes(32).toString('base64url');
  const deps = createApiDeps({ db, clock, env: { ...parseApiEnv(env), JWT_SECRET: secret } });
  return {
    deps,
    clock,
    secret,
    caller: (accessToken, clientIp = '127.0.0.1') =>
      createCaller(
        createContext(deps, { authorization: accessToken ? `Bearer ${accessToken}` : undefined, clientIp }),
      ),
  };
}

let counter = 0;
export const uniqueEmail = (label = 'user') => `${label}.${Date.now()}.${counter++}@example.com`;

export async function signUp(api: TestApi, label?: string) {
  const email = uniqueEmail(label);
  const password = 'correct horse battery';
  const result = await api.caller().auth.register({ email, password });
  return { ...result, email, password, as: api.caller(result.accessToken) };
}

/** Awaits a call that must fail and returns the TRPCError, asserting its code. */
export async function expectTrpcError(call: Promise<unknown>, code: TRPCError['code']): Promise<TRPCError> {
  const error = await call.then(
    () => {
      throw new Error(`expected ${code}, but the call succeeded`);
    },
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(TRPCError);
  expect((error as TRPCError).code).toBe(code);
  return error as TRPCError;
}
