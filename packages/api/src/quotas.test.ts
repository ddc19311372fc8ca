import { getFile, getUsage } from '@leonidas/db';
import { forgetUsageCounters } from '@leonidas/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, expectTrpcError, postToPresignedUrl, signUp, type TestApi } from '../test/helpers.js';
import { retryAfterSecondsOf } from './errors.js';

let api: TestApi;
beforeAll(async () => {
  api = await createTestApi({
    MAX_PROJECTS_PER_USER: '3',
    MAX_SESSIONS_PER_USER: '3',
    MAX_MESSAGES_PER_SESSION: '4',
    MAX_PENDING_UPLOADS_PER_USER: '2',
    MAX_UPLOAD_BYTES: '600',
    MAX_PENDING_UPLOAD_BYTES_PER_USER: '1000',
    MAX_STORED_BYTES_PER_USER: '1500',
    UPLOAD_URL_TTL_SECONDS: '60',
    OFFLINE_TOKEN_DELAY_MS: '0',
  });
});
afterAll(() => api.close());

type Account = Awaited<ReturnType<typeof signUp>>;

/** A valid two-column CSV of exactly `bytes` bytes (a multiple of 4). */
const csvOf = (bytes: number) => `a,b\n${'1,2\n'.repeat(bytes / 4 - 1)}`;

const createUpload = (account: Account, projectId: string, size: number) =>
  account.as.file.createUpload({ projectId, filename: 'data.csv', size, contentType: 'text/csv' });

async function uploadAndConfirm(account: Account, projectId: string, bytes: number) {
  const { file, upload } = await createUpload(account, projectId, bytes);
  expect(await postToPresignedUrl(upload, csvOf(bytes))).toBe(204);
  const confirmed = await account.as.file.confirm({ fileId: file.id });
  expect(confirmed.status).toBe('COMPLETED');
  return confirmed;
}

describe('the projects quota', () => {
  it('refuses a project past the limit with FORBIDDEN naming it, until one is deleted', async () => {
    const account = await signUp(api);
    const projects = [];
    for (let i = 0; i < 3; i++) projects.push(await account.as.project.create({ name: `p${i}` }));
    const refused = await expectTrpcError(account.as.project.create({ name: 'one too many' }), 'FORBIDDEN');
    expect(refused.message).toBe(
      'You have reached the limit of 3 projects per account. Delete a project to create a new one.',
    );
    await account.as.project.delete({ projectId: projects[0]?.id ?? '' });
    await expect(account.as.project.create({ name: 'in its place' })).resolves.toHaveProperty('id');
  });

  it('lets exactly the allowed number of 10 concurrent creates win', async () => {
    const account = await signUp(api);
    await account.as.project.create({ name: 'first' });
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => account.as.project.create({ name: `race ${i}` })),
    );
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(2);
    for (const result of results) {
      if (result.status === 'rejected') expect(result.reason).toMatchObject({ code: 'FORBIDDEN' });
    }
    expect((await account.as.project.list()).items).toHaveLength(3);
  });
});

