import type { CsvMetadata } from '../../file/schema.js';
import type { ChatRequest, ChatTurn, LlmProvider, ProviderEvent } from './types.js';

export const OFFLINE_MODEL = 'ds-bro-offline';

const NO_MODEL = [
  "I'm DS Bro in offline mode: no language model is configured, so I can't chat freely yet.",
  'What I can do right now: **list your files** ("what files do I have?"), **describe a file** ("describe sales.csv") and **show its first rows** ("show the first 10 rows of sales.csv").',
  'To talk about anything else, set `LLM_PROVIDER=bedrock` (with `BEDROCK_MODEL_ID` and AWS credentials) or `LLM_PROVIDER=openai` (with `OPENAI_BASE_URL`, `OPENAI_API_KEY` and `OPENAI_MODEL`, which also covers Ollama, vLLM and llama.cpp) and restart the server.',
].join('\n\n');

const HELP = [
  "Hey! I'm DS Bro, your data scientist. I'm running offline (no language model configured), but I can still work with your data:",
  '- "what files do I have?" lists the project\'s files',
  '- "describe sales.csv" profiles a file: rows, column types, nulls, distinct values, min/max/mean',
  '- "show the first 10 rows of sales.csv" shows the top of a file',
  'Upload a CSV to the project and ask away.',
].join('\n');

type Intent =
  | { kind: 'help' }
  | { kind: 'list' }
  | { kind: 'describe'; filename: string; rows: number }
  | { kind: 'unknown' };

/**
 * The embedded default: no language model. It recognises a few intents, answers them through the same tools a
 * model would call (so tool calls show up as events), and otherwise says how to configure a model.
 */
export class OfflineProvider implements LlmProvider {
  readonly name = 'offline' as const;
  readonly model = OFFLINE_MODEL;

  constructor(private readonly options: { tokenDelayMs: number }) {}

  async *stream(request: ChatRequest): AsyncIterable<ProviderEvent> {
    // Only results of its own calls are answered; the context the server adds (the file listing) is not a
    // question, so the latest thing the user wrote is.
    const ownResult = request.messages
      .at(-1)
      ?.content.find((part) => part.type === 'tool_result' && part.toolUseId.startsWith(OWN_CALL_PREFIX));
    if (ownResult?.type === 'tool_result') {
      const call = findToolUse(request.messages, ownResult.toolUseId);
      yield* this.say(answerFromTool(call?.name ?? '', parse(ownResult.content)), request.signal);
      return;
    }
    const intent = recognise(latestUserText(request.messages));
    if (intent.kind === 'list') {
      yield { type: 'tool_use', id: `${OWN_CALL_PREFIX}list`, name: 'list_files', input: {} };
    } else if (intent.kind === 'describe') {
      yield {
        type: 'tool_use',
        id: `${OWN_CALL_PREFIX}describe`,
        name: 'describe_file',
        input: { filename: intent.filename, rows: intent.rows },
      };
    } else {
      yield* this.say(intent.kind === 'help' ? HELP : NO_MODEL, request.signal);
    }
  }

  /** Streams the answer a few characters at a time, as a model would. */
  private async *say(text: string, signal: AbortSignal): AsyncIterable<ProviderEvent> {
    for (const piece of text.match(/\S+\s*|\s+/g) ?? []) {
      if (signal.aborted) return;
      if (this.options.tokenDelayMs > 0) await sleep(this.options.tokenDelayMs, signal);
      yield { type: 'text', text: piece };
    }
  }
}

/**
 * The commands are short: only the start of a message is read for them, so a 32,000-character message costs no
 * more than a short one.
 */
const MAX_COMMAND_CHARS = 500;

export function recognise(message: string): Intent {
  const text = message.slice(0, MAX_COMMAND_CHARS);
  const lower = text.toLowerCase().trim();
  const words = lower.split(/\s+/);
  const filename = mentionedFile(text);
  const rows = Number(/\b(?:first|top|head)\s+(\d{1,2})\b/.exec(lower)?.[1] ?? 5);
  const asksForRows =
    words.some((word) => /^(first|top|head)$/.test(word)) && words.some((word) => /^rows?\b/.test(word));
  if (
    /\b(describe|profile|summari[sz]e|columns?|tell me about|look at|analy[sz]e)\b/.test(lower) ||
    asksForRows
  ) {
    const named =
      filename ??
      /\b(?:describe|profile|summari[sz]e|about|of|analy[sz]e)\s+(?:the\s+)?(?:file\s+)?["'`]?([\p{L}\p{N}_\-.]{1,255})/iu.exec(
        text,
      )?.[1];
    if (named) return { kind: 'describe', filename: named, rows: Math.min(Math.max(rows, 1), 20) };
  }
  if (
    /\b(files?|data ?sets?|uploads?|tables?)\b/.test(lower) &&
    /\b(what|which|list|show|have|my|any)\b/.test(lower)
  ) {
    return { kind: 'list' };
  }
  if (/^(hi|hey|hello|yo|help|what can you do|who are you)\b/.test(lower) || lower === '?')
    return { kind: 'help' };
  return { kind: 'unknown' };
}

