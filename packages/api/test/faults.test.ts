import { connect, createServer, type Server, type Socket } from 'node:net';
import { claimForProcessing, getFile, getUsage, pingTable } from '@leonidas/db';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { PROCESSING_STALE_MS } from '../src/file/processing.js';
import {
  capturingLogger,
  collectEvents,
  createTestApi,
  postToPresignedUrl,
  signUp,
  type TestApi,
  uploadFile,
} from './helpers.js';
import { startBedrockServer, startOpenAiServer, type WireScript } from './wire/index.js';

/**
 * Parts of the real stack failing under the API: the object store and DynamoDB Local behind a TCP proxy the
 * test can cut (connections dropped, then refused) or turn into a black hole, and the model's wire stand-ins
 * dropping the connection mid-stream. Already covered elsewhere, not repeated here: a provider's own error
 * mid-stream (ScriptedProvider, src/chat/router.test.ts) and each wire stand-in breaking under the provider
 * alone (src/chat/llm/providers.test.ts), the store closed for good before a confirm (src/file/router.test.ts;
 * here the same outage ends and the retry succeeds).
 */

/** A stack frame or a path into our code: what no message a client gets may hold. */
const INTERNALS = /\n\s+at |\bat \S+ \(|node_modules|\/src\/|\.ts:\d+|file:\/\//;

interface Proxy {
  endpoint: string;
  /** Where connections go; set once the real service's endpoint is known. */
  target: string;
  /** Drops every open connection and refuses new ones (a service that died). */
  cut(): Promise<void>;
  /** Accepts connections again on the same port (the service is back). */
  restore(): Promise<void>;
  /** From the next connection on, takes what comes in and never answers (a host that went silent). */
  blackHole(on: boolean): void;
  /** Cuts as soon as a request whose first bytes match comes through. */
  cutOn(match: RegExp | null): void;
  /** Passes the next `count` requests whose first bytes match on, and drops each connection as its answer comes. */
  dropAnswersTo(match: RegExp, count: number): void;
  stop(): Promise<void>;
}

async function startProxy(): Promise<Proxy> {
  const sockets = new Set<Socket>();
  let silent = false;
  let trigger: RegExp | null = null;
  let answerTrigger: { match: RegExp; count: number } | null = null;
  let port = 0;
  let server: Server;
  const proxy: Proxy = {
    endpoint: '',
    target: '',
    cut: async () => {
      for (const socket of sockets) socket.destroy();
      sockets.clear();
      await new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
    },
    restore: () => (server.listening ? Promise.resolve() : listen()),
    blackHole: (on) => {
      silent = on;
    },
    cutOn: (match) => {
      trigger = match;
    },
    dropAnswersTo: (match, count) => {
      answerTrigger = { match, count };
    },
    stop: () => proxy.cut(),
  };
  const listen = () => {
    server = createServer((client) => {
      sockets.add(client);
      client.on('close', () => sockets.delete(client));
      client.on('error', () => client.destroy());
      if (silent) {
        client.resume();
        return;
      }
      const { hostname, port: targetPort } = new URL(proxy.target);
      const remote = connect(Number(targetPort), hostname);
      sockets.add(remote);
      remote.on('close', () => sockets.delete(remote));
      remote.on('error', () => client.destroy());
      let dropAnswer = false;
      client.on('data', (chunk: Buffer) => {
        const head = chunk.toString('latin1', 0, 300);
        if (trigger?.test(head)) {
          trigger = null;
          void proxy.cut();
          return;
        }
        if (answerTrigger?.match.test(head)) {
          answerTrigger = --answerTrigger.count > 0 ? answerTrigger : null;
          dropAnswer = true;
        }
        remote.write(chunk);
      });
      client.on('end', () => remote.end());
      remote.on('data', (chunk: Buffer) => {
        if (!dropAnswer) return client.write(chunk);
        client.destroy();
        remote.destroy();
      });
      remote.on('end', () => client.end());
    });
    return new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    }).then(() => {
      port = (server.address() as { port: number }).port;
      proxy.endpoint = `http://127.0.0.1:${port}`;
    });
  };
  await listen();
  return proxy;
}