describe('the sessions quota (per user, across projects)', () => {
  it('refuses a chat past the limit with FORBIDDEN, until a chat or a project with chats is deleted', async () => {
    const account = await signUp(api);
    const first = await account.as.project.create({ name: 'one' });
    const second = await account.as.project.create({ name: 'two' });
    const kept = await account.as.session.create({ projectId: first.id });
    await account.as.session.create({ projectId: first.id });
    const other = await account.as.session.create({ projectId: second.id });
    const refused = await expectTrpcError(account.as.session.create({ projectId: second.id }), 'FORBIDDEN');
    expect(refused.message).toBe(
      'You have reached the limit of 3 chats per account. Delete a chat to start a new one.',
    );

    await account.as.session.delete({ sessionId: other.id });
    const replacement = await account.as.session.create({ projectId: second.id });
    await expectTrpcError(account.as.session.create({ projectId: second.id }), 'FORBIDDEN');

    // Deleting a project frees its chats as its cascade deletes them.
    await account.as.project.delete({ projectId: first.id });
    await expectTrpcError(account.as.session.byId({ sessionId: kept.id }), 'NOT_FOUND');
    await api.deps.background.drain(30_000);
    await account.as.session.create({ projectId: second.id });
    await account.as.session.create({ projectId: second.id });
    await expectTrpcError(account.as.session.create({ projectId: second.id }), 'FORBIDDEN');
    expect((await account.as.session.list({ projectId: second.id })).items.map((s) => s.id)).toContain(
      replacement.id,
    );
  });

  it('lets exactly the allowed number of 8 concurrent creates win', async () => {
    const account = await signUp(api);
    const project = await account.as.project.create({ name: 'race' });
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, () => account.as.session.create({ projectId: project.id })),
    );
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(3);
    expect((await account.as.session.list({ projectId: project.id })).items).toHaveLength(3);
  });
});

describe('the messages-per-session quota', () => {
  it('refuses a send past the limit with FORBIDDEN, until the chat starts over', async () => {
    const account = await signUp(api);
    const project = await account.as.project.create({ name: 'chatty' });
    const session = await account.as.session.create({ projectId: project.id });
    const send = (clientMessageId: string) =>
      account.as.chat.send({ sessionId: session.id, content: '/help', clientMessageId });
    await send('one');
    await api.deps.background.drain(10_000);
    await send('two');
    await api.deps.background.drain(10_000);
    const refused = await expectTrpcError(send('three'), 'FORBIDDEN');
    expect(refused.message).toBe(
      'This chat has reached the limit of 4 messages. Start a new chat, or start this one over.',
    );
    expect((await account.as.chat.history({ sessionId: session.id })).items).toHaveLength(4);

    await account.as.session.refresh({ sessionId: session.id });
    await expect(send('three')).resolves.toHaveProperty('runId');
  });
});

describe('the pending uploads quota', () => {
  it('refuses a third waiting upload with TOO_MANY_REQUESTS and a retry time; confirming or expiry frees it', async () => {
    const account = await signUp(api);
    const project = await account.as.project.create({ name: 'uploads' });
    const first = await createUpload(account, project.id, 8);
    await createUpload(account, project.id, 8);
    const refused = await expectTrpcError(createUpload(account, project.id, 8), 'TOO_MANY_REQUESTS');
    // Until the first upload's URL expires: a minute from its creation, a little less on a busy machine.
    expect(refused.message).toMatch(
      /^You have reached the limit of 2 uploads waiting for confirmation\. Confirm them, or wait until they expire\. Try again in (1 minute|5\d seconds)\.$/,
    );
    expect(retryAfterSecondsOf(refused)).toBeGreaterThan(50);
    expect(retryAfterSecondsOf(refused)).toBeLessThanOrEqual(60);

    // Confirming one frees its place.
    expect(await postToPresignedUrl(first.upload, csvOf(8))).toBe(204);
    await account.as.file.confirm({ fileId: first.file.id });
    const third = await createUpload(account, project.id, 8);
    await expectTrpcError(createUpload(account, project.id, 8), 'TOO_MANY_REQUESTS');

    // Once their URLs expire, the waiting ones give their places up without waiting for the sweep.
    api.clock.advance(61_000);
    await expect(createUpload(account, project.id, 8)).resolves.toHaveProperty('file');
    expect(await getFile(api.deps.db, third.file.id)).toBeNull();
  });

  it('refuses uploads whose declared bytes pass the limit while others wait', async () => {
    const account = await signUp(api);
    const project = await account.as.project.create({ name: 'big uploads' });
    await createUpload(account, project.id, 600);
    const refused = await expectTrpcError(createUpload(account, project.id, 500), 'TOO_MANY_REQUESTS');
    expect(refused.message).toMatch(
      /^Uploads waiting for confirmation may total at most 1000 bytes; 600 bytes are waiting\. .* Try again in (1 minute|5\d seconds)\.$/,
    );
    await expect(createUpload(account, project.id, 400)).resolves.toHaveProperty('file');
    api.clock.advance(61_000);
    await expect(createUpload(account, project.id, 500)).resolves.toHaveProperty('file');
  });

  it('lets exactly the allowed number of 6 concurrent uploads win', async () => {
    const account = await signUp(api);
    const project = await account.as.project.create({ name: 'racing uploads' });
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, () => createUpload(account, project.id, 8)),
    );
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(2);
    for (const result of results) {
      if (result.status === 'rejected') expect(result.reason).toMatchObject({ code: 'TOO_MANY_REQUESTS' });
    }
    expect(await getUsage(api.deps.db, account.user.id)).toMatchObject({ pendingBytes: 16, storedBytes: 16 });
  });
});

