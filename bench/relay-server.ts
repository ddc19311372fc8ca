/**
 * The baseline for chat-stream.bench.ts: a bare Node HTTP server that relays a model's tokens as SSE, with no
 * framework, auth, persistence or fan-out. Arguments: model base URL, port.
 */
import { createServer } from 'node:http';

const [modelUrl, port] = process.argv.slice(2) as [string, string];

createServer(async (_req, res) => {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const upstream = await fetch(`${modelUrl}/chat/completions`, { method: 'POST', body: '{}' });
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of upstream.body ?? []) {
    buffer += decoder.decode(chunk as Uint8Array, { stream: true });
    let end = buffer.indexOf('\n\n');
    while (end >= 0) {
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      end = buffer.indexOf('\n\n');
      const data = line.replace(/^data: /, '');
      if (data === '[DONE]') continue;
      const content = (JSON.parse(data) as { choices: { delta: { content?: string } }[] }).choices[0]?.delta
        .content;
      if (content) res.write(`data: ${content}\n\n`);
    }
  }
  res.end('event: done\ndata: end\n\n');
}).listen(Number(port), '127.0.0.1', () => process.send?.('ready'));
