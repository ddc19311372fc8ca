import {
  deleteFileRecords,
  getFile,
  getUsage,
  listFiles,
  listSessions,
  startProjectDeletion,
  startSessionDeletion,
} from '@leonidas/db';
import { scanTable, seedCompletedFiles } from '@leonidas/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  collectEvents,
  createTestApi,
  expectTrpcError,
  postToPresignedUrl,
  signUp,
  type TestApi,
} from '../../test/helpers.js';
import { fileObjectKey, previewObjectKey, projectPrefix } from '../file/keys.js';
import { DELETION_LEASE_MS, finishAbandonedDeletions } from './service.js';

let api: TestApi;
beforeAll(async () => {
  api = await createTestApi({ OFFLINE_TOKEN_DELAY_MS: '0', MAX_PENDING_UPLOADS_PER_USER: '1000' });
});
afterAll(() => api.close());

type Account = Awaited<ReturnType<typeof signUp>>;

/** Every item of the test's table that belongs to the project: its own, its children's, its sessions' messages. */
async function itemsOf(projectId: string, sessionIds: string[]): Promise<Record<string, unknown>[]> {
  return (await scanTable(api.deps.db)).filter((item) => {
    const text = JSON.stringify(item);
    return text.includes(projectId) || sessionIds.some((sessionId) => text.includes(sessionId));
  });
}

async function eventually(check: () => Promise<boolean>, timeoutMs = 60_000, everyMs = 200): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** A project with `files` completed files (the first few with real objects) and two chats with messages. */
async function bigProject(account: Account, files: number) {
  const project = await account.as.project.create({ name: 'Big' });
  const fileIds = await seedCompletedFiles(api.deps.db, {
    userId: account.user.id,
    projectId: project.id,
    count: files,
    size: 1000,
  });
  for (const fileId of fileIds.slice(0, 10)) {
    await api.putObjectDirectly(fileObjectKey(project.id, fileId), 'a,b\n1,2\n');
    await api.deps.storage.putJson(previewObjectKey(project.id, fileId), { columns: ['a', 'b'], rows: [] });
  }
  const sessionIds: string[] = [];
  for (let i = 0; i < 2; i++) {
    const session = await account.as.session.create({ projectId: project.id });
    await account.as.chat.send({ sessionId: session.id, content: '/help', clientMessageId: `m${i}` });
    await api.deps.background.drain(10_000);
    sessionIds.push(session.id);
  }
  expect(await getUsage(api.deps.db, account.user.id)).toMatchObject({
    projects: 1,
    sessions: 2,
    storedBytes: files * 1000,
  });
  return { project, fileIds, sessionIds };
}

async function expectAllGone(account: Account, projectId: string, sessionIds: string[]) {
  await eventually(
    async () =>
      (await api.deps.storage.listKeys(projectPrefix(projectId))).length === 0 &&
      (await itemsOf(projectId, sessionIds)).length === 0,
  );
  expect(await getUsage(api.deps.db, account.user.id)).toMatchObject({
    projects: 0,
    sessions: 0,
    storedBytes: 0,
    pendingBytes: 0,
    pendingUploads: {},
  });
}

