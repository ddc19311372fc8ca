import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { newId } from '@leonidas/db';
import { TRPCError } from '@trpc/server';
import { createHTTPServer } from '@trpc/server/adapters/standalone';
import { getErrorShape } from '@trpc/server/unstable-core-do-not-import';
import fc from 'fast-check';
import superjson from 'superjson';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createContext } from '../src/context.js';
import { appRouter } from '../src/root.js';
import { collectEvents, createTestApi, postToPresignedUrl, signUp, type TestApi } from './helpers.js';

/**
 * Hostile inputs against every procedure of the router, found by walking it: a procedure added later is fuzzed
 * without touching this file, and one whose input has a shape the generators do not know fails here.
 * Whatever comes in: never an internal error, never a stack trace or a path of ours in a message, field
 * errors for invalid input, and another user's ids are NOT_FOUND with nothing of theirs in any answer.
 */

const SEED = 15;
/** Sized for the whole file to stay well under a minute on two busy cores. */
const RUNS = { randomJson: 12, derived: 40, ownership: 12, http: 6 };

type Account = Awaited<ReturnType<typeof signUp>>;
type Call = (input: unknown) => Promise<unknown>;
type Procedure = { path: string; type: 'query' | 'mutation' | 'subscription'; input: z.ZodType | null };

const ID_KINDS = ['projectId', 'sessionId', 'fileId', 'messageId'] as const;
type IdKind = (typeof ID_KINDS)[number];
type Ids = Record<IdKind, string[]>;
const isIdKind = (key: string): key is IdKind => (ID_KINDS as readonly string[]).includes(key);

/** The router's procedures as tRPC holds them (flattened paths such as `file.confirm`). */
function walkProcedures(): Procedure[] {
  // Typed as the nested router, held flat at run time (keyed `auth.register`), which is what a walk needs.
  const procedures = appRouter._def.procedures as unknown as Record<
    string,
    { _def: { type: Procedure['type']; inputs: unknown[] } }
  >;
  return Object.entries(procedures).map(([path, procedure]) => {
    const { inputs, type } = procedure._def;
    if (inputs.length > 1) throw new Error(`${path}: more than one input parser; teach this fuzzer`);
    const [input] = inputs;
    if (input !== undefined && !(input instanceof z.ZodType)) throw new Error(`${path}: input is not zod`);
    return { path, type, input: input ?? null };
  });
}

function callerFor(api: TestApi, path: string, accessToken: string | undefined, clientIp: string): Call {
  let node: unknown = api.caller(accessToken, clientIp);
  for (const segment of path.split('.')) node = (node as Record<string, unknown>)[segment];
  if (typeof node !== 'function') throw new Error(`no caller for ${path}`);
  return node as Call;
}

// --- hostile values --------------------------------------------------------------------------------------

const HUGE = 'x'.repeat(40_000);
const hostileString = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.constantFrom(
    '',
    ' ',
    '\u0000',
    '\u0007\u001b[2J',
    '\u202eevil',
    '\ud800',
    'NaN',
    'Infinity',
    '-0',
    '1e308',
    '__proto__',
    'constructor',
    '../../etc/passwd',
    "' OR 1=1 --",
    '{"$ne":null}',
    'PROJECT#',
    'USER#x#PROJECT#y',
    '%00',
    HUGE,
  ),
);
const hostileNumber = fc.oneof(
  fc.constantFrom(-0, 0, -1, 1.5, 1e308, -1e308, 2 ** 53 + 2, 2 ** 31, Number.MIN_VALUE, 1e-300),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY),
  fc.integer(),
  fc.double(),
);
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  hostileString,
  hostileNumber,
  fc.constantFrom(null, undefined, true, false, [], {}, [null], { __proto__: null }),
  fc.jsonValue({ maxDepth: 3 }),
  fc.bigInt(),
  fc.date({ noInvalidDate: false }),
);

/** What `extraKey` adds: an unknown field, or one a service would trust if it got through (`userId`). */
const extraKey = fc.oneof(
  fc.constantFrom('userId', 'status', '__proto__', 'constructor', 'admin'),
  fc.string(),
);

// --- generators derived from the zod schemas -------------------------------------------------------------

interface Pools {
  own: Ids;
  victim: Ids;
  /** Cursors this user was not issued for the list at hand: another user's, forged, truncated. */
  foreignCursors: string[];
}

