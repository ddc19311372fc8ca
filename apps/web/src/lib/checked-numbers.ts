import type { NumberCheck } from '@leonidas/api';
import type { Parent, Root, RootContent, Text } from 'mdast';
import type { ToolStep } from './chat-state.js';
import { inputText, isRunSqlOutput } from './tool-outputs.js';

/** A checked number of a reply with, in words, where it came from (or that nothing holds it). */
export interface ExplainedNumber extends NumberCheck {
  origin: string;
}

/** The hast property that tells the Markdown renderer which checked number a `span` holds. */
export const NUMBER_INDEX_PROPERTY = 'dataNumberIndex';

/** One checked number inside the Markdown tree, rendered as a `span` that names its number. */
interface CheckedNumberNode extends Parent {
  type: 'checkedNumber';
  children: [Text];
  data: { hName: 'span'; hProperties: { [NUMBER_INDEX_PROPERTY]: number } };
}

declare module 'mdast' {
  interface PhrasingContentMap {
    checkedNumber: CheckedNumberNode;
  }
  interface RootContentMap {
    checkedNumber: CheckedNumberNode;
  }
}

/** Says where each number came from: the tool call and its SQL, the user's own message, or nowhere. */
export function explainNumbers(numbers: NumberCheck[], steps: ToolStep[]): ExplainedNumber[] {
  return numbers.map((check) => ({ ...check, origin: originOf(check, steps) }));
}

function originOf(check: NumberCheck, steps: ToolStep[]): string {
  if (check.status === 'unverified') return 'not found in the results of the tools DS Bro used';
  const step = check.callId === undefined ? undefined : steps.find((each) => each.callId === check.callId);
  if (!step) return check.callId === undefined ? 'your message' : 'a tool result';
  if (step.name === 'run_sql' && isRunSqlOutput(step.output)) {
    const sql = inputText(step.input, 'sql');
    return `the result ${step.output.queryId} of run_sql${sql === undefined ? '' : `: ${sql}`}`;
  }
  return `the result of ${step.name}`;
}

/**
 * A remark step that wraps each checked number in its own node. The checks' offsets point into the raw Markdown,
 * and text nodes know where they sit in it, so numbers are found by position; numbers in code have no text node
 * and stay as they are. Where Markdown escapes make a text node's value differ from its source (`\*`,
 * `&amp;`), the number is looked for near its position instead.
 */
export function remarkCheckedNumbers({ numbers }: { numbers: NumberCheck[] }) {
  const ordered = numbers
    .map((check, index) => ({ check, index }))
    .sort((a, b) => a.check.start - b.check.start);
  return (tree: Root) => {
    if (ordered.length > 0) wrapIn(tree, ordered);
  };
}

type IndexedCheck = { check: NumberCheck; index: number };

function wrapIn(parent: Parent, checks: IndexedCheck[]) {
  const children: RootContent[] = [];
  for (const child of parent.children) {
    if (child.type === 'text') children.push(...splitText(child, checks));
    else {
      if ('children' in child) wrapIn(child, checks);
      children.push(child);
    }
  }
  parent.children = children;
}

function splitText(node: Text, checks: IndexedCheck[]): (Text | CheckedNumberNode)[] {
  const from = node.position?.start.offset;
  const to = node.position?.end.offset;
  if (from === undefined || to === undefined) return [node];
  const inside = checks.filter(({ check }) => check.start >= from && check.end <= to);
  if (inside.length === 0) return [node];
  const value = node.value;
  const pieces: (Text | CheckedNumberNode)[] = [];
  let cursor = 0;
  for (const { check, index } of inside) {
    const at = locate(value, check.text, check.start - from, cursor);
    if (at < 0) continue;
    if (at > cursor) pieces.push({ type: 'text', value: value.slice(cursor, at) });
    pieces.push({
      type: 'checkedNumber',
      children: [{ type: 'text', value: check.text }],
      data: { hName: 'span', hProperties: { [NUMBER_INDEX_PROPERTY]: index } },
    });
    cursor = at + check.text.length;
  }
  if (cursor < value.length) pieces.push({ type: 'text', value: value.slice(cursor) });
  return pieces;
}

/** Where `text` is in a node's value, given where it is in the node's source (escapes only ever shorten it). */
function locate(value: string, text: string, sourceOffset: number, notBefore: number): number {
  if (value.startsWith(text, sourceOffset) && sourceOffset >= notBefore) return sourceOffset;
  const before = value.lastIndexOf(text, sourceOffset);
  return before >= notBefore ? before : -1;
}
