/** Provider-neutral conversation: what every LLM provider is given. */
export type ContentPart =
  | { type: 'text'; text: string }
  | { type: 'tool_use'; id: string; name: string; input: unknown }
  | { type: 'tool_result'; toolUseId: string; content: string };

export interface ChatTurn {
  role: 'user' | 'assistant';
  content: ContentPart[];
}

export interface ToolSpec {
  name: string;
  description: string;
  /** JSON Schema of the tool's input object. */
  inputSchema: Record<string, unknown>;
}

export type ProviderEvent =
  | { type: 'text'; text: string }
  | { type: 'tool_use'; id: string; name: string; input: unknown }
  | { type: 'usage'; inputTokens: number; outputTokens: number };

export interface ChatRequest {
  system: string;
  messages: ChatTurn[];
  tools: ToolSpec[];
  signal: AbortSignal;
}

export interface LlmProvider {
  readonly name: 'bedrock' | 'openai' | 'offline';
  readonly model: string;
  /** Streams one model turn; throws (mid-stream too) when the provider fails. */
  stream(request: ChatRequest): AsyncIterable<ProviderEvent>;
}

export class ProviderError extends Error {
  override name = 'ProviderError';
}

/** Tool input arrives as JSON text in pieces; a model that sends broken JSON gets an empty input. */
export function parseToolInput(text: string): unknown {
  if (!text) return {};
  try {
    return JSON.parse(text);
  } catch {
    return {};
  }
}
