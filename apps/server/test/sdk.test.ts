import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  type AuthTokens,
  ask,
  type ChatEvent,
  createLeonidasClient,
  errorCode,
  expiresSoon,
  fieldErrors,
  type MakeChartOutput,
  RedirectRefusedError,
  type RouterInputs,
  type RouterOutputs,
  type RunSqlOutput,
  type SaveTableOutput,
  uploadFile,
} from '@leonidas/client';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import type { RunningServer } from '../src/server.js';
import { startTestServer, uniqueEmail } from './helpers.js';

let server: RunningServer;
const scratch = mkdtempSync(join(tmpdir(), 'leonidas-sdk-'));
beforeAll(async () => {
  server = await startTestServer({ OFFLINE_TOKEN_DELAY_MS: '0' });
});
afterAll(async () => {
  await server?.close();
  rmSync(scratch, { recursive: true, force: true });
});

async function account() {
  return createLeonidasClient({ url: server.url }).auth.register.mutate({
    email: uniqueEmail('sdk'),
    password: 'pa55word!',
  });
}

describe('@leonidas/client', () => {
  it('renews a refused access token once with the refresh token, retries, and reports the new tokens', async () => {
    const { refreshToken } = await account();
    const seen: AuthTokens[] = [];
    const client = createLeonidasClient({
      url: server.url,
      getToken: () => 'expired-or-forged',
      refreshToken: () => refreshToken,
      onTokens: (tokens) => seen.push(tokens),
    });
    await expect(client.project.list.query()).resolves.toEqual({ items: [], nextCursor: null });
    expect(seen).toHaveLength(1);
    expect(seen[0]?.refreshToken).not.toBe(refreshToken);
    // The rotated token is used from now on; the old one is spent.
    await expect(client.project.create.mutate({ name: 'After renewal' })).resolves.toHaveProperty('id');
    expect(seen).toHaveLength(1);
  });

  it("keeps the app's token the source of truth: after a sign-out, a renewal made before is not used", async () => {
    const tokens = await account();
    let current: { accessToken: string | null; refreshToken: string | null } = {
      accessToken: 'expired-or-forged',
      refreshToken: tokens.refreshToken ?? null,
    };
    const client = createLeonidasClient({
      url: server.url,
      getToken: () => current.accessToken,
      refreshToken: () => current.refreshToken,
    });
    // Renewed once, by the SDK (the app does not take the new tokens here).
    await expect(client.project.list.query()).resolves.toHaveProperty('items');
    await expect(client.project.list.query()).resolves.toHaveProperty('items');
    // The app signs out: no token and nothing to renew with, so the next call is refused.
    current = { accessToken: null, refreshToken: null };
    const refused = await client.project.list.query().catch((error: unknown) => error);
    expect(errorCode(refused)).toBe('UNAUTHORIZED');
    // Signed in again (another account): its token is used, not the old renewal.
    const other = await account();
    current = { accessToken: other.accessToken, refreshToken: other.refreshToken ?? null };
    await expect(client.auth.me.query()).resolves.toMatchObject({ id: other.user.id });
  });

  it("renews a token about to expire before it is sent, through the app's own renew, once for many calls", async () => {
    const tokens = await account();
    const seconds = Math.floor(Date.now() / 1000);
    const claims = (life: number, left: number) =>
      Buffer.from(JSON.stringify({ iat: seconds - (life - left), exp: seconds + left })).toString(
        'base64url',
      );
    // Not a token the server takes (unsigned): only a renewal before sending lets `auth.me` (never retried) pass.
    const expiring = `e30.${claims(900, 30)}.x`;
    let renewals = 0;
    const client = createLeonidasClient({
      url: server.url,
      getToken: () => expiring,
      renew: async () => {
        renewals++;
        return tokens;
      },
    });
    const [me, again] = await Promise.all([client.auth.me.query(), client.auth.me.query()]);
    expect(me.id).toBe(tokens.user.id);
    expect(again.id).toBe(tokens.user.id);
    expect(renewals).toBe(1);
    // A token with life left is sent as it is.
    expect(expiresSoon(`e30.${claims(900, 120)}.x`, Date.now())).toBe(false);
    expect(expiresSoon(`e30.${claims(60, 14)}.x`, Date.now())).toBe(true);
    expect(expiresSoon('not-a-jwt', Date.now())).toBe(false);
  });

  it('surfaces UNAUTHORIZED when there is nothing to renew with, and field errors as data', async () => {
    const client = createLeonidasClient({ url: server.url, token: 'nonsense' });
    const unauthorized = await client.project.list.query().catch((error: unknown) => error);
    expect(errorCode(unauthorized)).toBe('UNAUTHORIZED');
    const invalid = await createLeonidasClient({ url: server.url })
      .auth.register.mutate({ email: 'x', password: 'short' })
      .catch((error: unknown) => error);
    expect(errorCode(invalid)).toBe('BAD_REQUEST');
    expect(fieldErrors(invalid).password).toEqual(['Password must be at least 8 characters']);
    const badRefresh = createLeonidasClient({
      url: server.url,
      getToken: () => 'x',
      refreshToken: 'not-a-refresh-token',
    });
    expect(errorCode(await badRefresh.auth.me.query().catch((error: unknown) => error))).toBe('UNAUTHORIZED');
  });

  it('uploads from bytes, a path and a stream, then asks DS Bro and streams the reply', async () => {
    const { accessToken } = await account();
    const client = createLeonidasClient({ url: server.url, token: accessToken });
    const project = await client.project.create.mutate({ name: 'Helpers' });
    const csv = 'team,score\nred,3\nblue,5\n';
    const path = join(scratch, 'scores.csv');
    writeFileSync(path, csv);

    const fromBytes = await uploadFile(client, {
      projectId: project.id,
      filename: 'bytes.csv',
      data: Buffer.from(csv),
    });
    const fromPath = await uploadFile(client, { projectId: project.id, filename: 'scores.csv', data: path });
    const fromStream = await uploadFile(client, {
      projectId: project.id,
      filename: 'stream.csv',
      data: Readable.from([Buffer.from(csv)]),
    });
    for (const file of [fromBytes, fromPath, fromStream]) {
      expect(file).toMatchObject({ status: 'COMPLETED', size: csv.length, metadata: { rowCount: 2 } });
    }
    const failed = await uploadFile(client, {
      projectId: project.id,
      filename: 'empty.csv',
      data: Buffer.from('a,b\n'),
    });
    expect(failed).toMatchObject({
      status: 'FAILED',
      failureReason: 'The file has a header row but no data rows.',
    });

    const session = await client.session.create.mutate({ projectId: project.id });
    const events: ChatEvent[] = [];
    for await (const event of ask(client, { sessionId: session.id, content: 'describe scores.csv' }))
      events.push(event);
    expect(events[0]?.type).toBe('run.started');
    const last = events.at(-1);
    expect(last?.type).toBe('message.completed');
    if (last?.type === 'message.completed')
      expect(last.message.content).toContain('**scores.csv** has **2 rows**');
    // A second question skips the replay of the first run.
    const second: ChatEvent[] = [];
    for await (const event of ask(client, { sessionId: session.id, content: 'what files do I have?' }))
      second.push(event);
    expect(new Set(second.map((event) => event.runId)).size).toBe(1);
    expect(second[0]?.runId).not.toBe(events[0]?.runId);
  });

  it('analyses a file with the offline commands: a query, a chart and a saved table, all over HTTP and SSE', async () => {
    const { accessToken } = await account();
    const client = createLeonidasClient({ url: server.url, token: accessToken });
    const project = await client.project.create.mutate({ name: 'Analysis' });
    const csv = 'team,score,day\nred,3,2024-01-02\nblue,5,2024-01-03\nred,4,2024-02-01\n';
    await uploadFile(client, { projectId: project.id, filename: 'scores.csv', data: Buffer.from(csv) });
    const session = await client.session.create.mutate({ projectId: project.id });
    const reply = async (content: string) => {
      const events: ChatEvent[] = [];
      for await (const event of ask(client, { sessionId: session.id, content })) events.push(event);
      const last = events.at(-1);
      if (last?.type !== 'message.completed') throw new Error(`the reply ended ${last?.type}`);
      return { events, message: last.message };
    };
    const outputOf = <T>(message: { toolCalls?: { output: unknown }[] | undefined }) => {
      const output = message.toolCalls?.[0]?.output;
      if (output === undefined) throw new Error('the reply called no tool');
      return output as T;
    };

    const query = await reply(
      '/sql SELECT team, sum(score) AS total FROM scores GROUP BY team ORDER BY total DESC',
    );
    expect(query.events.map((event) => event.type)).toEqual([
      'run.started',
      'tool.call',
      'tool.result',
      ...query.events.slice(3, -1).map(() => 'message.delta'),
      'message.completed',
    ]);
    const result = query.events.find((event) => event.type === 'tool.result');
    expect(result?.type === 'tool.result' && (result.output as RunSqlOutput)).toEqual({
      queryId: 'q1',
      columns: [
        { name: 'team', type: 'VARCHAR' },
        { name: 'total', type: 'HUGEINT' },
      ],
      rows: [
        ['red', 7],
        ['blue', 5],
      ],
      rowCount: 2,
      truncated: false,
    });
    expect(query.message.content).toContain('| red | 7 |');
    expect(query.message.numbers?.map((number) => [number.text, number.status])).toEqual([
      ['2', 'verified'],
      ['7', 'verified'],
      ['5', 'verified'],
    ]);

    const chart = await reply('/chart bar x=team y=total title=Scores');
    const { fileId: chartId } = outputOf<MakeChartOutput>(chart.message);
    const spec = await (await fetch((await client.file.downloadUrl.query({ fileId: chartId })).url)).json();
    expect(spec).toMatchObject({
      mark: { type: 'bar' },
      data: {
        values: [
          { team: 'red', total: 7 },
          { team: 'blue', total: 5 },
        ],
      },
    });

    const saved = await reply('/save team totals');
    const { fileId: tableId, table } = outputOf<SaveTableOutput>(saved.message);
    expect(table).toBe('team_totals');
    expect(await client.file.byId.query({ fileId: tableId })).toMatchObject({
      status: 'COMPLETED',
      source: 'APP_GENERATED',
      provenance: {
        sessionId: session.id,
        messageId: saved.message.id,
        sql: expect.stringContaining('sum(score)'),
      },
    });
    const csvBack = await (
      await fetch((await client.file.downloadUrl.query({ fileId: tableId })).url)
    ).text();
    expect(csvBack.trim().split('\n')).toEqual(['team,total', 'red,7', 'blue,5']);
  });

  it('edits a question, regenerates a reply and switches versions, and ask goes on from the branch shown', async () => {
    const { accessToken } = await account();
    const client = createLeonidasClient({ url: server.url, token: accessToken });
    const project = await client.project.create.mutate({ name: 'Versions' });
    const session = await client.session.create.mutate({ projectId: project.id });
    const sessionId = session.id;
    const finish = async (events: AsyncIterable<ChatEvent>) => {
      for await (const event of events) if (event.type === 'message.completed') return event.message;
      throw new Error('the reply did not complete');
    };
    /** Follows a run started by a mutation (edit, regenerate) to its end. */
    const follow = (runId: string) =>
      new Promise<RouterOutputs['chat']['history']['items'][number]>((resolve, reject) => {
        const subscription = client.chat.onEvents.subscribe(
          { sessionId },
          {
            onData: ({ data }) => {
              if (data.runId === runId && data.type === 'message.completed') {
                subscription.unsubscribe();
                resolve(data.message);
              }
            },
            onError: reject,
          },
        );
      });
    const first = await finish(ask(client, { sessionId, content: '/help' }));
    await finish(ask(client, { sessionId, content: '/tables' }));
    const shown = async () => (await client.chat.history.query({ sessionId })).items;
    const question = (await shown())[2];

    const edited = await client.chat.edit.mutate({
      sessionId,
      messageId: question?.id ?? '',
      content: 'what files do I have?',
      clientMessageId: crypto.randomUUID(),
    });
    await follow(edited.runId);
    expect((await shown()).map((message) => message.content.split('\n')[0])).toEqual([
      '/help',
      first.content.split('\n')[0],
      'what files do I have?',
      expect.stringContaining('no files'),
    ]);
    const regenerated = await client.chat.regenerate.mutate({
      sessionId,
      messageId: (await shown())[3]?.id ?? '',
      clientMessageId: crypto.randomUUID(),
    });
    const again = await follow(regenerated.runId);
    expect(again.siblingIds).toHaveLength(2);

    // ask continues the branch shown, here the edited one.
    const next = await finish(ask(client, { sessionId, content: '/tables' }));
    expect(next.parentId).not.toBeNull();
    const afterAsk = await shown();
    expect(afterAsk.map((message) => message.id).slice(0, 4)).toEqual([
      first.parentId,
      first.id,
      edited.userMessage.id,
      again.id,
    ]);
    expect(afterAsk).toHaveLength(6);

    await client.chat.selectBranch.mutate({ sessionId, messageId: question?.id ?? '' });
    expect((await shown())[2]).toMatchObject({
      id: question?.id,
      content: '/tables',
      siblingIds: [question?.id, edited.userMessage.id],
    });
  });

  it('infers procedure inputs, outputs and event types', () => {
    expectTypeOf<RouterOutputs['project']['byId']>().not.toBeAny();
    expectTypeOf<RouterOutputs['project']['byId']>().toEqualTypeOf<{
      id: string;
      name: string;
      description: string;
      createdAt: Date;
      updatedAt: Date;
    }>();
    expectTypeOf<RouterInputs['chat']['send']>().toEqualTypeOf<{
      sessionId: string;
      content: string;
      clientMessageId: string;
    }>();
    expectTypeOf<RouterOutputs['file']['byId']['status']>().toEqualTypeOf<
      'UPLOADING' | 'PROCESSING' | 'COMPLETED' | 'FAILED'
    >();
    expectTypeOf<Extract<ChatEvent, { type: 'message.delta' }>['text']>().toEqualTypeOf<string>();
    const client = createLeonidasClient({ url: 'http://localhost' });
    expectTypeOf(client.project.list.query).returns.resolves.toEqualTypeOf<
      RouterOutputs['project']['list']
    >();
    expectTypeOf(client.auth.me.query).returns.resolves.not.toBeAny();
  });
});