/** How a string field is filled, by its name: ids and cursors come from pools so ownership can be judged. */
function stringFor(key: string, pools: Pools, idMode: 'any' | 'victim' | 'own'): fc.Arbitrary<string> {
  if (isIdKind(key)) {
    const own = fc.constantFrom(...pools.own[key]);
    const victim = fc.constantFrom(...pools.victim[key]);
    if (idMode === 'own') return own;
    if (idMode === 'victim') return victim;
    const missing = fc.oneof(
      fc.constant(newId()),
      fc.constantFrom(...pools.victim[key]).map((id) => `${id}#`),
      fc.constantFrom(...pools.victim[key]).map((id) => id.toLowerCase()),
      fc.constantFrom(...Object.values(pools.victim).flat()),
      hostileString.filter((text) => text.length > 0 && text.length <= 64),
    );
    return fc.oneof({ arbitrary: own, weight: 4 }, { arbitrary: victim, weight: 2 }, missing);
  }
  if (key.endsWith('Id') && key !== 'clientMessageId' && key !== 'lastEventId') {
    throw new Error(`field ${key}: an id kind this fuzzer has no pools for; add it to ID_KINDS`);
  }
  switch (key) {
    case 'cursor':
      return fc.constantFrom(...pools.foreignCursors);
    case 'email':
      return fc.oneof(fc.emailAddress(), hostileString);
    case 'filename':
      return fc.oneof(
        fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }).map((name) => `${name}.csv`),
        fc.constantFrom('a.tsv', 'CON.csv', '.csv', 'a/../b.csv', 'a\u0000.csv', `${HUGE}.csv`),
        hostileString,
      );
    case 'contentType':
      return fc.constantFrom('text/csv', '', 'TEXT/CSV ', 'application/json', 'text/html; charset=utf-8');
    case 'refreshToken':
      return fc.oneof(fc.base64String({ minLength: 1, maxLength: 60 }), hostileString);
    default:
      return fc.oneof({ arbitrary: fc.string({ minLength: 1, maxLength: 50 }), weight: 4 }, hostileString);
  }
}

function numberFor(key: string): fc.Arbitrary<number> {
  const edge = fc.constantFrom(-0, 0, -1, 1, 100, 101, 200, 201, 1e308, 2 ** 53 + 2, 1.5);
  return key === 'limit'
    ? fc.oneof(fc.integer({ min: 1, max: 100 }), edge)
    : fc.oneof(fc.integer({ min: 1, max: 10_000 }), edge, fc.constant(6 * 1024 ** 3));
}

/** A value shaped by the schema (mostly valid, sometimes at its edges), or a throw for an unknown shape. */
function valueFor(
  schema: z.ZodType,
  key: string,
  pools: Pools,
  idMode: 'any' | 'victim' | 'own',
): fc.Arbitrary<unknown> {
  if (schema instanceof z.ZodOptional) {
    return fc.option(valueFor(schema.unwrap() as z.ZodType, key, pools, idMode), { nil: undefined });
  }
  if (schema instanceof z.ZodDefault || schema instanceof z.ZodPrefault) {
    return fc.option(valueFor(schema.unwrap() as z.ZodType, key, pools, idMode), { nil: undefined });
  }
  if (schema instanceof z.ZodPipe) return valueFor(schema.in as z.ZodType, key, pools, idMode);
  if (schema instanceof z.ZodString) return stringFor(key, pools, idMode);
  if (schema instanceof z.ZodNumber) return numberFor(key);
  if (schema instanceof z.ZodEnum) return fc.constantFrom(...(schema.options as (string | number)[]));
  if (schema instanceof z.ZodLiteral) return fc.constantFrom(...(schema.values as Set<unknown>));
  if (schema instanceof z.ZodObject) {
    const shape = schema.shape as Record<string, z.ZodType>;
    const fields = Object.fromEntries(
      Object.entries(shape).map(([name, field]) => [name, valueFor(field, name, pools, idMode)]),
    );
    // Optional fields left undefined are dropped, as JSON would drop them.
    return fc
      .record(fields)
      .map((record) => Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined)));
  }
  throw new Error(`no generator for ${schema.constructor.name} at field "${key}"`);
}

type Mutation = { kind: string; apply(input: Record<string, unknown>): unknown };