describe('project.delete', () => {
  it('answers at once for a project of 2,000 files, hides it at once, and empties table and storage soon after', async () => {
    const account = await signUp(api);
    const { project, fileIds, sessionIds } = await bigProject(account, 2000);
    expect((await itemsOf(project.id, sessionIds)).length).toBeGreaterThan(2000);

    const started = performance.now();
    await expect(account.as.project.delete({ projectId: project.id })).resolves.toEqual({ ok: true });
    expect(performance.now() - started).toBeLessThan(1000);

    await expectTrpcError(account.as.project.byId({ projectId: project.id }), 'NOT_FOUND');
    expect((await account.as.project.list()).items).toEqual([]);
    await expectTrpcError(account.as.file.list({ projectId: project.id }), 'NOT_FOUND');
    await expectTrpcError(account.as.file.byId({ fileId: fileIds[0] ?? '' }), 'NOT_FOUND');
    await expectTrpcError(account.as.file.downloadUrl({ fileId: fileIds[1] ?? '' }), 'NOT_FOUND');
    await expectTrpcError(account.as.session.list({ projectId: project.id }), 'NOT_FOUND');
    await expectTrpcError(account.as.session.byId({ sessionId: sessionIds[0] ?? '' }), 'NOT_FOUND');
    await expectTrpcError(account.as.chat.history({ sessionId: sessionIds[1] ?? '' }), 'NOT_FOUND');
    await expectTrpcError(
      account.as.chat.send({ sessionId: sessionIds[0] ?? '', content: 'hi', clientMessageId: 'late' }),
      'NOT_FOUND',
    );
    await expectTrpcError(account.as.project.delete({ projectId: project.id }), 'NOT_FOUND');

    await expectAllGone(account, project.id, sessionIds);
  }, 120_000);

  it('leaves a cascade interrupted half-way to housekeeping, which finishes it once the lease runs out', async () => {
    const account = await signUp(api);
    const { project, sessionIds } = await bigProject(account, 60);
    // What a server that died mid-cascade leaves: the tombstone, one chat turned into a tombstone of its own
    // with its messages still there, some of the files deleted, the rest and every object still there.
    const leaseUntil = api.clock.now() + DELETION_LEASE_MS;
    expect(
      await startProjectDeletion(api.deps.db, { userId: account.user.id, projectId: project.id, leaseUntil }),
    ).toBe(true);
    const [session] = (await listSessions(api.deps.db, { projectId: project.id, limit: 1 })).items;
    if (!session) throw new Error('no session');
    expect(await startSessionDeletion(api.deps.db, { ...session, leaseUntil })).toBe(true);
    const firstFiles = await listFiles(api.deps.db, { projectId: project.id, limit: 25 });
    expect(await deleteFileRecords(api.deps.db, firstFiles.items)).toBe(25);
    await expectTrpcError(account.as.project.byId({ projectId: project.id }), 'NOT_FOUND');

    // Another server's cascade still holds its lease: housekeeping leaves it alone.
    expect(await finishAbandonedDeletions(api.deps)).toBe(0);
    expect(await api.deps.storage.listKeys(projectPrefix(project.id))).toHaveLength(20);

    api.clock.advance(DELETION_LEASE_MS + 1000);
    expect(await finishAbandonedDeletions(api.deps)).toBe(2);
    await expectAllGone(account, project.id, sessionIds);
    expect(await finishAbandonedDeletions(api.deps)).toBe(0);
  }, 120_000);

  it('keeps its tombstone until upload URLs handed out before the deletion expire, then sweeps the prefix again', async () => {
    const account = await signUp(api);
    const project = await account.as.project.create({ name: 'Open upload' });
    const { upload } = await account.as.file.createUpload({
      projectId: project.id,
      filename: 'late.csv',
      size: 8,
      contentType: 'text/csv',
    });
    await account.as.project.delete({ projectId: project.id });
    await api.deps.background.drain(30_000);
    expect(await getUsage(api.deps.db, account.user.id)).toMatchObject({
      pendingUploads: {},
      storedBytes: 0,
    });

    // The browser's upload lands after the cascade, while its URL is still valid.
    expect(await postToPresignedUrl(upload, 'a,b\n1,2\n')).toBe(204);
    expect(await api.deps.storage.listKeys(projectPrefix(project.id))).toHaveLength(1);
    expect(await itemsOf(project.id, [])).toHaveLength(1);

    api.clock.advance(15 * 60_000 + 1000);
    expect(await finishAbandonedDeletions(api.deps)).toBe(1);
    await expectAllGone(account, project.id, []);
  });
});

describe('session.delete', () => {
  it('hides the chat at once and deletes its messages in the background', async () => {
    const account = await signUp(api);
    const project = await account.as.project.create({ name: 'Chats' });
    const session = await account.as.session.create({ projectId: project.id });
    await account.as.chat.send({ sessionId: session.id, content: '/help', clientMessageId: 'one' });
    await api.deps.background.drain(10_000);

    await account.as.session.delete({ sessionId: session.id });
    await expectTrpcError(account.as.session.byId({ sessionId: session.id }), 'NOT_FOUND');
    expect((await account.as.session.list({ projectId: project.id })).items).toEqual([]);
    await eventually(async () => (await itemsOf(session.id, [])).length === 0);
    expect((await getUsage(api.deps.db, account.user.id))?.sessions).toBe(0);
  });
});