describe('the stored bytes quota', () => {
  it('refuses an upload past the limit with FORBIDDEN, until a file is deleted', async () => {
    const account = await signUp(api);
    const project = await account.as.project.create({ name: 'storage' });
    const kept = await uploadAndConfirm(account, project.id, 600);
    await uploadAndConfirm(account, project.id, 600);
    const refused = await expectTrpcError(createUpload(account, project.id, 400), 'FORBIDDEN');
    expect(refused.message).toBe(
      'This file would pass your storage limit of 1.5 KB: your files take 1.2 KB. Delete files to make room.',
    );
    await account.as.file.delete({ fileId: kept.id });
    await expect(createUpload(account, project.id, 400)).resolves.toHaveProperty('file');
  });

  it('counts the room held by waiting uploads, which their expiry frees', async () => {
    const account = await signUp(api);
    const project = await account.as.project.create({ name: 'reserved' });
    await uploadAndConfirm(account, project.id, 600);
    await createUpload(account, project.id, 600);
    const refused = await expectTrpcError(createUpload(account, project.id, 400), 'TOO_MANY_REQUESTS');
    expect(refused.message).toContain('hold the rest of your storage limit of 1.5 KB');
    api.clock.advance(61_000);
    await expect(createUpload(account, project.id, 400)).resolves.toHaveProperty('file');
    expect(await getUsage(api.deps.db, account.user.id)).toMatchObject({
      storedBytes: 1000,
      pendingBytes: 400,
    });
  });
});

describe('data from before the counters', () => {
  it('is counted on first need, and the limits hold on it', async () => {
    const account = await signUp(api);
    const first = await account.as.project.create({ name: 'old one' });
    await account.as.project.create({ name: 'old two' });
    const session = await account.as.session.create({ projectId: first.id });
    await account.as.chat.send({ sessionId: session.id, content: '/help', clientMessageId: 'old' });
    await api.deps.background.drain(10_000);
    const file = await uploadAndConfirm(account, first.id, 400);
    const waiting = await createUpload(account, first.id, 100);
    const before = await getUsage(api.deps.db, account.user.id);

    await forgetUsageCounters(api.deps.db, { userId: account.user.id, sessionIds: [session.id] });

    await account.as.project.create({ name: 'third' });
    await expectTrpcError(account.as.project.create({ name: 'fourth' }), 'FORBIDDEN');
    expect(await getUsage(api.deps.db, account.user.id)).toMatchObject({
      projects: 3,
      sessions: 1,
      storedBytes: file.size + 100,
      pendingBytes: 100,
      pendingUploads: before?.pendingUploads,
    });
    expect(Object.keys(before?.pendingUploads ?? {})).toEqual([waiting.file.id]);
    await account.as.chat.send({ sessionId: session.id, content: '/help', clientMessageId: 'new' });
    await api.deps.background.drain(10_000);
    await expectTrpcError(
      account.as.chat.send({ sessionId: session.id, content: '/help', clientMessageId: 'too many' }),
      'FORBIDDEN',
    );
  });
});
