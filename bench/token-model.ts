import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes on one machine. */
export const nowMs = () => performance.timeOrigin + performance.now();

/**
 * A stand-in model speaking OpenAI's streaming protocol that emits `tokens` tokens, one every `intervalMs`;
 * each token is the time it was sent, so a client can measure what the relay in between added.
 */
export async function startTokenModel(
  tokens: number,
  intervalMs: number,
): Promise<{ baseUrl: string; stop(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', async () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (let i = 0; i < tokens; i++) {
        await new Promise((resolve) => setTimeout(resolve, intervalMs));
        const chunk = {
          id: 'c',
          object: 'chat.completion.chunk',
          created: 0,
          model: 'm',
          choices: [{ index: 0, delta: { content: `${nowMs().toFixed(3)} ` }, finish_reason: null }],
        };
        res.write(`data: ${JSON.stringify(chunk)}\n\n`);
      }
      res.end('data: [DONE]\n\n');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * The token texts in what a relay has read of the model's stream so far, and what is left of an event not yet
 * whole: how both bench relays parse the stream, so that they differ only in how they send the tokens on.
 */
export function takeModelTokens(buffer: string): { tokens: string[]; rest: string } {
  const tokens: string[] = [];
  let rest = buffer;
  for (let end = rest.indexOf('\n\n'); end >= 0; end = rest.indexOf('\n\n')) {
    const data = rest.slice(0, end).replace(/^data: /, '');
    rest = rest.slice(end + 2);
    if (data === '[DONE]') continue;
    const content = (JSON.parse(data) as { choices: { delta: { content?: string } }[] }).choices[0]?.delta
      .content;
    if (content) tokens.push(content);
  }
  return { tokens, rest };
}
