import OpenAI, { APIError } from 'openai';
import type {
  ChatCompletionChunk,
  ChatCompletionMessageParam,
  ChatCompletionTool,
} from 'openai/resources/chat/completions';
import { sseEvents } from './sse.js';
import {
  type ChatRequest,
  type ChatTurn,
  type LlmProvider,
  ProviderError,
  type ProviderEvent,
  parseToolInput,
} from './types.js';

export interface OpenAiOptions {
  baseUrl: string;
  apiKey: string;
  model: string;
  maxTokens: number;
}

/** Any OpenAI-compatible chat-completions server with streaming and tools: OpenAI, Ollama, vLLM, llama.cpp. */
export class OpenAiProvider implements LlmProvider {
  readonly name = 'openai' as const;
  readonly model: string;
  private readonly client: OpenAI;
  private readonly maxTokens: number;

  constructor(options: OpenAiOptions) {
    this.model = options.model;
    this.maxTokens = options.maxTokens;
    this.client = new OpenAI({ baseURL: options.baseUrl, apiKey: options.apiKey, maxRetries: 1 });
  }

  /**
   * The SDK builds, sends and retries the request and turns an error answer into its `APIError`; the stream
   * itself is read here, straight off the body: the SDK's reader takes every token through several web streams,
   * a line decoder and three async generators, which cost more than the rest of the token's way to the client.
   */
  async *stream(request: ChatRequest): AsyncIterable<ProviderEvent> {
    const response = await this.client.chat.completions
      .create(
        {
          model: this.model,
          stream: true,
          stream_options: { include_usage: true },
          max_tokens: this.maxTokens,
          messages: [
            { role: 'system', content: request.system },
            ...request.messages.flatMap(toOpenAiMessages),
          ],
          ...(request.tools.length > 0
            ? {
                tools: request.tools.map(
                  (tool): ChatCompletionTool => ({
                    type: 'function',
                    function: {
                      name: tool.name,
                      description: tool.description,
                      parameters: tool.inputSchema,
                    },
                  }),
                ),
              }
            : {}),
        },
        { signal: request.signal },
      )
      .asResponse();
    if (!response.body) throw new ProviderError('The model answered with no stream.');

    const calls = new Map<number, { id: string; name: string; args: string }>();
    let done = false;
    for await (const { event, data } of sseEvents(response.body)) {
      // Read on to the end after [DONE] rather than cancel the body, so the connection can be used again.
      if (done || data.startsWith('[DONE]')) {
        done = true;
        continue;
      }
      const chunk = JSON.parse(data) as ChatCompletionChunk & { error?: unknown };
      if (chunk.error || event === 'error') {
        throw new APIError(undefined, chunk.error ?? chunk, undefined, response.headers);
      }
      const choice = chunk.choices?.[0];
      if (choice?.delta.content) yield { type: 'text', text: choice.delta.content };
      for (const call of choice?.delta.tool_calls ?? []) {
        const current = calls.get(call.index) ?? { id: '', name: '', args: '' };
        calls.set(call.index, {
          id: call.id ?? current.id,
          name: current.name + (call.function?.name ?? ''),
          args: current.args + (call.function?.arguments ?? ''),
        });
      }
      if (chunk.usage) {
        yield {
          type: 'usage',
          inputTokens: chunk.usage.prompt_tokens,
          outputTokens: chunk.usage.completion_tokens,
        };
      }
    }
    for (const call of [...calls.entries()].sort(([a], [b]) => a - b).map(([, value]) => value)) {
      yield { type: 'tool_use', id: call.id, name: call.name, input: parseToolInput(call.args) };
    }
  }
}

function toOpenAiMessages(turn: ChatTurn): ChatCompletionMessageParam[] {
  const text = turn.content.flatMap((part) => (part.type === 'text' ? [part.text] : [])).join('');
  if (turn.role === 'assistant') {
    const toolCalls = turn.content.flatMap((part) =>
      part.type === 'tool_use'
        ? [
            {
              id: part.id,
              type: 'function' as const,
              function: { name: part.name, arguments: JSON.stringify(part.input) },
            },
          ]
        : [],
    );
    return [
      {
        role: 'assistant',
        content: text || null,
        ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
      },
    ];
  }
  const results = turn.content.flatMap((part) =>
    part.type === 'tool_result'
      ? [{ role: 'tool' as const, tool_call_id: part.toolUseId, content: part.content }]
      : [],
  );
  return [...results, ...(text ? [{ role: 'user' as const, content: text }] : [])];
}
