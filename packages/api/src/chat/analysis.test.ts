import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { getFile } from '@leonidas/db';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import {
  collectEvents,
  createTestApi,
  postToPresignedUrl,
  ScriptedProvider,
  type ScriptStep,
  signUp,
  type TestApi,
  uploadFile,
} from '../../test/helpers.js';
import { startBedrockServer, startOpenAiServer, type WireScript } from '../../test/wire/index.js';
import { sessionPrefix } from '../file/keys.js';
import {
  MAX_FAILED_QUERIES,
  MAX_TOOL_OUTPUT_BYTES,
  MAX_TOOL_ROUNDS,
  NOT_KEPT_WHOLE,
  TOO_MANY_STEPS,
} from './engine.js';
import type { NumberCheck, RunSqlOutput } from './schema.js';

let api: TestApi;
beforeAll(async () => {
  api = await createTestApi({ OFFLINE_TOKEN_DELAY_MS: '0', CHAT_SEND_PER_MINUTE: '1000' });
});
afterAll(() => api.close());

/** A messy export: semicolons, a BOM, quoted newlines, non-ASCII text, nulls, dates. */
const SALES = `\uFEFFregion;product;day;units;price\n${Array.from(
  { length: 2_000 },
  (_, i) =>
    `${['North', 'South', 'Östra', 'West'][i % 4]};"item ${i % 13}${i % 97 === 0 ? '\nspecial' : ''}";2024-${String((i % 12) + 1).padStart(2, '0')}-${String((i % 28) + 1).padStart(2, '0')};${i % 11 === 0 ? '' : i % 23};${((i * 37) % 1000) / 10}`,
).join('\n')}\n`;

/** Sends messages in a session: each answers the events of its reply's run, to its end (completed or failed). */
function chatIn(account: { as: ReturnType<TestApi['caller']> }, sessionId: string) {
  let n = 0;
  return async (content: string) => {
    const { runId } = await account.as.chat.send({ sessionId, content, clientMessageId: `m${n++}` });
    const events = await collectEvents(
      await account.as.chat.onEvents({ sessionId }),
      (got) =>
        got.some((e) => e.data.runId === runId && /^(message\.completed|run\.failed)$/.test(e.data.type)),
      60_000,
    );
    return events.filter((event) => event.data.runId === runId).map((event) => event.data);
  };
}

async function projectWithSales(on: TestApi = api) {
  const account = await signUp(on);
  const project = await account.as.project.create({ name: 'Analysis' });
  const { file, upload } = await account.as.file.createUpload({
    projectId: project.id,
    filename: 'Sales 2024.csv',
    size: Buffer.byteLength(SALES),
    contentType: 'text/csv',
  });
  expect(await postToPresignedUrl(upload, SALES)).toBe(204);
  expect(await account.as.file.confirm({ fileId: file.id })).toMatchObject({ status: 'COMPLETED' });
  const session = await account.as.session.create({ projectId: project.id });
  const send = chatIn(account, session.id);
  /** Sends a message and answers the finished reply with its tool calls. */
  const ask = async (content: string) => {
    const events = await send(content);
    return {
      ...(events.at(-1)?.message as {
        id: string;
        content: string;
        toolCalls?: { callId: string; name: string; input: unknown; output: unknown }[];
        numbers?: NumberCheck[];
      }),
      events,
    };
  };
  return { ...account, project, file, session, ask };
}

/** DuckDB on the same CSV, read directly: the reference. */
async function direct(sql: string) {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  const path = join(mkdtempSync(join(tmpdir(), 'leonidas-direct-')), 'sales.csv');
  writeFileSync(path, SALES);
  await connection.run(`CREATE VIEW sales_2024 AS FROM read_csv('${path}', delim=';')`);
  const rows = (await connection.runAndReadAll(sql)).getRowsJson();
  connection.closeSync();
  instance.closeSync();
  return rows;
}

