import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { goldenQuestions } from '@leonidas/api/golden';
import { startOpenAiServer, type WireScript, type WireStep } from '@leonidas/api/testing';
import { freePort } from '@leonidas/db/local';
import {
  buildServer,
  type ServerProcess,
  startServerProcess,
  waitForHealthy,
} from '@leonidas/server/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { z } from 'zod';

/**
 * `pnpm eval` as its own process against the built server, whose model is a stand-in that answers every golden
 * question the way a careful analyst would: `run_sql` with the golden SQL, then the numbers of the result. Two
 * replies go wrong on purpose, one each way a reply can be wrong.
 */
const byText = new Map(goldenQuestions.map((question) => [question.question, question]));
const byId = new Map(goldenQuestions.map((question) => [question.id, question]));
/** Its reply states a number the query never returned, so the server cannot verify it. */
const MADE_UP_NUMBER = 'average-age';
/** It queries another question's SQL: its number is verified, but it answers a different question. */
const WRONG_QUERY = { id: 'total-units', runs: 'order-count' };

const usage: WireStep = { usage: { input: 40, output: 12 } };

/** The stand-in reads the question from the conversation the server sends, also when answering a tool result. */
const conversation = z.object({
  messages: z.array(z.object({ role: z.string(), content: z.unknown() })),
});
/** `run_sql`'s output (design.md, "Analysis"), as the server passes it back to the model. */
const runSqlOutput = z.object({ rows: z.array(z.array(z.unknown())) });

const script: WireScript = (request) => {
  const asked = conversation.parse(request.body).messages.findLast((message) => message.role === 'user');
  const question = typeof asked?.content === 'string' ? byText.get(asked.content) : undefined;
  if (!question || !request.toolNames.includes('run_sql'))
    return [{ text: 'I have no way to query the data.' }, usage];
  if (!request.hasToolResult) {
    const sql = question.id === WRONG_QUERY.id ? byId.get(WRONG_QUERY.runs)?.sql : question.sql;
    return [{ toolCall: { id: `call_${question.id}`, name: 'run_sql', input: { sql } } }, usage];
  }
  const result = runSqlOutput.safeParse(parseJson(request.lastUserText));
  // A refused query or another shape of result shows up in the eval's table rather than as a crash here.
  if (!result.success) return [{ text: `I could not read this result: ${request.lastUserText}` }, usage];
  const values = result.data.rows
    .flat()
    .map(Number)
    .map((value) => (question.id === MADE_UP_NUMBER ? value + 1 : value));
  const stated = values.map((value) => value.toLocaleString('en-US', { maximumFractionDigits: 10 }));
  return [{ text: 'Here is what the data says: ' }, { text: `**${stated.join(', ')}**.` }, usage];
};

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const dataDir = mkdtempSync(join(tmpdir(), 'leonidas-eval-'));
let model: Awaited<ReturnType<typeof startOpenAiServer>> | undefined;
let server: ServerProcess | undefined;
let url = '';

beforeAll(async () => {
  buildServer();
  model = await startOpenAiServer(script);
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  server = startServerProcess({
    PORT: String(port),
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    LLM_PROVIDER: 'openai',
    OPENAI_BASE_URL: model.baseUrl,
    OPENAI_API_KEY: 'local',
    OPENAI_MODEL: 'stand-in',
    // Every question is a message; the stand-in answers far faster than the default per-minute limit allows.
    CHAT_SEND_PER_MINUTE: '1000',
  });
  await waitForHealthy(url, server);
});

afterAll(async () => {
  await server?.stop();
  await model?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** This shell's environment without the eval's own settings, so each run gets only those the test gives it. */
const ownEnvironment = Object.fromEntries(
  Object.entries(process.env).filter(([name]) => !/^(LEONIDAS|EVAL)_/.test(name)),
);

/** Runs the eval as a user would; asynchronously, since the stand-in model answers from this process. */
async function runEval(args: string[], env: Record<string, string> = {}) {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', 'src/main.ts', ...args],
    {
      cwd: join(import.meta.dirname, '..'),
      env: { ...ownEnvironment, LEONIDAS_URL: url, ...env },
      encoding: 'utf8',
    },
  );
  return stdout;
}

it('asks every golden question and prints each result and the accuracy', async () => {
  const output = await runEval([]);
  const right = goldenQuestions.length - 2;
  const percent = ((right / goldenQuestions.length) * 100).toFixed(1);
  expect(output).toContain(`Asking DS Bro ${goldenQuestions.length} questions at ${url}`);
  expect(output).toContain('Model: openai/stand-in');
  expect(output).toContain(`Accuracy: ${right}/${goldenQuestions.length} (${percent}%)`);
  const row = (id: string) => output.split('\n').find((line) => line.startsWith(`${id} `));
  expect(row('total-revenue')).toMatch(/ right +1,110,904\.71✓ +\d+\.\d s$/);
  expect(row('top-product-units')).toMatch(/ right +126✓ 2,031✓ /);
  expect(row(MADE_UP_NUMBER)).toMatch(/ wrong +48\.1✗ /);
  expect(row(WRONG_QUERY.id)).toMatch(/ wrong +5,000✓ /);
});

it('asks only the questions of EVAL_ONLY and reports them as JSON', async () => {
  const ids = ['order-count', MADE_UP_NUMBER, WRONG_QUERY.id];
  const output = await runEval(['--json'], {
    EVAL_ONLY: ids.join(','),
    LEONIDAS_EMAIL: 'eval@example.com',
    LEONIDAS_PASSWORD: 'eval password 1',
  });
  const report: unknown = JSON.parse(output);
  expect(report).toMatchObject({
    url,
    models: ['openai/stand-in'],
    right: 1,
    total: 3,
    accuracy: 1 / 3,
    // In the order of the golden list, whatever the order of EVAL_ONLY.
    results: [
      { id: 'order-count', expected: 5000, right: true, reply: expect.stringContaining('5,000') },
      {
        id: WRONG_QUERY.id,
        expected: 17574,
        right: false,
        numbers: [{ text: '5,000', status: 'verified' }],
      },
      {
        id: MADE_UP_NUMBER,
        expected: 47.1,
        right: false,
        numbers: [{ text: '48.1', status: 'unverified' }],
      },
    ],
  });
});