describe('deletion races', () => {
  it('uploads started while a project of 150 files is deleted: none outlives it, and its usage is whole again', async () => {
    const account = await signUp(api);
    const { project, sessionIds } = await bigProject(account, 150);
    let stop = false;
    const outcomes: string[] = [];
    const uploader = async () => {
      while (!stop) {
        try {
          await account.as.file.createUpload({
            projectId: project.id,
            filename: 'late.csv',
            size: 100,
            contentType: 'text/csv',
          });
          outcomes.push('created');
        } catch (error) {
          outcomes.push((error as { code?: string }).code ?? 'unknown');
          if (outcomes.at(-1) === 'NOT_FOUND') stop = true;
        }
      }
    };
    const uploaders = [uploader(), uploader(), uploader()];
    await new Promise((resolve) => setTimeout(resolve, 200));
    await account.as.project.delete({ projectId: project.id });
    await Promise.all(uploaders);
    expect(outcomes.filter((outcome) => outcome !== 'created' && outcome !== 'NOT_FOUND')).toEqual([]);
    expect(outcomes).toContain('created');

    await api.deps.background.drain(60_000);
    // Only the tombstone may wait (for the upload URLs handed out before the deletion to expire).
    await eventually(
      async () =>
        (await itemsOf(project.id, sessionIds)).every((item) => item._et === 'DELETION') &&
        (await api.deps.storage.listKeys(projectPrefix(project.id))).length === 0,
    );
    expect(await getUsage(api.deps.db, account.user.id)).toMatchObject({
      projects: 0,
      storedBytes: 0,
      pendingBytes: 0,
      pendingUploads: {},
    });
  }, 120_000);

  it('a reply being written when its project is deleted stops, and nothing of its chat is left', async () => {
    const slow = await createTestApi({ OFFLINE_TOKEN_DELAY_MS: '30' });
    try {
      const account = await signUp(slow);
      const project = await account.as.project.create({ name: 'Streaming' });
      const session = await account.as.session.create({ projectId: project.id });
      const kept = await account.as.chat.onEvents({ sessionId: session.id });
      // Read to its end in the background: it must end (not hang) once the project is gone.
      const keptEnds = collectEvents(kept, () => false, 25_000);
      await account.as.chat.send({ sessionId: session.id, content: '/help', clientMessageId: 'streaming' });
      // The reply has started writing.
      await collectEvents(await account.as.chat.onEvents({ sessionId: session.id }), (events) =>
        events.some((event) => event.data.type === 'message.delta'),
      );
      await account.as.project.delete({ projectId: project.id });
      const events = await keptEnds;
      expect(events.map((event) => event.data.type)).not.toContain('message.completed');
      await slow.deps.background.drain(30_000);
      const left = (await scanTable(slow.deps.db)).filter((item) => {
        const text = JSON.stringify(item);
        return (text.includes(project.id) || text.includes(session.id)) && item._et !== 'DELETION';
      });
      expect(left).toEqual([]);
      expect(await slow.deps.storage.listKeys(projectPrefix(project.id))).toEqual([]);
      expect(slow.deps.runs.activeRuns()).toEqual([]);
    } finally {
      await slow.close();
    }
  }, 60_000);

  it.each(['project.delete', 'file.delete'])(
    '%s while the file is being processed leaves no preview or table behind',
    async (deletion) => {
      const account = await signUp(api);
      const project = await account.as.project.create({ name: 'Processing' });
      // Big enough that processing is still running when the deletion is done.
      const csv = `id,name,amount\n${Array.from({ length: 150_000 }, (_, i) => `${i},name ${i},${i * 1.5}`).join('\n')}\n`;
      const { file, upload } = await account.as.file.createUpload({
        projectId: project.id,
        filename: 'big.csv',
        size: Buffer.byteLength(csv),
        contentType: 'text/csv',
      });
      expect(await postToPresignedUrl(upload, Buffer.from(csv))).toBe(204);
      const confirming = account.as.file.confirm({ fileId: file.id }).catch(() => null);
      // Looked for often: on a warm stack the 150,000 rows take 150-300 ms, and a look every 200 ms could miss it.
      await eventually(async () => (await getFile(api.deps.db, file.id))?.status === 'PROCESSING', 20_000, 5);
      if (deletion === 'project.delete') await account.as.project.delete({ projectId: project.id });
      else await account.as.file.delete({ fileId: file.id });
      await confirming;
      await api.deps.background.drain(60_000);
      expect(await getFile(api.deps.db, file.id)).toBeNull();
      expect(await api.deps.storage.listKeys(projectPrefix(project.id))).toEqual([]);
    },
    120_000,
  );

  it('the same file confirmed twice at once is processed once, and both calls see it completed', async () => {
    const account = await signUp(api);
    const project = await account.as.project.create({ name: 'Twice' });
    const csv = 'a,b\n1,2\n3,4\n';
    const { file, upload } = await account.as.file.createUpload({
      projectId: project.id,
      filename: 'twice.csv',
      size: Buffer.byteLength(csv),
      contentType: 'text/csv',
    });
    expect(await postToPresignedUrl(upload, Buffer.from(csv))).toBe(204);
    const [first, second] = await Promise.all([
      account.as.file.confirm({ fileId: file.id }),
      account.as.file.confirm({ fileId: file.id }),
    ]);
    await api.deps.background.drain(30_000);
    const final = await account.as.file.byId({ fileId: file.id });
    expect(final).toMatchObject({ status: 'COMPLETED', metadata: { rowCount: 2 } });
    for (const confirmed of [first, second]) expect(['PROCESSING', 'COMPLETED']).toContain(confirmed.status);
    expect(await getUsage(api.deps.db, account.user.id)).toMatchObject({
      storedBytes: Buffer.byteLength(csv),
      pendingBytes: 0,
      pendingUploads: {},
    });
  });
});