describe('@leonidas/client and redirects', () => {
  /** What reached the other origin. */
  const elsewhere: { method?: string; url?: string; authorization?: string; body: string }[] = [];
  /** Every request to the redirecting server, by path. */
  const redirector: string[] = [];
  let otherOrigin: Server;
  let redirecting: Server;
  let redirectingUrl = '';

  const listen = async (server: Server) => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };
  const bodyOf = async (incoming: IncomingMessage) => {
    let body = '';
    for await (const chunk of incoming) body += String(chunk);
    return body;
  };

  beforeAll(async () => {
    otherOrigin = createServer(async (incoming, answer) => {
      const { method, url, headers } = incoming;
      elsewhere.push({ method, url, authorization: headers.authorization, body: await bodyOf(incoming) });
      answer.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
    const otherUrl = await listen(otherOrigin);
    // `/away/...` points to another origin, `/moved/...` to the same path on this one, the rest goes to the API.
    redirecting = createServer((incoming, answer) => {
      const url = incoming.url ?? '/';
      redirector.push(url);
      if (url.startsWith('/away/')) answer.writeHead(307, { location: `${otherUrl}${url.slice(5)}` }).end();
      else if (url.startsWith('/moved/')) answer.writeHead(307, { location: url.slice(6) }).end();
      else {
        const upstream = request(
          new URL(url, server.url),
          { method: incoming.method, headers: incoming.headers },
          (response) => {
            answer.writeHead(response.statusCode ?? 502, response.headers);
            response.pipe(answer);
          },
        );
        incoming.pipe(upstream);
      }
    });
    redirectingUrl = await listen(redirecting);
  });
  afterAll(async () => {
    for (const running of [otherOrigin, redirecting]) {
      running.closeAllConnections();
      await new Promise((resolve) => running.close(resolve));
    }
  });

  it('follows a redirect within the origin, body and all', async () => {
    const client = createLeonidasClient({ url: `${redirectingUrl}/moved` });
    const { refreshToken } = await client.auth.register.mutate({
      email: uniqueEmail('moved'),
      password: 'pa55word!',
    });
    const renewing = createLeonidasClient({
      url: `${redirectingUrl}/moved`,
      getToken: () => 'expired',
      refreshToken: () => refreshToken,
    });
    await expect(renewing.project.list.query()).resolves.toEqual({ items: [], nextCursor: null });
    expect(redirector).toContain('/moved/trpc/auth.refresh?batch=1');
  });

  it('sends no refresh token, body or token to another origin, from a call, a renewal or a subscription', async () => {
    const { accessToken, refreshToken } = await account();
    const away = `${redirectingUrl}/away`;
    const refused = await createLeonidasClient({ url: away })
      .auth.refresh.mutate({ refreshToken: refreshToken ?? '' })
      .catch((error: unknown) => error);
    expect((refused as Error).cause).toBeInstanceOf(RedirectRefusedError);
    expect(elsewhere).toEqual([]);

    const renewing = createLeonidasClient({ url: away, getToken: () => accessToken, refreshToken });
    await expect(renewing.project.create.mutate({ name: 'Secret plans' })).rejects.toThrow(/redirected to/);
    await expect(renewing.project.list.query()).rejects.toThrow(/redirected to/);

    // Two attempts at the stream: the first one's redirect was dealt with before the client tried again.
    const subscription = renewing.chat.onEvents.subscribe(
      { sessionId: 'any' },
      { onData: (event) => expect.unreachable(`no event was expected, got ${JSON.stringify(event)}`) },
    );
    await expect
      .poll(() => redirector.filter((url) => url.startsWith('/away/trpc/chat.onEvents')).length, {
        timeout: 20_000,
      })
      .toBeGreaterThanOrEqual(2);
    subscription.unsubscribe();

    expect(elsewhere).toEqual([]);
    // The refresh token never left, so it still works where it belongs.
    await expect(
      createLeonidasClient({ url: server.url }).auth.refresh.mutate({ refreshToken: refreshToken ?? '' }),
    ).resolves.toHaveProperty('accessToken');
  }, 30_000);
});
