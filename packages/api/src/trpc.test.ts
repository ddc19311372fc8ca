import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Context } from './context.js';
import { publicProcedure, router } from './trpc.js';

const testRouter = router({
  echo: publicProcedure.input(z.strictObject({ name: z.string().min(2) })).query(({ input }) => input),
  // A bug of ours: the output does not match its schema.
  broken: publicProcedure.output(z.object({ count: z.number() })).query(() => ({ count: 'many' }) as never),
});

async function call(path: string, input: unknown) {
  const url = `http://localhost/trpc/${path}?input=${encodeURIComponent(JSON.stringify({ json: input }))}`;
  const response = await fetchRequestHandler({
    endpoint: '/trpc',
    req: new Request(url),
    router: testRouter,
    createContext: () => ({}) as Context,
  });
  return {
    status: response.status,
    body: (await response.json()) as { error: { json: Record<string, unknown> } },
  };
}

describe('errors as clients see them', () => {
  it('gives field errors for invalid input', async () => {
    const { status, body } = await call('echo', { name: 'x' });
    expect(status).toBe(400);
    expect(body.error.json).toMatchObject({
      message: expect.stringMatching(/^Invalid input: name:/),
      data: { code: 'BAD_REQUEST', zodError: { fieldErrors: { name: [expect.any(String)] } } },
    });
  });

  it('keeps an output that fails its own schema to itself: a plain internal error, no field errors', async () => {
    const { status, body } = await call('broken', {});
    expect(status).toBe(500);
    expect(body.error.json).toMatchObject({
      message: 'Something went wrong on our side. Please try again.',
      data: { code: 'INTERNAL_SERVER_ERROR', zodError: null },
    });
    expect(JSON.stringify(body)).not.toMatch(/count|many|expected number/);
  });
});
