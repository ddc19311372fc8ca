import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { collectEvents, createTestApi, signUp } from '../../../test/helpers.js';
import {
  startBedrockServer,
  startOpenAiServer,
  toolThenAnswer,
  type WireScript,
} from '../../../test/wire/index.js';
import { TOOL_SPECS } from '../tools.js';
import { BedrockProvider } from './bedrock.js';
import { OpenAiProvider } from './openai.js';
import type { LlmProvider, ProviderEvent } from './types.js';

const script: WireScript = (request) => {
  if (request.lastUserText === 'break') return [{ text: 'Partial ' }, { fail: 'model exploded' }];
  return toolThenAnswer(request);
};

let bedrock: Awaited<ReturnType<typeof startBedrockServer>>;
let openai: Awaited<ReturnType<typeof startOpenAiServer>>;
beforeAll(async () => {
  bedrock = await startBedrockServer(script);
  openai = await startOpenAiServer(script);
});
afterAll(async () => {
  await bedrock.stop();
  await openai.stop();
});

const providers: [string, () => LlmProvider][] = [
  [
    'bedrock (ConverseStream through @aws-sdk/client-bedrock-runtime)',
    () =>
      new BedrockProvider({
        modelId: 'openai.gpt-oss-120b-1:0',
        region: 'us-east-1',
        endpoint: bedrock.endpoint,
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
        maxTokens: 256,
      }),
  ],
  [
    'openai (chat completions through the openai SDK)',
    () => new OpenAiProvider({ baseUrl: openai.baseUrl, apiKey: 'test', model: 'gpt-test', maxTokens: 256 }),
  ],
];

async function collect(
  provider: LlmProvider,
  text: string,
  extra: Parameters<LlmProvider['stream']>[0]['messages'] = [],
) {
  const events: ProviderEvent[] = [];
  const request = {
    system: 'You are DS Bro.',
    messages: [{ role: 'user' as const, content: [{ type: 'text' as const, text }] }, ...extra],
    tools: TOOL_SPECS,
    signal: new AbortController().signal,
  };
  for await (const event of provider.stream(request)) events.push(event);
  return events;
}

describe.each(providers)('%s', (_label, make) => {
  it('streams text deltas and usage', async () => {
    const events = await collect(make(), 'hi');
    expect(events.filter((e) => e.type === 'text').map((e) => (e as { text: string }).text)).toEqual([
      'Hello ',
      'from ',
      'the model.',
    ]);
    expect(events.at(-1)).toEqual({ type: 'usage', inputTokens: 12, outputTokens: 3 });
  });

  it('turns a tool-use turn into a tool call with parsed input', async () => {
    const events = await collect(make(), 'what files do I have?');
    expect(events).toContainEqual({ type: 'text', text: 'Let me check. ' });
    expect(events).toContainEqual({ type: 'tool_use', id: 'call_1', name: 'list_files', input: {} });
    // The tool result goes back in the provider's own format and the model answers from it.
    const answer = await collect(make(), 'what files do I have?', [
      { role: 'assistant', content: [{ type: 'tool_use', id: 'call_1', name: 'list_files', input: {} }] },
      {
        role: 'user',
        content: [{ type: 'tool_result', toolUseId: 'call_1', content: '{"files":["a.csv"]}' }],
      },
    ]);
    expect(
      answer
        .filter((e) => e.type === 'text')
        .map((e) => (e as { text: string }).text)
        .join(''),
    ).toBe('You have these files: {"files":["a.csv"]}');
  });

  it('throws when the stream breaks mid-way, after what it already delivered', async () => {
    const delivered: ProviderEvent[] = [];
    const run = async () => {
      for await (const event of make().stream({
        system: 's',
        messages: [{ role: 'user', content: [{ type: 'text', text: 'break' }] }],
        tools: [],
        signal: new AbortController().signal,
      })) {
        delivered.push(event);
      }
    };
    await expect(run()).rejects.toThrow();
    expect(delivered).toContainEqual({ type: 'text', text: 'Partial ' });
  });
});

describe('a full chat run on a real provider', () => {
  it('calls list_files, answers from the result, and records provider, model and usage', async () => {
    const api = await createTestApi({
      LLM_PROVIDER: 'bedrock',
      AWS_REGION: 'us-east-1',
      BEDROCK_ENDPOINT: bedrock.endpoint,
    });
    onTestFinished(() => api.close());
    const { as } = await signUp(api);
    const project = await as.project.create({ name: 'Bedrock' });
    const session = await as.session.create({ projectId: project.id });
    await as.chat.send({ sessionId: session.id, content: 'what files do I have?', clientMessageId: '1' });
    const events = await collectEvents(await as.chat.onEvents({ sessionId: session.id }), (got) =>
      got.some((e) => ['message.completed', 'run.failed'].includes(e.data.type)),
    );
    expect(events.map((e) => e.data.type)).toEqual([
      'run.started',
      'message.delta',
      'tool.call',
      'tool.result',
      'message.delta',
      'message.delta',
      'message.completed',
    ]);
    const message = events.at(-1)?.data.message as {
      content: string;
      model: string;
      usage: unknown;
      toolCalls: unknown[];
    };
    expect(message.content).toBe('Let me check. You have these files: {"files":[]}');
    expect(message.model).toBe('bedrock/openai.gpt-oss-120b-1:0');
    expect(message.usage).toEqual({ inputTokens: 50, outputTokens: 13 });
    expect(message.toolCalls).toEqual([
      { callId: 'call_1', name: 'list_files', input: {}, output: { files: [] } },
    ]);
    const sent = bedrock.requests.at(-1);
    expect(sent?.modelId).toBe('openai.gpt-oss-120b-1:0');
  });
});