/** Awaits a call that must fail within `withinMs`; returns the error and how long it took. */
async function failsFast(call: Promise<unknown>, withinMs: number) {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    call.then(
      () => ({ error: new Error('the call succeeded') as unknown }),
      (error: unknown) => ({ error }),
    ),
    new Promise<{ error: unknown }>((resolve) => {
      timer = setTimeout(() => resolve({ error: new Error(`still waiting after ${withinMs} ms`) }), withinMs);
    }),
  ]);
  clearTimeout(timer);
  return { error: outcome.error, ms: Date.now() - started };
}

const CSV = 'city,visits\nOslo,3\nLima,5\n';

describe('the object store down during file.confirm', () => {
  let store: Proxy;
  let api: TestApi;
  beforeAll(async () => {
    store = await startProxy();
    api = await createTestApi(
      {},
      {
        routeStorage: (endpoint) => {
          store.target = endpoint;
          return store.endpoint;
        },
      },
    );
  });
  afterAll(async () => {
    await store.restore().catch(() => undefined);
    await api.close();
    await store.stop();
  });

  async function uploaded(label: string) {
    const owner = await signUp(api, label);
    const project = await owner.as.project.create({ name: label });
    const { file, upload } = await owner.as.file.createUpload({
      projectId: project.id,
      filename: `${label}.csv`,
      size: Buffer.byteLength(CSV),
      contentType: 'text/csv',
    });
    expect(await postToPresignedUrl(upload, CSV)).toBe(204);
    return { owner, file };
  }

  it('fails the call with a short message while it is down, and confirms once it is back', async () => {
    const { owner, file } = await uploaded('down-before');
    await store.cut();
    const { error, ms } = await failsFast(owner.as.file.confirm({ fileId: file.id }), 15_000);
    expect(ms).toBeLessThan(15_000);
    // Which part is missing, not "the database" (what a refused connection was taken for before).
    expect(error).toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
      message: expect.stringMatching(/cannot reach its file storage/),
    });
    expect(String((error as Error).message)).not.toMatch(INTERNALS);
    // Nothing was claimed: the file waits for its confirmation, not stuck in PROCESSING.
    expect((await owner.as.file.byId({ fileId: file.id })).status).toBe('UPLOADING');

    await store.restore();
    const confirmed = await owner.as.file.confirm({ fileId: file.id });
    expect(confirmed).toMatchObject({ status: 'COMPLETED', metadata: { rowCount: 2 } });
  });

  it('ends FAILED with a reason when the store goes away while the file is read', async () => {
    const { owner, file } = await uploaded('down-during');
    // The claim is made and the object marked confirmed; the store dies as processing starts reading it.
    store.cutOn(new RegExp(`^GET /[^ ]*files/${file.id}(?!\\?tagging)[^ ]* HTTP`));
    const answered = await owner.as.file.confirm({ fileId: file.id });
    await store.restore();
    const settled = await waitForEnd(owner, file.id, answered.status);
    expect(settled.status).toBe('FAILED');
    // Said as it is, with what to do (a transient outage still costs a re-upload).
    expect(settled.failureReason).toMatch(/file storage could not be reached.*upload it again in a moment/);
    expect(settled.failureReason).not.toMatch(INTERNALS);
    // Confirming again answers the outcome instead of hanging or claiming it twice.
    expect(await owner.as.file.confirm({ fileId: file.id })).toMatchObject({ status: 'FAILED' });
  });

  it('takes over a PROCESSING claim whose server went away once it is stale, and completes it', async () => {
    const { owner, file } = await uploaded('stale-claim');
    // What a server that died right after claiming leaves behind: PROCESSING, and nobody working on it.
    const now = api.clock.now();
    const record = await getFile(api.deps.db, file.id);
    if (!record) throw new Error('no file');
    expect(await claimForProcessing(api.deps.db, { file: record, now, staleBefore: now })).toMatchObject({
      status: 'PROCESSING',
    });
    // A fresh claim is someone else's work in progress: confirming does not start a second run.
    expect((await owner.as.file.confirm({ fileId: file.id })).status).toBe('PROCESSING');

    api.clock.advance(PROCESSING_STALE_MS + 1000);
    // The access token expired meanwhile: sign in again.
    const { accessToken } = await api.caller().auth.login({ email: owner.email, password: owner.password });
    const as = api.caller(accessToken);
    const confirmed = await as.file.confirm({ fileId: file.id });
    expect((await waitForEnd({ as }, file.id, confirmed.status)).status).toBe('COMPLETED');
  });

  async function waitForEnd(owner: { as: ReturnType<TestApi['caller']> }, fileId: string, status: string) {
    const deadline = Date.now() + 20_000;
    let current = await owner.as.file.byId({ fileId });
    while (status === 'PROCESSING' && current.status === 'PROCESSING' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      current = await owner.as.file.byId({ fileId });
    }
    return current;
  }
});

