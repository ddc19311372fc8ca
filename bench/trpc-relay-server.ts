/**
 * The framework floor for chat-stream.bench.ts: the same tokens relayed as a tRPC v11 subscription over SSE,
 * through tRPC's Express adapter with superjson and Leonidas' SSE settings, as `tracked` events shaped like
 * Leonidas' deltas; but with no sign-in, storage, run hub or fan-out. What it adds over the bare relay is what
 * the stack Leonidas is built on costs; what Leonidas adds over it is Leonidas' own. Arguments: model base URL,
 * port.
 */
import { initTRPC, tracked } from '@trpc/server';
import { createExpressMiddleware } from '@trpc/server/adapters/express';
import express from 'express';
import superjson from 'superjson';
import { takeModelTokens } from './token-model.js';

const [modelUrl, port] = process.argv.slice(2) as [string, string];

const t = initTRPC.create({
  transformer: superjson,
  sse: { ping: { enabled: true, intervalMs: 15_000 }, client: { reconnectAfterInactivityMs: 30_000 } },
});

const router = t.router({
  relay: t.procedure.subscription(async function* ({ signal }) {
    const upstream = await fetch(`${modelUrl}/chat/completions`, { method: 'POST', body: '{}', signal });
    const decoder = new TextDecoder();
    let buffer = '';
    let id = 0;
    for await (const chunk of upstream.body ?? []) {
      const { tokens, rest } = takeModelTokens(
        buffer + decoder.decode(chunk as Uint8Array, { stream: true }),
      );
      buffer = rest;
      for (const text of tokens) yield tracked(String(++id), { type: 'message.delta', runId: 'r', text });
    }
  }),
});

const app = express();
app.use('/trpc', createExpressMiddleware({ router }));
app.listen(Number(port), '127.0.0.1', () => process.send?.('ready'));