describe('DS Bro offline, analysing a file', () => {
  it('answers /sql with the numbers DuckDB computes on the file itself', async () => {
    const { ask } = await projectWithSales();
    const sql =
      'SELECT region, sum(units) AS units, round(avg(price), 2) AS price FROM sales_2024 GROUP BY region ORDER BY region';
    const reply = await ask(`/sql ${sql}`);
    const output = reply.toolCalls?.[0]?.output as RunSqlOutput;
    expect(reply.toolCalls?.[0]?.name).toBe('run_sql');
    expect(output.queryId).toBe('q1');
    const expected = await direct(sql);
    expect(output.rows.map((row) => row.map(String))).toEqual(expected.map((row) => row.map(String)));
    expect(reply.content).toContain('The query returned 4 rows.');
    for (const [region, units] of expected)
      expect(reply.content).toContain(`| ${region} | ${Number(units).toLocaleString('en-US')} |`);

    // A message that is one fenced block is a query too; its id counts on.
    const fenced = await ask(
      "```sql\nSELECT count(*) AS n FROM sales_2024 WHERE day >= DATE '2024-07-01'\n```",
    );
    expect(fenced.toolCalls?.[0]?.output).toMatchObject({
      queryId: 'q2',
      rows: [
        [Number((await direct("SELECT count(*) FROM sales_2024 WHERE day >= DATE '2024-07-01'"))[0]?.[0])],
      ],
    });
  });

  it('keeps a result of numbers DynamoDB cannot hold as numbers (1e20, 1e-200, 2^64, nan, inf) whole, in the stored reply too', async () => {
    const { ask, as, session } = await projectWithSales();
    const sql =
      "SELECT sum(price) * 1e17 AS big, min(price) / 1e200 AS tiny, 18446744073709551615::UBIGINT AS huge, 'nan'::DOUBLE AS n, '-inf'::DOUBLE AS i FROM sales_2024";
    const reply = await ask(`/sql ${sql}`);
    // Non-finite values come as DuckDB's own text for them.
    const [expected] = await direct(
      `SELECT big, tiny, huge, CAST(n AS VARCHAR), CAST(i AS VARCHAR) FROM (${sql})`,
    );
    const [row] = (reply.toolCalls?.[0]?.output as RunSqlOutput | undefined)?.rows ?? [];
    expect(row?.map(String)).toEqual(expected?.map(String));
    expect(reply.content).toContain(
      `| ${Number(expected?.[0]).toLocaleString('en-US')} | ${String(Number(expected?.[1]))} |`,
    );

    // What was streamed is what was stored: the reply finished and its session is free.
    const stored = (await as.chat.history({ sessionId: session.id })).items.at(-1);
    expect(stored).toMatchObject({ id: reply.id, status: 'complete', content: reply.content });
    expect(stored?.toolCalls).toEqual(reply.toolCalls);
    expect((await ask('/sql SELECT 1 AS one')).content).toContain('The query returned 1 row.');
  });

  it('charts and saves the latest result, with provenance, and queries the saved table', async () => {
    const { ask, as, project, file, session } = await projectWithSales();
    await ask('/chart bar x=region y=units');
    expect((await ask('/chart bar x=region y=units')).content).toMatch(/Run a query first/);
    await ask('/sql SELECT region, sum(units) AS units FROM sales_2024 GROUP BY region ORDER BY units DESC');
    const charted = await ask('/chart bar x=region y=units title=Units by region');
    const chart = charted.toolCalls?.[0]?.output as { fileId: string; filename: string };
    expect(chart.filename).toBe('Units by region.vl.json');
    const chartFile = await as.file.byId({ fileId: chart.fileId });
    expect(chartFile).toMatchObject({
      status: 'COMPLETED',
      source: 'APP_GENERATED',
      contentType: 'application/vnd.vegalite.v5+json',
      provenance: {
        sessionId: session.id,
        sql: expect.stringContaining('GROUP BY region'),
        sourceFileIds: [file.id],
      },
    });
    const spec = (await (await fetch((await as.file.downloadUrl({ fileId: chart.fileId })).url)).json()) as {
      mark: { type: string };
      data: { values: unknown[] };
      encoding: { x: { field: string; type: string }; y: { type: string } };
    };
    // A chart has no rows: its preview says so, rather than wait for processing that never comes.
    await expect(as.file.preview({ fileId: chart.fileId })).rejects.toMatchObject({
      code: 'CONFLICT',
      message: 'This file is a chart, not a table: it has no rows to preview.',
    });
    expect(spec.mark.type).toBe('bar');
    expect(spec.data.values).toHaveLength(4);
    expect(spec.encoding).toMatchObject({
      x: { field: 'region', type: 'nominal' },
      y: { type: 'quantitative' },
    });

    const saved = await ask('/save units by region');
    expect(saved.toolCalls?.[0]?.output).toMatchObject({
      filename: 'units by region.csv',
      table: 'units_by_region',
    });
    const list = await as.file.list({ projectId: project.id, source: 'APP_GENERATED' });
    expect(list.items.map((item) => item.filename).sort()).toEqual([
      'Units by region.vl.json',
      'units by region.csv',
    ]);
    const table = list.items.find((item) => item.filename.endsWith('.csv'));
    expect(table).toMatchObject({ status: 'COMPLETED', metadata: { rowCount: 4 } });
    const requery = await ask('/sql SELECT sum(units) AS total FROM units_by_region');
    expect(requery.toolCalls?.[0]?.output).toMatchObject({
      rows: (await direct('SELECT sum(units) FROM sales_2024')).map((row) => row.map(Number)),
    });
    // Saved tables are the user's files now: gone only when deleted.
    expect(await getFile(api.deps.db, table?.id ?? '')).not.toBeNull();
  });

  it("deletes a chat's kept query results with the chat", async () => {
    const { ask, as, project, session } = await projectWithSales();
    await ask('/sql SELECT count(*) AS n FROM sales_2024');
    const kept = sessionPrefix(project.id, session.id);
    expect(await api.deps.storage.listKeys(kept)).toEqual([`${kept}queries/q1.json`]);
    await as.session.delete({ sessionId: session.id });
    await api.deps.background.drain(10_000);
    expect(await api.deps.storage.listKeys(kept)).toEqual([]);
  });

  it('says what went wrong, naming the tables, and lists them', async () => {
    const { ask } = await projectWithSales();
    const wrong = await ask('/sql SELECT revenue FROM sales_2024');
    expect(wrong.toolCalls?.[0]?.output).toMatchObject({
      error: expect.stringMatching(/revenue/),
      hint: expect.stringContaining('sales_2024(region'),
    });
    expect(wrong.content).toMatch(/^That did not work:/);
    const refused = await ask("/sql SELECT * FROM read_csv('/etc/passwd')");
    expect(refused.toolCalls?.[0]?.output).toMatchObject({
      error: expect.stringMatching(/Only the tables of this project/),
    });
    const tables = await ask('/tables');
    expect(tables.content).toContain('| Sales 2024.csv | `sales_2024` | ready | 2,000 |');
    expect((await ask('/nope')).content).toMatch(/There is no command `\/nope`/);
  });
});

