/**
 * `pnpm eval`: asks DS Bro every golden question (packages/api/test/golden) through a running Leonidas server,
 * with whatever model that server has configured, and prints which replies were right and the accuracy. It is a
 * measurement, not a test: it exits 0 whatever the score, and 1 only when it cannot run (configuration, sign-in,
 * upload). `--json` prints the results as one JSON document on stdout; the table then goes to stderr as it runs.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type GoldenQuestion, generateGoldenData, goldenQuestions } from '@leonidas/api/golden';
import {
  type AuthTokens,
  ask,
  type ChatEvent,
  createLeonidasClient,
  errorCode,
  isLeonidasError,
  type LeonidasClient,
  uploadFile,
} from '@leonidas/client';
import { ConfigError, type EvalEnv, loadEvalEnv } from './env.js';
import { isRight } from './grade.js';
import { type QuestionResult, summarize, summaryLines, tableHeader, tableRow } from './report.js';

type ReplyEnd = Extract<ChatEvent, { type: 'message.completed' | 'run.cancelled' | 'run.failed' }>;

async function main(args: string[]): Promise<void> {
  const unknownArgs = args.filter((arg) => arg !== '--json');
  if (unknownArgs.length > 0)
    throw new ConfigError(`Unknown arguments: ${unknownArgs.join(' ')} (only --json)`);
  const asJson = args.includes('--json');
  const env = loadEvalEnv();
  const questions = env.EVAL_ONLY
    ? goldenQuestions.filter((question) => env.EVAL_ONLY?.includes(question.id))
    : goldenQuestions;
  // In JSON mode stdout carries the document alone.
  const progress = (line: string) => (asJson ? process.stderr : process.stdout).write(`${line}\n`);

  let tokens = await signIn(env);
  const client = createLeonidasClient({
    url: env.LEONIDAS_URL,
    getToken: () => tokens.accessToken,
    refreshToken: () => tokens.refreshToken,
    onTokens: (renewed) => {
      tokens = renewed;
    },
  });
  const project = await client.project.create.mutate({
    name: `Golden eval ${new Date().toISOString()}`,
    description: 'Made by pnpm eval: the golden questions of packages/api/test/golden, one session each.',
  });
  await uploadGoldenData(client, project.id);

  progress(
    `Asking DS Bro ${questions.length} questions at ${env.LEONIDAS_URL} (project "${project.name}").\n`,
  );
  const idWidth = Math.max(...questions.map((question) => question.id.length), 'question'.length);
  progress(tableHeader(idWidth));
  const results: QuestionResult[] = [];
  for (const question of questions) {
    const result = await askQuestion(client, project.id, question, progress);
    results.push(result);
    progress(tableRow(result, idWidth));
  }
  const summary = summarize(results);
  progress(`\n${summaryLines(summary).join('\n')}`);
  if (asJson) {
    const document = {
      url: env.LEONIDAS_URL,
      project: { id: project.id, name: project.name },
      ...summary,
      results,
    };
    process.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
  }
}

async function signIn(env: EvalEnv): Promise<AuthTokens> {
  const anonymous = createLeonidasClient({ url: env.LEONIDAS_URL });
  if (!env.LEONIDAS_EMAIL || !env.LEONIDAS_PASSWORD) {
    return anonymous.auth.register.mutate({
      email: `eval-${randomUUID()}@example.com`,
      password: randomBytes(24).toString('base64url'),
      name: 'Golden eval',
    });
  }
  const credentials = { email: env.LEONIDAS_EMAIL, password: env.LEONIDAS_PASSWORD };
  try {
    return await anonymous.auth.login.mutate(credentials);
  } catch (error) {
    if (errorCode(error) !== 'UNAUTHORIZED') throw error;
    // A first run with these credentials: the account does not exist yet (a wrong password fails here as taken).
    return anonymous.auth.register.mutate({ ...credentials, name: 'Golden eval' });
  }
}

async function uploadGoldenData(client: LeonidasClient, projectId: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'leonidas-eval-'));
  try {
    for (const golden of generateGoldenData(dir)) {
      const file = await uploadFile(client, { projectId, filename: golden.filename, data: golden.path });
      if (file.status !== 'COMPLETED')
        throw new Error(`The upload of ${golden.filename} failed: ${file.failureReason ?? file.status}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function askQuestion(
  client: LeonidasClient,
  projectId: string,
  question: GoldenQuestion,
  progress: (line: string) => void,
): Promise<QuestionResult> {
  const asked = { id: question.id, question: question.question, expected: question.answer };
  try {
    const session = await client.session.create.mutate({ projectId, title: question.id });
    const { end, seconds } = await replyTo(client, session.id, question.question, progress);
    if (end.type !== 'message.completed') {
      const error = end.type === 'run.failed' ? end.error : 'the reply was cancelled';
      return { ...asked, right: false, reply: '', numbers: [], seconds, error };
    }
    const numbers = end.message.numbers ?? [];
    return {
      ...asked,
      right: isRight(question.answer, numbers),
      reply: end.message.content,
      numbers,
      seconds,
      ...(end.message.model ? { model: end.message.model } : {}),
    };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { ...asked, right: false, reply: '', numbers: [], seconds: 0, error: message };
  }
}

/** Asks and waits for the end of the reply; a send refused for going too fast waits as told, then tries again. */
async function replyTo(
  client: LeonidasClient,
  sessionId: string,
  content: string,
  progress: (line: string) => void,
): Promise<{ end: ReplyEnd; seconds: number }> {
  for (;;) {
    const started = performance.now();
    try {
      for await (const event of ask(client, { sessionId, content })) {
        if (
          event.type === 'message.completed' ||
          event.type === 'run.cancelled' ||
          event.type === 'run.failed'
        )
          return { end: event, seconds: (performance.now() - started) / 1000 };
      }
      throw new Error('the event stream ended before the reply did');
    } catch (error) {
      if (errorCode(error) !== 'TOO_MANY_REQUESTS') throw error;
      const waitSeconds = (isLeonidasError(error) ? error.data?.retryAfterSeconds : undefined) ?? 60;
      progress(`  (the server limits messages a minute: waiting ${waitSeconds} s)`);
      await new Promise((resolve) => setTimeout(resolve, waitSeconds * 1000));
    }
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  // A configuration or API error says what went wrong in its message; anything else is a bug worth its stack.
  if (error instanceof ConfigError) console.error(error.message);
  else if (isLeonidasError(error)) console.error(`pnpm eval stopped: ${reasonsOf(error).join(': ')}`);
  else console.error(error);
  process.exitCode = 1;
});

/** The messages down an error's chain of causes, e.g. `fetch failed: connect ECONNREFUSED 127.0.0.1:3000`. */
function reasonsOf(error: Error): string[] {
  const reasons: string[] = [];
  for (let current: unknown = error; current instanceof Error; current = current.cause) {
    if (!reasons.includes(current.message)) reasons.push(current.message);
  }
  return reasons;
}
