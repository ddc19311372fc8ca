import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isContextCall, sleep, type WireScript } from './script.js';

interface OpenAiBody {
  model: string;
  messages: { role: string; content?: string | null; tool_call_id?: string }[];
  tools?: { function: { name: string } }[];
}

/**
 * Speaks OpenAI's streaming chat-completions protocol (SSE `data:` chunks, tool-call deltas, a usage chunk,
 * `[DONE]`), so the real `openai` SDK can be tested against it. `fail` closes the socket mid-stream.
 */
export async function startOpenAiServer(
  script: WireScript,
): Promise<{ baseUrl: string; requests: OpenAiBody[]; stop(): Promise<void> }> {
  const requests: OpenAiBody[] = [];
  const server: Server = createServer(async (req, res) => {
    if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
      res.writeHead(404).end();
      return;
    }
    const body = JSON.parse(await readBody(req)) as OpenAiBody;
    requests.push(body);
    const last = body.messages.at(-1);
    const answersToolCall = last?.role === 'tool' && !isContextCall(last.tool_call_id);
    const userText = body.messages.findLast((message) => message.role === 'user')?.content;
    const asked = body.messages.findLastIndex((message) => message.role === 'user');
    const toolResults = body.messages
      .slice(asked + 1)
      .filter((message) => message.role === 'tool' && !isContextCall(message.tool_call_id))
      .map((message) => message.content ?? '');
    const steps = script({
      lastUserText: (answersToolCall ? last?.content : userText) ?? '',
      hasToolResult: answersToolCall,
      toolResults,
      toolNames: (body.tools ?? []).map((tool) => tool.function.name),
      body,
    });
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    const chunk = (delta: object, finish: string | null = null) =>
      `data: ${JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 0, model: body.model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    let toolIndex = 0;
    let finish = 'stop';
    for (const step of steps) {
      if ('fail' in step) {
        // Let what was written reach the client, then drop the connection without an end.
        await sleep(50);
        res.destroy();
        return;
      }
      if ('text' in step) {
        if (step.delayMs) await sleep(step.delayMs);
        res.write(chunk({ content: step.text }));
      } else if ('toolCall' in step) {
        const index = toolIndex++;
        finish = 'tool_calls';
        res.write(
          chunk({
            tool_calls: [
              {
                index,
                id: step.toolCall.id,
                type: 'function',
                function: { name: step.toolCall.name, arguments: '' },
              },
            ],
          }),
        );
        const args = JSON.stringify(step.toolCall.input);
        // Arguments arrive in pieces, as real servers send them.
        for (const piece of [args.slice(0, 1), args.slice(1)]) {
          res.write(chunk({ tool_calls: [{ index, function: { arguments: piece } }] }));
        }
      } else {
        res.write(chunk({}, finish));
        res.write(
          `data: ${JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 0, model: body.model, choices: [], usage: { prompt_tokens: step.usage.input, completion_tokens: step.usage.output, total_tokens: step.usage.input + step.usage.output } })}\n\n`,
        );
      }
    }
    res.end('data: [DONE]\n\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      data += chunk;
    });
    req.on('end', () => resolve(data));
    req.on('error', reject);
  });
}