/**
 * The first name of a CSV or TSV file: a quoted one (`"Q1 (final).csv"`, spaces allowed), else a word
 * (`sales.csv`), found by splitting the text into words once rather than by a pattern that retries from every
 * position (the text is already short).
 */
function mentionedFile(text: string): string | undefined {
  const quoted = /(["'`])([^"'`\n]{1,255}?\.(?:csv|tsv))\1/i.exec(text)?.[2];
  if (quoted) return quoted;
  for (const word of text.split(/[\s"'`,;:!?]+/)) {
    const name = word.replace(/[^\p{L}\p{N}_\-.()]+$/u, '');
    if (/\.(?:csv|tsv)$/i.test(name) && /^[\p{L}\p{N}_\-.()]+$/u.test(name)) return name;
  }
  return undefined;
}

const OWN_CALL_PREFIX = 'offline-';

function latestUserText(messages: ChatTurn[]): string {
  for (const turn of [...messages].reverse()) {
    if (turn.role !== 'user') continue;
    const texts = turn.content.flatMap((part) => (part.type === 'text' ? [part.text] : []));
    if (texts.length > 0) return texts.join(' ');
  }
  return '';
}

function findToolUse(messages: ChatTurn[], id: string) {
  for (const turn of messages) {
    for (const part of turn.content) if (part.type === 'tool_use' && part.id === id) return part;
  }
  return undefined;
}

function parse(content: string): unknown {
  try {
    return JSON.parse(content);
  } catch {
    return content;
  }
}

type FileSummary = {
  name: string;
  status: string;
  sizeBytes: number;
  rowCount?: number;
  columns?: string[];
  failureReason?: string;
};
type Described = {
  name?: string;
  error?: string;
  files?: string[];
  status?: string;
  failureReason?: string;
  profile?: CsvMetadata;
  firstRows?: { columns: string[]; rows: unknown[][] };
};

function answerFromTool(tool: string, result: unknown): string {
  if (tool === 'list_files') {
    const files = ((result as { files?: FileSummary[] }).files ?? []) as FileSummary[];
    if (files.length === 0) return "This project has no files yet. Upload a CSV and I'll take a look.";
    const lines = files.map(
      (file) =>
        `| ${cell(file.name)} | ${file.status} | ${file.rowCount !== undefined ? formatNumber(file.rowCount) : '-'} | ${file.columns?.length ?? '-'} |`,
    );
    return [
      `You have ${files.length} file${files.length === 1 ? '' : 's'} in this project:`,
      '',
      '| File | Status | Rows | Columns |',
      '|---|---|---:|---:|',
      ...lines,
      '',
      'Say "describe <file name>" and I\'ll profile one.',
    ].join('\n');
  }
  const described = result as Described;
  if (described.error) {
    const known = described.files?.length
      ? ` Files here: ${described.files.join(', ')}.`
      : ' This project has no files yet.';
    return `${described.error}${known}`;
  }
  if (!described.profile) {
    return `**${described.name}** is not ready yet (status: ${described.status}).${described.failureReason ? ` ${described.failureReason}` : ''}`;
  }
  const profile = described.profile;
  const delimiter = { ',': 'comma', ';': 'semicolon', '\t': 'tab', '|': 'pipe' }[profile.delimiter];
  const columns = profile.columns.map(
    (column) =>
      `| ${cell(column.name)} | ${column.type} | ${formatNumber(column.nullCount)} | ${formatNumber(column.distinctCount)} | ${formatValue(column.min)} | ${formatValue(column.max)} | ${formatValue(column.mean)} |`,
  );
  const first = described.firstRows;
  const rowsTable = first
    ? [
        `| ${first.columns.map(cell).join(' | ')} |`,
        `|${first.columns.map(() => '---').join('|')}|`,
        ...first.rows.map(
          (row) => `| ${row.map((value) => cell(value === null ? '' : String(value))).join(' | ')} |`,
        ),
      ]
    : [];
  return [
    `**${described.name}** has **${formatNumber(profile.rowCount)} rows** and **${profile.columns.length} columns** (${delimiter}-separated${profile.hasHeader ? ', with a header row' : ''}).`,
    '',
    '| Column | Type | Nulls | Distinct | Min | Max | Mean |',
    '|---|---|---:|---:|---:|---:|---:|',
    ...columns,
    ...(first
      ? ['', `First ${first.rows.length} row${first.rows.length === 1 ? '' : 's'}:`, '', ...rowsTable]
      : []),
  ].join('\n');
}

const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ');

export function formatNumber(value: number): string {
  return value.toLocaleString('en-US', { maximumFractionDigits: 4 });
}

function formatValue(value: number | string | undefined): string {
  if (value === undefined) return '-';
  return typeof value === 'number' ? formatNumber(value) : value;
}

/** Waits, or stops waiting when the run is stopped; either way nothing stays listening on the signal. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
