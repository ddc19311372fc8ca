/**
 * The baseline for chat-stream.bench.ts: a bare Node HTTP server that relays a model's tokens as SSE, with no
 * framework, auth, persistence or fan-out. Arguments: model base URL, port.
 */
import { createServer } from 'node:http';
import { takeModelTokens } from './token-model.js';

const [modelUrl, port] = process.argv.slice(2) as [string, string];

createServer(async (_req, res) => {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const upstream = await fetch(`${modelUrl}/chat/completions`, { method: 'POST', body: '{}' });
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of upstream.body ?? []) {
    const { tokens, rest } = takeModelTokens(buffer + decoder.decode(chunk as Uint8Array, { stream: true }));
    buffer = rest;
    for (const token of tokens) res.write(`data: ${token}\n\n`);
  }
  res.end('event: done\ndata: end\n\n');
}).listen(Number(port), '127.0.0.1', () => process.send?.('ready'));