describe('saving within the storage limit', () => {
  it("refuses a table that would pass the account's storage, keeping nothing of it", async () => {
    const bytes = String(Buffer.byteLength(SALES) + 10_000);
    const small = await createTestApi({
      OFFLINE_TOKEN_DELAY_MS: '0',
      MAX_UPLOAD_BYTES: bytes,
      MAX_STORED_BYTES_PER_USER: bytes,
    });
    onTestFinished(() => small.close());
    const { ask, as, project } = await projectWithSales(small);
    await ask('/sql SELECT * FROM sales_2024');
    const refused = await ask('/save everything');
    expect(refused.toolCalls?.[0]?.output).toMatchObject({
      error: expect.stringMatching(/would pass this account's storage limit of \d+(\.\d)? KB/),
    });
    expect(refused.numbers?.filter((number) => number.status !== 'verified')).toEqual([]);
    expect((await as.file.list({ projectId: project.id })).items).toHaveLength(1);
    expect(await small.deps.storage.listKeys(`projects/${project.id}/files/`)).toHaveLength(1);
    // A small result still fits.
    await ask('/sql SELECT count(*) AS n FROM sales_2024');
    expect((await ask('/save count')).toolCalls?.[0]?.output).toMatchObject({ table: 'count' });
  });
});

describe('number checks on the offline analyst', () => {
  it('verifies every number of its answers: results, profiles, listings', async () => {
    const { ask } = await projectWithSales();
    for (const question of [
      '/sql SELECT region, sum(units) AS units, round(avg(price), 3) AS price FROM sales_2024 GROUP BY region',
      '/sql SELECT * FROM sales_2024',
      'describe Sales 2024.csv',
      'what files do I have?',
    ]) {
      const reply = await ask(question);
      expect(reply.numbers?.length).toBeGreaterThan(0);
      expect(reply.numbers?.filter((number) => number.status !== 'verified')).toEqual([]);
    }
  });
});

/**
 * A model over the wire (the real Bedrock and OpenAI SDKs against stand-ins speaking their protocols) that
 * analyses as a model would: a query that fails, its repair, a chart and a saved table in one turn, then an
 * answer stating two numbers from the result and one it made up.
 */
const analyst: WireScript = (request) => {
  const results = request.toolResults.map((text) => JSON.parse(text) as RunSqlOutput);
  const usage = { usage: { input: 10, output: 5 } };
  switch (results.length) {
    case 0:
      return [
        { text: 'Let me add up the units. ' },
        { toolCall: { id: 'c1', name: 'run_sql', input: { sql: 'SELECT sum(quantity) FROM sales_2024' } } },
        usage,
      ];
    case 1: {
      const sql = 'SELECT region, sum(units) AS units FROM sales_2024 GROUP BY region ORDER BY units DESC';
      return [{ toolCall: { id: 'c2', name: 'run_sql', input: { sql } } }, usage];
    }
    case 2: {
      const { queryId } = results[1] as RunSqlOutput;
      return [
        {
          toolCall: {
            id: 'c3',
            name: 'make_chart',
            input: { queryId, mark: 'bar', x: 'region', y: 'units', title: 'Units by region' },
          },
        },
        { toolCall: { id: 'c4', name: 'save_table', input: { queryId, filename: 'units by region' } } },
        usage,
      ];
    }
    default: {
      const [first, second] = (results[1] as RunSqlOutput).rows;
      return [
        { text: `**${first?.[0]}** sold the most, ${Number(first?.[1]).toLocaleString('en-US')} units; ` },
        { text: `${second?.[0]} follows with ${second?.[1]}. ` },
        { text: 'Next year I expect 98,765.4 units.' },
        usage,
      ];
    }
  }
};

describe.each([
  [
    'bedrock',
    async () => {
      const model = await startBedrockServer(analyst);
      return {
        model,
        env: { LLM_PROVIDER: 'bedrock', AWS_REGION: 'us-east-1', BEDROCK_ENDPOINT: model.endpoint },
      };
    },
  ],
  [
    'openai',
    async () => {
      const model = await startOpenAiServer(analyst);
      return {
        model,
        env: { LLM_PROVIDER: 'openai', OPENAI_BASE_URL: model.baseUrl, OPENAI_API_KEY: 'test' },
      };
    },
  ],
] as const)('DS Bro on a model (%s)', (_name, start) => {
  it('repairs a failed query, charts and saves the result, and marks the number it made up', async () => {
    const { model, env } = await start();
    const onModel = await createTestApi(env);
    onTestFinished(async () => {
      await onModel.close();
      await model.stop();
    });
    const { ask, as, project, file, session } = await projectWithSales(onModel);
    const reply = await ask('How many units did each region sell?');

    expect(reply.events.map((event) => [event.type, 'name' in event ? event.name : undefined])).toEqual([
      ['run.started', undefined],
      ['message.delta', undefined],
      ['tool.call', 'run_sql'],
      ['tool.result', undefined],
      ['tool.call', 'run_sql'],
      ['tool.result', undefined],
      ['tool.call', 'make_chart'],
      ['tool.result', undefined],
      ['tool.call', 'save_table'],
      ['tool.result', undefined],
      ['message.delta', undefined],
      ['message.delta', undefined],
      ['message.delta', undefined],
      ['message.completed', undefined],
    ]);
    const [failed, repaired, chart, saved] = reply.toolCalls ?? [];
    expect(failed?.output).toMatchObject({
      error: expect.stringMatching(/quantity/),
      hint: expect.stringContaining('sales_2024(region'),
    });
    // The failed query took q1: ids count every query of the chat.
    const expected = await direct(
      'SELECT region, sum(units) FROM sales_2024 GROUP BY region ORDER BY 2 DESC',
    );
    expect(repaired?.output).toMatchObject({
      queryId: 'q2',
      rows: expected.map(([region, units]) => [region, Number(units)]),
    });

    const [top, runnerUp] = expected;
    const topUnits = Number(top?.[1]).toLocaleString('en-US');
    expect(reply.content).toBe(
      `Let me add up the units. **${top?.[0]}** sold the most, ${topUnits} units; ${runnerUp?.[0]} follows with ${runnerUp?.[1]}. Next year I expect 98,765.4 units.`,
    );
    expect(reply.numbers).toEqual([
      {
        text: topUnits,
        start: reply.content.indexOf(topUnits),
        end: reply.content.indexOf(topUnits) + topUnits.length,
        status: 'verified',
        callId: repaired?.callId,
      },
      expect.objectContaining({ text: String(runnerUp?.[1]), status: 'verified', callId: repaired?.callId }),
      expect.objectContaining({ text: '98,765.4', status: 'unverified' }),
    ]);
    // Saved with the message, as history shows it.
    const history = await as.chat.history({ sessionId: session.id });
    expect(history.items.at(-1)).toMatchObject({ id: reply.id, numbers: reply.numbers });

    const provenance = {
      sessionId: session.id,
      messageId: reply.id,
      sql: expect.stringContaining('GROUP BY region'),
      sourceFileIds: [file.id],
    };
    const chartFile = await as.file.byId({
      fileId: (chart?.output as { fileId: string } | undefined)?.fileId ?? '',
    });
    expect(chartFile).toMatchObject({ filename: 'Units by region.vl.json', status: 'COMPLETED', provenance });
    const table = await as.file.byId({
      fileId: (saved?.output as { fileId: string } | undefined)?.fileId ?? '',
    });
    expect(table).toMatchObject({ filename: 'units by region.csv', status: 'COMPLETED', provenance });
    const files = await as.file.list({ projectId: project.id });
    expect(files.items).toHaveLength(3);
  });
});

describe('a model that will not stop', () => {
  it('gets no more queries after three failures in a row, and the reply ends after eight rounds, saying so', async () => {
    const model = new ScriptedProvider([
      [{ type: 'tool_use', id: 'again', name: 'run_sql', input: { sql: 'SELECT nope FROM sales_2024' } }],
    ]);
    const stubborn = await createTestApi({}, { llm: model });
    onTestFinished(() => stubborn.close());
    const { ask } = await projectWithSales(stubborn);
    const reply = await ask('total units?');
    expect(model.requests).toHaveLength(MAX_TOOL_ROUNDS);
    const errors = (reply.toolCalls ?? []).map((call) => (call.output as { error: string }).error);
    expect(errors).toHaveLength(MAX_TOOL_ROUNDS);
    expect(errors.slice(0, MAX_FAILED_QUERIES).every((error) => /nope/.test(error))).toBe(true);
    expect(
      errors
        .slice(MAX_FAILED_QUERIES)
        .every((error) => error.startsWith(`${MAX_FAILED_QUERIES} queries in a row failed`)),
    ).toBe(true);
    expect(reply).toMatchObject({ status: 'complete', content: TOO_MANY_STEPS });
  });
});

describe('tool results a reply cannot keep', () => {
  /** A file of `columns` columns named `nameBytes` long, in a chat whose model plays `turns`. */
  async function wideChat(turns: ScriptStep[][], columns: number, nameBytes: number) {
    const model = new ScriptedProvider(turns);
    const on = await createTestApi({ CHAT_SEND_PER_MINUTE: '1000' }, { llm: model });
    onTestFinished(() => on.close());
    const account = await signUp(on);
    const project = await account.as.project.create({ name: 'Wide' });
    const names = Array.from({ length: columns }, (_, i) => `c${i}`.padEnd(nameBytes, '_'));
    const csv = `${names.join(',')}\n${names.map((_, i) => i).join(',')}\n`;
    const { file } = await uploadFile(account, project.id, csv, { filename: 'wide.csv' });
    expect((await account.as.file.confirm({ fileId: file.id })).status).toBe('COMPLETED');
    const session = await account.as.session.create({ projectId: project.id });
    const ask = chatIn(account, session.id);
    const history = async () => (await account.as.chat.history({ sessionId: session.id })).items;
    return { on, project, file, ask, history };
  }
  const describeWide = (rows: number): ScriptStep[] => [
    { type: 'tool_use', id: `d${rows}`, name: 'describe_file', input: { filename: 'wide.csv', rows } },
  ];
  const outputBytes = (event: Record<string, unknown> | undefined) =>
    Buffer.byteLength(JSON.stringify(event?.output));

  it('gives the model a refusal for a file whose data is gone, and the reply goes on', async () => {
    const { on, project, file, ask } = await wideChat(
      [describeWide(1), [{ type: 'text', text: 'Gone.' }]],
      2,
      2,
    );
    for (const key of [
      `projects/${project.id}/files/${file.id}`,
      `projects/${project.id}/previews/${file.id}.json`,
      `projects/${project.id}/tables/${file.id}.parquet`,
    ])
      await on.deps.storage.delete(key);
    await on.deps.tables.forget(file.id);
    const events = await ask('describe it');
    expect(events.find((event) => event.type === 'tool.result')?.output).toEqual({
      error: "This file's data is gone from storage. Delete it and upload it again.",
    });
    expect(events.at(-1)).toMatchObject({
      type: 'message.completed',
      message: { status: 'complete', content: 'Gone.' },
    });
  });

  it('refuses one result over the limit as a tool error, and keeps the reply', async () => {
    const { ask } = await wideChat([describeWide(1), [{ type: 'text', text: 'Too wide.' }]], 400, 200);
    const events = await ask('describe it');
    const result = events.find((event) => event.type === 'tool.result');
    expect(result?.output).toMatchObject({
      error: expect.stringMatching(/^This result is too large to pass on: .* where the limit is 64 KB\.$/),
    });
    expect(events.at(-1)).toMatchObject({ type: 'message.completed', message: { status: 'complete' } });
  });

  it('saves a reply whose results together are too large without them, says so, and takes the next message', async () => {
    // Every round describes the file (each result under the limit), until the rounds run out; then a plain answer.
    const { ask, history } = await wideChat(
      [...Array.from({ length: MAX_TOOL_ROUNDS }, () => describeWide(20)), [{ type: 'text', text: 'Next.' }]],
      150,
      150,
    );
    const events = await ask('describe it, again and again');
    const results = events.filter((event) => event.type === 'tool.result');
    expect(results).toHaveLength(MAX_TOOL_ROUNDS);
    const sizes = results.map(outputBytes);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(MAX_TOOL_OUTPUT_BYTES);
    // More than a DynamoDB item holds.
    expect(sizes.reduce((sum, size) => sum + size, 0)).toBeGreaterThan(400 * 1024);
    expect(events.at(-1)).toMatchObject({ type: 'run.failed', error: NOT_KEPT_WHOLE });
    const [, reply] = await history();
    expect(reply).toMatchObject({
      role: 'assistant',
      status: 'error',
      content: TOO_MANY_STEPS,
      error: NOT_KEPT_WHOLE,
    });
    expect(reply?.toolCalls ?? []).toEqual([]);

    const next = await ask('and now?');
    expect(next.at(-1)).toMatchObject({
      type: 'message.completed',
      message: { status: 'complete', content: 'Next.' },
    });
  });
});