const cutMidStream: WireScript = (request) =>
  request.lastUserText === 'cut'
    ? [{ text: 'Half of ' }, { text: 'an answer' }, { fail: 'connection dropped' }]
    : [{ text: 'Whole answer.' }, { usage: { input: 3, output: 2 } }];

describe('the model stream cut half-way', () => {
  const wires: [string, () => Promise<{ env: Record<string, string>; stop(): Promise<void> }>][] = [
    [
      'openai',
      async () => {
        const model = await startOpenAiServer(cutMidStream);
        return {
          env: { LLM_PROVIDER: 'openai', OPENAI_BASE_URL: model.baseUrl, OPENAI_API_KEY: 'test' },
          stop: () => model.stop(),
        };
      },
    ],
    [
      'bedrock',
      async () => {
        const model = await startBedrockServer(cutMidStream);
        return {
          env: { LLM_PROVIDER: 'bedrock', AWS_REGION: 'us-east-1', BEDROCK_ENDPOINT: model.endpoint },
          stop: () => model.stop(),
        };
      },
    ],
  ];

  it.each(wires)(
    '%s: run.failed, the partial text stored, and the session takes the next message',
    async (_name, start) => {
      const model = await start();
      const api = await createTestApi(model.env);
      onTestFinished(async () => {
        await api.close();
        await model.stop();
      });
      const { as } = await signUp(api);
      const project = await as.project.create({ name: 'Cut' });
      const session = await as.session.create({ projectId: project.id });
      const isEnd = (events: { data: { type: string } }[]) =>
        events.some((event) =>
          ['message.completed', 'run.failed', 'run.cancelled'].includes(event.data.type),
        );

      const { runId } = await as.chat.send({ sessionId: session.id, content: 'cut', clientMessageId: '1' });
      const events = await collectEvents(await as.chat.onEvents({ sessionId: session.id }), isEnd);
      const failed = events.at(-1)?.data;
      expect(failed).toMatchObject({ type: 'run.failed', runId, error: expect.any(String) });
      expect(String(failed?.error)).not.toMatch(INTERNALS);
      const [, reply] = (await as.chat.history({ sessionId: session.id })).items;
      expect(reply).toMatchObject({ role: 'assistant', status: 'error', content: 'Half of an answer' });

      await as.chat.send({ sessionId: session.id, content: 'again', clientMessageId: '2' });
      const next = await collectEvents(await as.chat.onEvents({ sessionId: session.id }), isEnd);
      expect(next.at(-1)?.data).toMatchObject({
        type: 'message.completed',
        message: { content: 'Whole answer.' },
      });
    },
  );
});

