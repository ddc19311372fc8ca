import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventStreamCodec } from '@smithy/eventstream-codec';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';
import { readBody } from './openai-server.js';
import { isContextCall, sleep, type WireScript } from './script.js';

interface ConverseBody {
  messages: {
    role: string;
    content: { text?: string; toolResult?: { toolUseId: string; content: { text: string }[] } }[];
  }[];
  toolConfig?: { tools: { toolSpec: { name: string } }[] };
}

const codec = new EventStreamCodec(toUtf8, fromUtf8);

function frame(type: string, payload: object, messageType: 'event' | 'exception' = 'event'): Uint8Array {
  return codec.encode({
    headers: {
      [messageType === 'event' ? ':event-type' : ':exception-type']: { type: 'string', value: type },
      ':content-type': { type: 'string', value: 'application/json' },
      ':message-type': { type: 'string', value: messageType },
    },
    body: fromUtf8(JSON.stringify(payload)),
  });
}

/**
 * Speaks Bedrock's ConverseStream protocol (`POST /model/<id>/converse-stream`, AWS event-stream frames), so the
 * real Bedrock SDK can be tested against it. `fail` sends an internalServerException frame mid-stream.
 */
export async function startBedrockServer(
  script: WireScript,
): Promise<{ endpoint: string; requests: { modelId: string; body: ConverseBody }[]; stop(): Promise<void> }> {
  const requests: { modelId: string; body: ConverseBody }[] = [];
  const server: Server = createServer(async (req, res) => {
    const match = /^\/model\/([^/]+)\/converse-stream$/.exec(req.url ?? '');
    if (req.method !== 'POST' || !match?.[1]) {
      res.writeHead(404).end();
      return;
    }
    const body = JSON.parse(await readBody(req)) as ConverseBody;
    requests.push({ modelId: decodeURIComponent(match[1]), body });
    const toolResult = body.messages
      .at(-1)
      ?.content.find((part) => part.toolResult && !isContextCall(part.toolResult.toolUseId))?.toolResult;
    const userText = body.messages
      .filter((message) => message.role === 'user')
      .flatMap((message) => message.content.flatMap((part) => (part.text === undefined ? [] : [part.text])))
      .at(-1);
    const asked = body.messages.findLastIndex(
      (message) => message.role === 'user' && message.content.some((part) => part.text !== undefined),
    );
    const toolResults = body.messages
      .slice(asked + 1)
      .flatMap((message) => message.content)
      .flatMap((part) =>
        part.toolResult && !isContextCall(part.toolResult.toolUseId)
          ? [part.toolResult.content[0]?.text ?? '']
          : [],
      );
    const steps = script({
      lastUserText: (toolResult ? toolResult.content[0]?.text : userText) ?? '',
      hasToolResult: toolResult !== undefined,
      toolResults,
      toolNames: (body.toolConfig?.tools ?? []).map((tool) => tool.toolSpec.name),
      body,
    });
    res.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream', 'x-amzn-requestid': 'local' });
    res.write(frame('messageStart', { role: 'assistant' }));
    let block = 0;
    let stopReason = 'end_turn';
    let textOpen = false;
    for (const step of steps) {
      if ('fail' in step) {
        res.end(frame('internalServerException', { message: step.fail }, 'exception'));
        return;
      }
      if ('text' in step) {
        if (step.delayMs) await sleep(step.delayMs);
        textOpen = true;
        res.write(frame('contentBlockDelta', { contentBlockIndex: block, delta: { text: step.text } }));
      } else if ('toolCall' in step) {
        if (textOpen) {
          res.write(frame('contentBlockStop', { contentBlockIndex: block }));
          block++;
          textOpen = false;
        }
        stopReason = 'tool_use';
        res.write(
          frame('contentBlockStart', {
            contentBlockIndex: block,
            start: { toolUse: { toolUseId: step.toolCall.id, name: step.toolCall.name } },
          }),
        );
        res.write(
          frame('contentBlockDelta', {
            contentBlockIndex: block,
            delta: { toolUse: { input: JSON.stringify(step.toolCall.input) } },
          }),
        );
        res.write(frame('contentBlockStop', { contentBlockIndex: block }));
        block++;
      } else {
        if (textOpen) res.write(frame('contentBlockStop', { contentBlockIndex: block }));
        textOpen = false;
        res.write(frame('messageStop', { stopReason }));
        res.write(
          frame('metadata', {
            usage: {
              inputTokens: step.usage.input,
              outputTokens: step.usage.output,
              totalTokens: step.usage.input + step.usage.output,
            },
            metrics: { latencyMs: 1 },
          }),
        );
      }
    }
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
