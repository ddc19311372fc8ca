import { CHART_MARKS } from '../../analysis/charts.js';
import { DESCRIBE_ROWS } from '../tools.js';

/** What the offline analyst does with a message: call one of DS Bro's tools, or just say something. */
export type OfflineAction =
  | { kind: 'call'; name: string; input: Record<string, unknown> }
  | { kind: 'say'; text: 'help' | 'no-model' | { usage: string } };

export const COMMANDS_HELP = [
  '- `/sql <query>`, or a message that is one ```sql block, runs a DuckDB query over your tables',
  '- `/chart <bar|line|point|area|arc> x=<column> y=<column> [color=<column>] [title=<text>]` charts the latest query',
  '- `/save <filename>` saves the latest query as a CSV file of the project (a table from then on)',
  '- `/tables` lists the tables with their columns',
  '- `/help` shows this',
].join('\n');

/**
 * Reads a message: a command (`/sql`, `/chart`, `/save`, `/tables`, `/help`), a message that is one fenced
 * ```sql block, or a few plain requests (list, describe). `latestQueryId` is what `/chart` and `/save` use.
 */
export function decide(message: string, latestQueryId: string | undefined): OfflineAction {
  const text = message.trim();
  const fenced = fencedSql(text);
  if (fenced !== undefined) return { kind: 'call', name: 'run_sql', input: { sql: fenced } };
  if (text.startsWith('/')) return command(text, latestQueryId);
  const intent = recognise(text);
  if (intent.kind === 'list') return { kind: 'call', name: 'list_files', input: {} };
  if (intent.kind === 'describe') {
    return { kind: 'call', name: 'describe_file', input: { filename: intent.filename, rows: intent.rows } };
  }
  return { kind: 'say', text: intent.kind === 'help' ? 'help' : 'no-model' };
}

/** The SQL of a message that is exactly one ```sql fenced block, read by position rather than by pattern. */
function fencedSql(text: string): string | undefined {
  const opening = /^```sql[ \t]*\r?\n/i.exec(text);
  if (!opening || !text.endsWith('```') || text.length < opening[0].length + 3) return undefined;
  const body = text.slice(opening[0].length, -3);
  return body.includes('```') ? undefined : body.trim();
}

function command(text: string, latestQueryId: string | undefined): OfflineAction {
  const [head = '', ...restWords] = text.split(/\s+/);
  const rest = text.slice(head.length).trim();
  const usage = (line: string): OfflineAction => ({ kind: 'say', text: { usage: line } });
  switch (head.toLowerCase()) {
    case '/help':
      return { kind: 'say', text: 'help' };
    case '/tables':
      return { kind: 'call', name: 'list_files', input: {} };
    case '/sql':
      return rest
        ? { kind: 'call', name: 'run_sql', input: { sql: rest } }
        : usage('Write the query after `/sql`.');
    case '/save':
      if (!latestQueryId)
        return usage('Run a query first (`/sql ...`), then `/save <filename>` saves its result.');
      if (!rest) return usage('Name the file: `/save <filename>`.');
      return { kind: 'call', name: 'save_table', input: { queryId: latestQueryId, filename: rest } };
    case '/chart':
      return chart(restWords, latestQueryId);
    default:
      return usage(`There is no command \`${head.slice(0, 40)}\`. The commands:\n\n${COMMANDS_HELP}`);
  }
}

/** `/chart bar x=region y=units color=year title=Units by region` (the title runs to the end). */
function chart(words: string[], latestQueryId: string | undefined): OfflineAction {
  const usage = (line: string): OfflineAction => ({ kind: 'say', text: { usage: line } });
  if (!latestQueryId) return usage('Run a query first (`/sql ...`), then `/chart` draws its result.');
  const [mark = '', ...options] = words;
  if (!(CHART_MARKS as readonly string[]).includes(mark.toLowerCase())) {
    return usage(
      `Start with the kind of chart: ${CHART_MARKS.join(', ')}. For example \`/chart bar x=region y=units\`.`,
    );
  }
  const settings = new Map<string, string>();
  for (const [i, option] of options.entries()) {
    const [key = '', ...value] = option.split('=');
    if (key === 'title') {
      settings.set('title', [value.join('='), ...options.slice(i + 1)].join(' '));
      break;
    }
    settings.set(key, value.join('='));
  }
  const x = settings.get('x');
  const y = settings.get('y');
  if (!x || !y) return usage('Name the columns: `x=<column> y=<column>`.');
  const color = settings.get('color');
  return {
    kind: 'call',
    name: 'make_chart',
    input: {
      queryId: latestQueryId,
      mark: mark.toLowerCase(),
      x,
      y,
      ...(color ? { color } : {}),
      title: settings.get('title') || `${y} by ${x}`,
    },
  };
}

type Intent =
  | { kind: 'help' }
  | { kind: 'list' }
  | { kind: 'describe'; filename: string; rows: number }
  | { kind: 'unknown' };

/**
 * The plain requests are short: only the start of a message is read for them, so a 32,000-character message
 * costs no more than a short one.
 */
const MAX_REQUEST_CHARS = 500;

export function recognise(message: string): Intent {
  const text = message.slice(0, MAX_REQUEST_CHARS);
  const lower = text.toLowerCase().trim();
  const words = lower.split(/\s+/);
  const filename = mentionedFile(text);
  const rows = Number(/\b(?:first|top|head)\s+(\d{1,2})\b/.exec(lower)?.[1] ?? DESCRIBE_ROWS.default);
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
