import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, expectTrpcError, signUp, type TestApi } from '../../test/helpers.js';

let api: TestApi;
beforeAll(async () => {
  api = await createTestApi({ OFFLINE_TOKEN_DELAY_MS: '0' });
});
afterAll(() => api.close());

describe('sessions', () => {
  it('creates, lists newest first, renames and deletes', async () => {
    const { as } = await signUp(api);
    const project = await as.project.create({ name: 'Chats' });
    const first = await as.session.create({ projectId: project.id });
    expect(first).toMatchObject({ projectId: project.id, title: 'New chat' });
    const second = await as.session.create({ projectId: project.id, title: '  Churn questions ' });
    expect(second.title).toBe('Churn questions');

    const page = await as.session.list({ projectId: project.id, limit: 1 });
    expect(page.items.map((s) => s.id)).toEqual([second.id]);
    const rest = await as.session.list({
      projectId: project.id,
      limit: 1,
      cursor: page.nextCursor ?? undefined,
    });
    expect(rest.items.map((s) => s.id)).toEqual([first.id]);
    expect(rest.nextCursor).toBeNull();

    expect(await as.session.update({ sessionId: first.id, title: 'Renamed' })).toMatchObject({
      title: 'Renamed',
    });
    expect(await as.session.byId({ sessionId: first.id })).toMatchObject({ title: 'Renamed' });
    await expect(as.session.delete({ sessionId: first.id })).resolves.toEqual({ ok: true });
    await expectTrpcError(as.session.byId({ sessionId: first.id }), 'NOT_FOUND');
    await expectTrpcError(as.session.delete({ sessionId: first.id }), 'NOT_FOUND');
  });

  it('refresh clears the conversation and keeps the session', async () => {
    const { as } = await signUp(api);
    const project = await as.project.create({ name: 'Refresh' });
    const session = await as.session.create({ projectId: project.id });
    await as.chat.send({ sessionId: session.id, content: 'hi', clientMessageId: 'c1' });
    await api.deps.background.drain(10_000);
    expect((await as.chat.history({ sessionId: session.id })).items).toHaveLength(2);

    const refreshed = await as.session.refresh({ sessionId: session.id });
    expect(refreshed.id).toBe(session.id);
    expect((await as.chat.history({ sessionId: session.id })).items).toEqual([]);
    // The same client id can be used again after a fresh start.
    await as.chat.send({ sessionId: session.id, content: 'hi again', clientMessageId: 'c1' });
    await api.deps.background.drain(10_000);
    expect((await as.chat.history({ sessionId: session.id })).items).toHaveLength(2);
  });

  it('deleting a project deletes its sessions and messages', async () => {
    const { as } = await signUp(api);
    const project = await as.project.create({ name: 'Cascade' });
    const session = await as.session.create({ projectId: project.id });
    await as.chat.send({ sessionId: session.id, content: 'hello', clientMessageId: 'x' });
    await api.deps.background.drain(10_000);
    await as.project.delete({ projectId: project.id });
    await expectTrpcError(as.session.byId({ sessionId: session.id }), 'NOT_FOUND');
    // The messages are deleted in the background.
    await api.deps.background.drain(30_000);
    const { countMessages } = await import('@leonidas/db');
    expect(await countMessages(api.deps.db, session.id)).toBe(0);
  });

  it('refuses bad input with BAD_REQUEST', async () => {
    const { as } = await signUp(api);
    const project = await as.project.create({ name: 'Inputs' });
    const session = await as.session.create({ projectId: project.id });
    await expectTrpcError(as.session.create({ projectId: project.id, title: '' }), 'BAD_REQUEST');
    await expectTrpcError(
      as.session.create({ projectId: project.id, title: 'x'.repeat(201) }),
      'BAD_REQUEST',
    );
    await expectTrpcError(as.session.update({ sessionId: session.id, title: '   ' }), 'BAD_REQUEST');
    await expectTrpcError(as.session.update({ sessionId: session.id, title: 7 } as never), 'BAD_REQUEST');
    await expectTrpcError(as.session.list({ projectId: project.id, limit: 0 }), 'BAD_REQUEST');
    await expectTrpcError(as.session.byId({ sessionId: session.id, extra: 1 } as never), 'BAD_REQUEST');
  });
});
