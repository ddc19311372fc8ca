/** What a stand-in model does for one request: stream text, call a tool, report usage, or break. */
export type WireStep =
  | { text: string; delayMs?: number }
  | { toolCall: { id: string; name: string; input: unknown } }
  | { usage: { input: number; output: number } }
  | { fail: string };

export interface WireRequest {
  /** The result of the model's own latest tool call, or else the latest text the user wrote. */
  lastUserText: string;
  /** Whether the request answers a tool call the model made (the server's own context does not count). */
  hasToolResult: boolean;
  /** The results (JSON text) of the tool calls the model made since the user's latest text, in order. */
  toolResults: string[];
  toolNames: string[];
  body: unknown;
}

export type WireScript = (request: WireRequest) => WireStep[];

/** The server adds context (the project's files) as tool results under ids with this prefix. */
export const isContextCall = (id: string | undefined) => id?.startsWith('context_') ?? false;

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A default conversation: a tool call when asked for files, then an answer that quotes the tool result. */
export const toolThenAnswer: WireScript = (request) => {
  if (request.hasToolResult) {
    return [
      { text: 'You have ' },
      { text: `these files: ${request.lastUserText}` },
      { usage: { input: 30, output: 8 } },
    ];
  }
  if (/files/i.test(request.lastUserText) && request.toolNames.includes('list_files')) {
    return [
      { text: 'Let me check. ' },
      { toolCall: { id: 'call_1', name: 'list_files', input: {} } },
      { usage: { input: 20, output: 5 } },
    ];
  }
  return [{ text: 'Hello ' }, { text: 'from ' }, { text: 'the model.' }, { usage: { input: 12, output: 3 } }];
};