/** Takes a schema-shaped input and breaks it in one of the ways clients and attackers do. */
function mutated(base: fc.Arbitrary<unknown>): fc.Arbitrary<{ input: unknown; mutation: string }> {
  const mutation: fc.Arbitrary<Mutation> = fc.oneof(
    {
      arbitrary: fc.constant({ kind: 'none', apply: (input: Record<string, unknown>) => input }),
      weight: 5,
    },
    extraKey.chain((key) =>
      hostileValue.map((value) => ({
        kind: 'extra-key',
        apply: (input: Record<string, unknown>) => {
          const copy = { ...input };
          Object.defineProperty(copy, key, { value, enumerable: true, configurable: true, writable: true });
          return copy;
        },
      })),
    ),
    fc.nat().map((index) => ({
      kind: 'drop-key',
      apply: (input: Record<string, unknown>) => {
        const keys = Object.keys(input);
        const drop = keys[index % Math.max(keys.length, 1)];
        return Object.fromEntries(Object.entries(input).filter(([name]) => name !== drop));
      },
    })),
    {
      arbitrary: fc.tuple(fc.nat(), hostileValue).map(([index, value]) => ({
        kind: 'replace-value',
        apply: (input: Record<string, unknown>) => {
          const keys = Object.keys(input);
          const target = keys[index % Math.max(keys.length, 1)];
          return target === undefined ? input : { ...input, [target]: value };
        },
      })),
      weight: 2,
    },
    hostileValue.map((value) => ({ kind: 'replace-input', apply: () => value })),
  );
  return fc.tuple(base, mutation).map(([input, { kind, apply }]) => ({
    input: typeof input === 'object' && input !== null ? apply(input as Record<string, unknown>) : input,
    mutation: kind,
  }));
}

// --- the oracle ------------------------------------------------------------------------------------------

