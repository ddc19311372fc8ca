import { nextQueryNumber } from '@leonidas/db';
import { z } from 'zod';
import type { CellValue } from '../chat/schema.js';
import type { ApiDeps } from '../context.js';
import { queryResultKey } from '../file/keys.js';

/** The most rows of a result kept for charts and saved tables (the design's 10,000). */
export const MAX_KEPT_ROWS = 10_000;
/** The rows a tool result shows the model. */
export const FIRST_ROWS = 50;
/** Results a chat keeps; as a new one comes, the one this many before it goes. */
export const KEPT_RESULTS = 100;

/** A query's result as kept with its chat, under its `queryId`, in storage (any server can read it back). */
const keptResult = z.object({
  queryId: z.string(),
  sql: z.string(),
  columns: z.array(z.object({ name: z.string(), type: z.string() })),
  rows: z.array(z.array(z.union([z.string(), z.number(), z.boolean(), z.null()]))),
  rowCount: z.number(),
  truncated: z.boolean(),
  sourceFileIds: z.array(z.string()),
});
export type KeptResult = z.infer<typeof keptResult> & { rows: CellValue[][] };

export interface ChatScope {
  projectId: string;
  sessionId: string;
}

/** The next `q<n>` of the chat, or null when the chat is gone. */
export async function nextQueryId(deps: ApiDeps, scope: ChatScope): Promise<string | null> {
  const number = await nextQueryNumber(deps.db, scope.sessionId);
  return number === null ? null : `q${number}`;
}

export async function keepResult(deps: ApiDeps, scope: ChatScope, result: KeptResult): Promise<void> {
  await deps.storage.putJson(queryResultKey(scope.projectId, scope.sessionId, result.queryId), result);
  const number = Number(result.queryId.slice(1));
  if (number > KEPT_RESULTS) {
    await deps.storage.delete(queryResultKey(scope.projectId, scope.sessionId, `q${number - KEPT_RESULTS}`));
  }
}

/** The kept result, or null when there never was one by that id, or it is no longer kept. */
export async function readResult(
  deps: ApiDeps,
  scope: ChatScope,
  queryId: string,
): Promise<KeptResult | null> {
  if (!/^q\d{1,9}$/.test(queryId)) return null;
  const stored = await deps.storage.getJson(queryResultKey(scope.projectId, scope.sessionId, queryId));
  return stored === null ? null : keptResult.parse(stored);
}
