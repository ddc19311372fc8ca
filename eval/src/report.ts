import type { NumberCheck } from './grade.js';

/** How DS Bro did on one question. */
export interface QuestionResult {
  id: string;
  question: string;
  expected: number | number[];
  right: boolean;
  /** The reply's text; empty when the run failed. */
  reply: string;
  numbers: NumberCheck[];
  /** The provider/model that wrote the reply. */
  model?: string;
  seconds: number;
  /** Why there is no reply (the run failed or was cancelled, or the question could not be asked). */
  error?: string;
}

export interface EvalSummary {
  models: string[];
  right: number;
  total: number;
  /** Right answers as a share of the questions asked, 0..1. */
  accuracy: number;
}

export function summarize(results: QuestionResult[]): EvalSummary {
  const right = results.filter((result) => result.right).length;
  return {
    models: [...new Set(results.flatMap((result) => (result.model ? [result.model] : [])))],
    right,
    total: results.length,
    accuracy: results.length === 0 ? 0 : right / results.length,
  };
}

const SAID_WIDTH = 60;

export function tableHeader(idWidth: number): string {
  return `${'question'.padEnd(idWidth)}  result  ${'the reply said (✓ verified, ✗ not)'.padEnd(SAID_WIDTH)}  time`;
}

export function tableRow(result: QuestionResult, idWidth: number): string {
  const said = truncate(whatTheReplySaid(result), SAID_WIDTH).padEnd(SAID_WIDTH);
  return `${result.id.padEnd(idWidth)}  ${result.right ? 'right' : 'wrong'}   ${said}  ${result.seconds.toFixed(1)} s`;
}

export function summaryLines(summary: EvalSummary): string[] {
  const percent = (summary.accuracy * 100).toFixed(1);
  return [
    `Model: ${summary.models.join(', ') || 'unknown (no reply completed)'}`,
    `Accuracy: ${summary.right}/${summary.total} (${percent}%)`,
  ];
}

/** The numbers a reader would take from the reply, with their checks; the opening words when it has none. */
function whatTheReplySaid(result: QuestionResult): string {
  if (result.error) return `failed: ${result.error}`;
  if (result.numbers.length > 0)
    return result.numbers
      .map((number) => `${number.text}${number.status === 'verified' ? '✓' : '✗'}`)
      .join(' ');
  return `"${result.reply.replace(/\s+/g, ' ').trim()}"`;
}

function truncate(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
}