describe('DynamoDB unreachable', () => {
  let dynamo: Proxy;
  let api: TestApi;
  let as: Awaited<ReturnType<typeof signUp>>['as'];
  let projectId: string;
  const log = capturingLogger();
  /** Run once, when processing logs a file processed: right before the file's outcome is written. */
  let beforeOutcome: (() => void) | undefined;
  beforeAll(async () => {
    dynamo = await startProxy();
    api = await createTestApi(
      {},
      {
        routeDb: (endpoint) => {
          dynamo.target = endpoint;
          return dynamo.endpoint;
        },
        logger: {
          ...log,
          info: (details, message) => {
            log.info(details, message);
            if (message !== 'file processed') return;
            const run = beforeOutcome;
            beforeOutcome = undefined;
            run?.();
          },
        },
      },
    );
    const account = await signUp(api);
    as = account.as;
    projectId = (await as.project.create({ name: 'Before the outage' })).id;
  });
  afterAll(async () => {
    dynamo.blackHole(false);
    await dynamo.restore().catch(() => undefined);
    await api.close();
    await dynamo.stop();
  });

  it('refused connections: calls fail fast with a short message, the health check says so, then recover', async () => {
    await dynamo.cut();
    const calls = [
      () => as.project.list({}),
      () => as.project.byId({ projectId }),
      () => as.project.create({ name: 'x' }),
      () => as.session.create({ projectId }),
    ];
    for (const call of calls) {
      const { error, ms } = await failsFast(call(), 10_000);
      expect(ms).toBeLessThan(10_000);
      expect(error).toMatchObject({
        code: 'SERVICE_UNAVAILABLE',
        message: expect.stringMatching(/cannot reach its database/),
      });
      expect(String((error as Error).message)).not.toMatch(INTERNALS);
    }
    expect(await pingTable(api.deps.db, 1000)).toBe(false);

    await dynamo.restore();
    expect(await pingTable(api.deps.db, 2000)).toBe(true);
    expect((await as.project.byId({ projectId })).name).toBe('Before the outage');
  });

  it('a database that went silent: the health check says so within its own timeout', async () => {
    // Open connections are dropped so that the next ones meet the silence.
    await dynamo.cut();
    dynamo.blackHole(true);
    await dynamo.restore();
    const started = Date.now();
    expect(await pingTable(api.deps.db, 1000)).toBe(false);
    expect(Date.now() - started).toBeLessThan(3000);

    dynamo.blackHole(false);
    await dynamo.cut();
    await dynamo.restore();
    expect(await pingTable(api.deps.db, 2000)).toBe(true);
  });

  it('writes the outcome once the database is back, rather than leave the file PROCESSING', async () => {
    const owner = await signUp(api);
    const project = await owner.as.project.create({ name: 'Outage' });
    const { file } = await uploadFile(owner, project.id, CSV);
    let backAt = 0;
    beforeOutcome = () => {
      void dynamo
        .cut()
        .then(() => new Promise((resolve) => setTimeout(resolve, 1500)))
        .then(() => {
          backAt = Date.now();
          return dynamo.restore();
        });
    };
    const confirmed = await owner.as.file.confirm({ fileId: file.id });
    expect(backAt).toBeGreaterThan(0);
    expect(confirmed.status).toBe('COMPLETED');
    expect(await owner.as.file.byId({ fileId: file.id })).toMatchObject({
      status: 'COMPLETED',
      metadata: { rowCount: 2 },
    });
    expect(log.lines.filter((line) => line.includes(file.id) && line.includes('"level":"error"'))).toEqual(
      [],
    );
  });

  it('answers COMPLETED when the outcome was written but its answer was lost, and counts the file once', async () => {
    const owner = await signUp(api);
    const project = await owner.as.project.create({ name: 'Lost answer' });
    const { file } = await uploadFile(owner, project.id, CSV);
    // Counted when the upload was made, at its declared size; the outcome adds what the file turned out to differ by.
    const usageBefore = (await getUsage(api.deps.db, owner.user.id))?.storedBytes;
    expect(usageBefore).toBe(Buffer.byteLength(CSV));
    // Processed as `file.confirm` (or a saved table) has it processed, for the record processing answers with.
    const record = await getFile(api.deps.db, file.id);
    if (!record) throw new Error('no file');
    const now = api.clock.now();
    const claimed = await claimForProcessing(api.deps.db, { file: record, now, staleBefore: now });
    if (!claimed) throw new Error('not claimed');
    // Each of the SDK's tries (it sends the same request token, so the ones after the first change nothing).
    beforeOutcome = () => dynamo.dropAnswersTo(/TransactWriteItems/, 3);
    const processed = await api.deps.fileProcessor.process(claimed, Buffer.byteLength(CSV), 0);
    expect(processed).toMatchObject({ status: 'COMPLETED', metadata: { rowCount: 2 } });
    expect(await getFile(api.deps.db, file.id)).toMatchObject({ status: 'COMPLETED' });
    expect((await getUsage(api.deps.db, owner.user.id))?.storedBytes).toBe(usageBefore);
  });
});
