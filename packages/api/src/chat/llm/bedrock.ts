import {
  type Message as BedrockMessage,
  BedrockRuntimeClient,
  type ContentBlock,
  ConverseStreamCommand,
  type Tool,
} from '@aws-sdk/client-bedrock-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import {
  type ChatRequest,
  type ChatTurn,
  type LlmProvider,
  ProviderError,
  type ProviderEvent,
  parseToolInput,
} from './types.js';

export interface BedrockOptions {
  modelId: string;
  region: string;
  /** For a local stand-in speaking the ConverseStream protocol (tests); unset for AWS. */
  endpoint?: string | undefined;
  credentials?: { accessKeyId: string; secretAccessKey: string } | undefined;
  maxTokens: number;
}

/** AWS Bedrock through ConverseStream: text deltas, tool use, usage. Credentials come from the AWS chain. */
export class BedrockProvider implements LlmProvider {
  readonly name = 'bedrock' as const;
  readonly model: string;
  private readonly client: BedrockRuntimeClient;

  constructor(private readonly options: BedrockOptions) {
    this.model = options.modelId;
    this.client = new BedrockRuntimeClient({
      region: options.region,
      ...(options.endpoint
        ? // A local HTTP/1.1 stand-in cannot speak the SDK's default HTTP/2.
          { endpoint: options.endpoint, requestHandler: new NodeHttpHandler() }
        : {}),
      ...(options.credentials ? { credentials: options.credentials } : {}),
    });
  }

  async *stream(request: ChatRequest): AsyncIterable<ProviderEvent> {
    const response = await this.client.send(
      new ConverseStreamCommand({
        modelId: this.options.modelId,
        system: [{ text: request.system }],
        messages: request.messages.map(toBedrockMessage),
        inferenceConfig: { maxTokens: this.options.maxTokens },
        ...(request.tools.length > 0
          ? {
              toolConfig: {
                tools: request.tools.map(
                  (tool): Tool => ({
                    toolSpec: {
                      name: tool.name,
                      description: tool.description,
                      inputSchema: { json: tool.inputSchema as never },
                    },
                  }),
                ),
              },
            }
          : {}),
      }),
      { abortSignal: request.signal },
    );
    if (!response.stream) throw new ProviderError('Bedrock returned no stream');

    const toolBlocks = new Map<number, { id: string; name: string; input: string }>();
    for await (const event of response.stream) {
      if (event.contentBlockStart?.start?.toolUse) {
        const { toolUseId = '', name = '' } = event.contentBlockStart.start.toolUse;
        toolBlocks.set(event.contentBlockStart.contentBlockIndex ?? 0, { id: toolUseId, name, input: '' });
      } else if (event.contentBlockDelta) {
        const { delta, contentBlockIndex = 0 } = event.contentBlockDelta;
        if (delta?.text) yield { type: 'text', text: delta.text };
        const block = toolBlocks.get(contentBlockIndex);
        if (delta?.toolUse?.input && block) block.input += delta.toolUse.input;
      } else if (event.contentBlockStop) {
        const block = toolBlocks.get(event.contentBlockStop.contentBlockIndex ?? 0);
        if (block) {
          toolBlocks.delete(event.contentBlockStop.contentBlockIndex ?? 0);
          yield { type: 'tool_use', id: block.id, name: block.name, input: parseToolInput(block.input) };
        }
      } else if (event.metadata?.usage) {
        yield {
          type: 'usage',
          inputTokens: event.metadata.usage.inputTokens ?? 0,
          outputTokens: event.metadata.usage.outputTokens ?? 0,
        };
      } else {
        const failure =
          event.internalServerException ??
          event.modelStreamErrorException ??
          event.throttlingException ??
          event.validationException ??
          event.serviceUnavailableException;
        if (failure) throw new ProviderError(failure.message ?? 'Bedrock stream failed');
      }
    }
  }
}

function toBedrockMessage(turn: ChatTurn): BedrockMessage {
  return {
    role: turn.role,
    content: turn.content.map((part): ContentBlock => {
      if (part.type === 'text') return { text: part.text };
      if (part.type === 'tool_use')
        return { toolUse: { toolUseId: part.id, name: part.name, input: part.input as never } };
      return { toolResult: { toolUseId: part.toolUseId, content: [{ text: part.content }] } };
    }),
  };
}
