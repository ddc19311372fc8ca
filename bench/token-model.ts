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