/** A stack frame, or a path into our code or dependencies (plain "at least" in a message is fine). */
const INTERNALS = /\n\s+at |\bat \S+ \(|\bat (file:\/\/|\/)|node_modules|\/src\/|\.ts:\d+|file:\/\//;

interface Outcome {
  ok: boolean;
  value?: unknown;
  error?: TRPCError;
  shape?: {
    message: string;
    data: {
      code: string;
      zodError: { formErrors: string[]; fieldErrors: Record<string, string[] | undefined> } | null;
    };
  };
}

async function invoke(procedure: Procedure, call: Call, input: unknown): Promise<Outcome> {
  try {
    const value = await call(input);
    // A stream is only opened: its access was checked before the first event.
    if (procedure.type === 'subscription') {
      await (value as AsyncIterable<unknown>)[Symbol.asyncIterator]().return?.();
    }
    return { ok: true, value };
  } catch (caught) {
    if (!(caught instanceof TRPCError)) throw caught;
    const shape = getErrorShape({
      config: appRouter._def._config,
      error: caught,
      type: procedure.type,
      path: procedure.path,
      input,
      ctx: undefined,
    }) as Outcome['shape'];
    return { ok: false, error: caught, shape };
  }
}

function describeCase(procedure: Procedure, input: unknown, outcome: Outcome): string {
  let shown: string;
  try {
    shown = superjson.stringify(input).slice(0, 300);
  } catch {
    shown = String(input);
  }
  return `${procedure.path} with ${shown} -> ${outcome.ok ? 'ok' : `${outcome.error?.code}: ${outcome.shape?.message}`}`;
}

/** Holds for every call, whoever makes it and whatever it sends. */
function assertNeverInternal(procedure: Procedure, input: unknown, outcome: Outcome, secrets: string[]) {
  const label = describeCase(procedure, input, outcome);
  if (!outcome.ok) {
    expect(outcome.error?.code, label).not.toBe('INTERNAL_SERVER_ERROR');
    expect(outcome.shape?.message, label).not.toMatch(INTERNALS);
    for (const secret of secrets) expect(outcome.shape?.message, label).not.toContain(secret);
  } else {
    const answer = superjson.stringify(outcome.value);
    for (const secret of secrets) expect(answer, label).not.toContain(secret);
  }
}

/** Input the schema refuses is BAD_REQUEST, naming each field at fault (or the whole input). */
function assertFieldErrors(procedure: Procedure, input: unknown, outcome: Outcome) {
  const parsed = procedure.input?.safeParse(input);
  if (!parsed || parsed.success) return;
  const label = describeCase(procedure, input, outcome);
  expect(outcome.error?.code, label).toBe('BAD_REQUEST');
  const zodError = outcome.shape?.data.zodError;
  expect(zodError, label).toBeTruthy();
  for (const issue of parsed.error.issues) {
    const [field] = issue.path;
    if (typeof field === 'string') expect(zodError?.fieldErrors[field], label).toBeTruthy();
    else expect(zodError?.formErrors.length, label).toBeGreaterThan(0);
  }
  expect(outcome.shape?.message, label).toMatch(/^Invalid input/);
}

const valuesIn = (value: unknown): string[] =>
  typeof value === 'string'
    ? [value]
    : typeof value === 'object' && value !== null
      ? Object.values(value).flatMap(valuesIn)
      : [];

// --- the world the fuzzer runs in ------------------------------------------------------------------------

let api: TestApi;
let attacker: Account;
let victim: Account;
let pools: Pools;
/** Strings only the victim's data holds: none may appear in anything the attacker or a stranger gets. */
let victimSecrets: string[];
let victimView: () => Promise<unknown>;
let ipCounter = 0;
/** Sign-ups and sign-ins are limited per address: each fuzzed call comes from its own. */
const nextIp = () => `10.${(ipCounter >> 16) & 255}.${(ipCounter >> 8) & 255}.${ipCounter++ & 255}`;

async function settle(account: Account, sessionId: string) {
  await collectEvents(await account.as.chat.onEvents({ sessionId }), (events) =>
    events.some((event) => ['message.completed', 'run.failed', 'run.cancelled'].includes(event.data.type)),
  );
}

async function uploadCsv(account: Account, projectId: string, csv: string) {
  const { file, upload } = await account.as.file.createUpload({
    projectId,
    filename: `${randomUUID()}.csv`,
    size: Buffer.byteLength(csv),
    contentType: 'text/csv',
  });
  expect(await postToPresignedUrl(upload, csv)).toBe(204);
  return account.as.file.confirm({ fileId: file.id });
}

/** A project with a session, a conversation and a file: made again when a fuzzed call deleted it. */
async function fixtureFor(account: Account, label: string) {
  const project = await account.as.project.create({ name: `${label} project`, description: label });
  const session = await account.as.session.create({ projectId: project.id, title: `${label} session` });
  await account.as.chat.send({
    sessionId: session.id,
    content: `${label} question`,
    clientMessageId: randomUUID(),
  });
  await settle(account, session.id);
  const file = await uploadCsv(account, project.id, `secret,value\n${label},1\n`);
  const messages = (await account.as.chat.history({ sessionId: session.id })).items;
  return { project, session, file, messages };
}

async function ensureAttackerFixture() {
  const alive = await attacker.as.session
    .byId({ sessionId: pools.own.sessionId[0] ?? '' })
    .then(() => attacker.as.file.byId({ fileId: pools.own.fileId[0] ?? '' }))
    .then(() => attacker.as.chat.history({ sessionId: pools.own.sessionId[0] ?? '' }))
    .then((page) => page.items.length >= 2)
    .catch(() => false);
  if (alive) return;
  const fixture = await fixtureFor(attacker, 'attacker');
  pools.own = {
    projectId: [fixture.project.id],
    sessionId: [fixture.session.id],
    fileId: [fixture.file.id],
    messageId: fixture.messages.map((message) => message.id),
  };
}

beforeAll(async () => {
  api = await createTestApi({ OFFLINE_TOKEN_DELAY_MS: '0', CHAT_SEND_PER_MINUTE: '10000' });
  [attacker, victim] = await Promise.all([signUp(api, 'attacker'), signUp(api, 'victim')]);
  const marker = `victim-${randomUUID()}`;
  const first = await fixtureFor(victim, marker);
  const second = await fixtureFor(victim, marker);
  await victim.as.chat.send({
    sessionId: first.session.id,
    content: `${marker} again`,
    clientMessageId: randomUUID(),
  });
  await settle(victim, first.session.id);
  const victimMessages = (await victim.as.chat.history({ sessionId: first.session.id })).items;
  await victim.as.session.create({ projectId: first.project.id, title: marker });
  const cursors = [
    (await victim.as.project.list({ limit: 1 })).nextCursor,
    (await victim.as.session.list({ projectId: first.project.id, limit: 1 })).nextCursor,
    (await victim.as.chat.history({ sessionId: first.session.id, limit: 1 })).nextCursor,
  ];
  await uploadCsv(victim, first.project.id, 'a\n1\n');
  cursors.push((await victim.as.file.list({ projectId: first.project.id, limit: 1 })).nextCursor);
  const issued = cursors.filter((cursor): cursor is string => typeof cursor === 'string');
  expect(issued).toHaveLength(4);
  const [payload = '', signature = ''] = issued[0]?.split('.') ?? [];
  pools = {
    own: { projectId: [], sessionId: [], fileId: [], messageId: [] },
    victim: {
      projectId: [first.project.id, second.project.id],
      sessionId: [first.session.id, second.session.id],
      fileId: [first.file.id, second.file.id],
      messageId: [...victimMessages, ...second.messages].map((message) => message.id),
    },
    foreignCursors: [
      ...issued,
      ...issued.map((cursor) => cursor.slice(0, -3)),
      `${payload}.`,
      `.${signature}`,
      `${payload}.${signature}.x`,
      `${Buffer.from('{"pk":"USER#x","sk":"PROJECT#y"}').toString('base64url')}.${signature}`,
      `${Buffer.from('[1,2]').toString('base64url')}.${signature}`,
      `${Buffer.from('not json').toString('base64url')}.AAAA`,
      'x'.repeat(2048),
      '\u0000.\u0000',
    ],
  };
  victimSecrets = [marker, victim.user.id, ...Object.values(pools.victim).flat()];
  victimView = async () => ({
    projects: (await victim.as.project.list({})).items.map((project) => project.id).sort(),
    sessions: (await victim.as.session.list({ projectId: first.project.id })).items.length,
    files: (await victim.as.file.list({ projectId: first.project.id })).items.map((file) => file.status),
    messages: (await victim.as.chat.history({ sessionId: first.session.id })).items.map((m) => m.content),
  });
  await ensureAttackerFixture();
}, 120_000);

afterAll(() => api?.close());

const procedures = walkProcedures();

describe('every procedure under hostile input', () => {
  let victimBefore: unknown;
  beforeAll(async () => {
    victimBefore = await victimView();
  });
  beforeEach(ensureAttackerFixture, 60_000);

  it('walks the whole router', () => {
    expect(procedures.map((procedure) => procedure.path)).toEqual(
      expect.arrayContaining(['auth.register', 'project.delete', 'file.confirm', 'chat.onEvents']),
    );
    // Every input is one this fuzzer can shape (or throws naming the field it cannot).
    for (const procedure of procedures) {
      if (procedure.input) valueFor(procedure.input, '', pools, 'any');
    }
  });

  it.each(procedures.map((procedure) => [procedure.path, procedure] as const))(
    '%s: random JSON, signed in and anonymous',
    async (_path, procedure) => {
      await fc.assert(
        fc.asyncProperty(hostileValue, fc.boolean(), async (input, signedIn) => {
          const call = callerFor(api, procedure.path, signedIn ? attacker.accessToken : undefined, nextIp());
          const outcome = await invoke(procedure, call, input);
          assertNeverInternal(procedure, input, outcome, victimSecrets);
          const isProtected = !procedure.path.startsWith('auth.') || procedure.path === 'auth.me';
          if (!signedIn && isProtected) expect(outcome.error?.code).toBe('UNAUTHORIZED');
          else assertFieldErrors(procedure, input, outcome);
        }),
        { seed: SEED, numRuns: RUNS.randomJson, endOnFailure: true },
      );
    },
  );

  it.each(
    procedures
      .filter((procedure) => procedure.input)
      .map((procedure) => [procedure.path, procedure] as const),
  )('%s: schema-derived inputs, mutated', async (_path, procedure) => {
    const schema = procedure.input as z.ZodType;
    await fc.assert(
      fc.asyncProperty(
        mutated(valueFor(schema, '', pools, 'any')),
        // Mostly signed in: the anonymous answer is the same UNAUTHORIZED whatever is sent.
        fc.integer({ min: 0, max: 4 }).map((draw) => draw === 0),
        async ({ input }, anonymous) => {
          const call = callerFor(api, procedure.path, anonymous ? undefined : attacker.accessToken, nextIp());
          const outcome = await invoke(procedure, call, input);
          assertNeverInternal(procedure, input, outcome, victimSecrets);
          if (anonymous && !procedure.path.startsWith('auth.')) {
            expect(outcome.error?.code).toBe('UNAUTHORIZED');
            return;
          }
          assertFieldErrors(procedure, input, outcome);
          if (!schema.safeParse(input).success) return;
          const sent = valuesIn(input);
          const label = describeCase(procedure, input, outcome);
          if (sent.some((value) => victimSecrets.includes(value))) {
            expect(outcome.error?.code, label).toBe('NOT_FOUND');
          } else if (sent.some((value) => pools.foreignCursors.includes(value))) {
            // Refused as not issued for this list, or the list itself is gone: never a page.
            expect(['BAD_REQUEST', 'NOT_FOUND'], label).toContain(outcome.error?.code);
          }
        },
      ),
      { seed: SEED, numRuns: RUNS.derived, endOnFailure: true },
    );
  });

  const withIds = procedures.filter(
    (procedure) =>
      procedure.input instanceof z.ZodObject &&
      Object.keys(procedure.input.shape).some((key) => isIdKind(key)),
  );

  it.each(withIds.map((procedure) => [procedure.path, procedure] as const))(
    "%s: another user's ids are NOT_FOUND",
    async (_path, procedure) => {
      const schema = procedure.input as z.ZodObject;
      const idKeys = Object.keys(schema.shape).filter(isIdKind);
      // Each id field the victim's or the attacker's own, at least one the victim's.
      const ids = fc
        .tuple(...idKeys.map(() => fc.boolean()))
        .filter((choices) => choices.some(Boolean))
        .chain((choices) =>
          fc.record(
            Object.fromEntries(
              idKeys.map((key, index) => [key, stringFor(key, pools, choices[index] ? 'victim' : 'own')]),
            ),
          ),
        );
      await fc.assert(
        fc.asyncProperty(
          valueFor(schema, '', pools, 'own').filter((input) => schema.safeParse(input).success),
          ids,
          async (base, chosen) => {
            const input = { ...(base as Record<string, unknown>), ...chosen };
            // A foreign cursor is refused on its own; here only the ids are at stake.
            delete input.cursor;
            if (!schema.safeParse(input).success) return;
            const call = callerFor(api, procedure.path, attacker.accessToken, nextIp());
            const outcome = await invoke(procedure, call, input);
            assertNeverInternal(procedure, input, outcome, victimSecrets);
            expect(outcome.error?.code, describeCase(procedure, input, outcome)).toBe('NOT_FOUND');
          },
        ),
        { seed: SEED, numRuns: RUNS.ownership, endOnFailure: true },
      );
    },
  );

  it("left the victim's data as it was", async () => {
    expect(await victimView()).toEqual(victimBefore);
  });
});

describe('a sample over real HTTP', () => {
  it('answers hostile bodies and queries with a 4xx and a short message, never a 500', async () => {
    const server = createHTTPServer({
      router: appRouter,
      basePath: '/trpc/',
      createContext: ({ req }) =>
        createContext(api.deps, { authorization: req.headers.authorization, clientIp: nextIp() }),
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/trpc`;
    const rawBodies = fc.oneof(
      fc.constantFrom(
        '',
        '{',
        'null',
        '{"json":',
        '{"json":{"a":1},"meta":{"values":{"a":["Date"]}}}',
        '{"json":{"a":"x"},"meta":{"values":{"a":[["custom","nope"]]}}}',
        '{"json":1,"meta":{"values":["bigint"]}}',
        '{"json":{},"meta":{"values":{"__proto__.polluted":["undefined"]}}}',
        '{"0":{"json":{}}}',
      ),
      hostileValue.map((value) => {
        try {
          return superjson.stringify(value);
        } catch {
          return 'null';
        }
      }),
    );
    try {
      for (const procedure of procedures.filter((candidate) => candidate.type !== 'subscription')) {
        await fc.assert(
          fc.asyncProperty(rawBodies, fc.boolean(), async (body, signedIn) => {
            const headers: Record<string, string> = { 'content-type': 'application/json' };
            if (signedIn) headers.authorization = `Bearer ${attacker.accessToken}`;
            const response =
              procedure.type === 'query'
                ? await fetch(`${base}/${procedure.path}?input=${encodeURIComponent(body)}`, { headers })
                : await fetch(`${base}/${procedure.path}`, { method: 'POST', headers, body });
            const text = await response.text();
            const label = `${procedure.path} ${body.slice(0, 200)} -> ${response.status} ${text.slice(0, 300)}`;
            expect(response.status, label).toBeLessThan(500);
            expect(text, label).not.toMatch(INTERNALS);
            for (const secret of victimSecrets) expect(text, label).not.toContain(secret);
          }),
          { seed: SEED, numRuns: RUNS.http, endOnFailure: true },
        );
      }
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }, 60_000);
});
