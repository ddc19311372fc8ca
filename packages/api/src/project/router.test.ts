import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZodError } from 'zod';
import { createTestApi, expectTrpcError, signUp, type TestApi } from '../../test/helpers.js';

let api: TestApi;
beforeAll(async () => {
  api = await createTestApi();
});
afterAll(() => api.close());

describe('projects', () => {
  it('creates, reads, updates and deletes a project', async () => {
    const { as } = await signUp(api);
    const created = await as.project.create({ name: '  Churn study ', description: 'Q3 customers' });
    expect(created).toMatchObject({ name: 'Churn study', description: 'Q3 customers' });
    expect(created.createdAt).toBeInstanceOf(Date);
    expect(await as.project.byId({ projectId: created.id })).toEqual(created);

    api.clock.advance(1000);
    const renamed = await as.project.update({ projectId: created.id, name: 'Churn v2' });
    expect(renamed).toMatchObject({ id: created.id, name: 'Churn v2', description: 'Q3 customers' });
    expect(renamed.updatedAt.getTime()).toBeGreaterThanOrEqual(created.updatedAt.getTime());
    const cleared = await as.project.update({ projectId: created.id, description: '' });
    expect(cleared).toMatchObject({ name: 'Churn v2', description: '' });

    await expect(as.project.delete({ projectId: created.id })).resolves.toEqual({ ok: true });
    await expectTrpcError(as.project.byId({ projectId: created.id }), 'NOT_FOUND');
    await expectTrpcError(as.project.update({ projectId: created.id, name: 'back?' }), 'NOT_FOUND');
    await expectTrpcError(as.project.delete({ projectId: created.id }), 'NOT_FOUND');
    expect((await as.project.list()).items).toEqual([]);
  });

  it('pages through 45 projects newest first, 20 at a time', async () => {
    const { as } = await signUp(api);
    const created: string[] = [];
    for (let i = 0; i < 45; i++) created.push((await as.project.create({ name: `Project ${i}` })).id);

    const pages = [];
    let cursor: string | undefined;
    do {
      const page = await as.project.list({ limit: 20, cursor });
      pages.push(page);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);

    expect(pages.map((page) => page.items.length)).toEqual([20, 20, 5]);
    expect(pages.at(-1)?.nextCursor).toBeNull();
    const ids = pages.flatMap((page) => page.items.map((project) => project.id));
    expect(new Set(ids).size).toBe(45);
    expect(ids).toEqual([...created].reverse());
    // The default page size is 20.
    expect((await as.project.list()).items).toHaveLength(20);
  });

  it('refuses cursors it did not issue for this list', async () => {
    const first = await signUp(api);
    const second = await signUp(api);
    for (let i = 0; i < 3; i++) {
      await first.as.project.create({ name: `a${i}` });
      await second.as.project.create({ name: `b${i}` });
    }
    const page = await first.as.project.list({ limit: 1 });
    const cursor = page.nextCursor ?? '';
    const [payload] = cursor.split('.');
    const forged = Buffer.from(JSON.stringify({ pk: `USER#${second.user.id}`, sk: 'PROJECT#~' })).toString(
      'base64url',
    );
    for (const bad of ['garbage', `${payload}.AAAA`, `${forged}.${cursor.split('.')[1]}`, `${cursor}.x`]) {
      await expectTrpcError(first.as.project.list({ cursor: bad }), 'BAD_REQUEST');
    }
    // Another user's valid cursor is not valid here either.
    await expectTrpcError(second.as.project.list({ cursor }), 'BAD_REQUEST');
  });

  it("gives another user NOT_FOUND for everything on someone's project and leaves it unchanged", async () => {
    const owner = await signUp(api, 'owner');
    const intruder = await signUp(api, 'intruder');
    const project = await owner.as.project.create({ name: 'Private', description: 'secret' });

    await expectTrpcError(intruder.as.project.byId({ projectId: project.id }), 'NOT_FOUND');
    await expectTrpcError(
      intruder.as.project.update({ projectId: project.id, name: 'Mine now' }),
      'NOT_FOUND',
    );
    await expectTrpcError(intruder.as.project.update({ projectId: project.id }), 'NOT_FOUND');
    await expectTrpcError(intruder.as.project.delete({ projectId: project.id }), 'NOT_FOUND');
    expect((await intruder.as.project.list()).items).toEqual([]);
    expect(await owner.as.project.byId({ projectId: project.id })).toEqual(project);
  });

  it('needs a signed-in user for every procedure', async () => {
    const anonymous = api.caller();
    await expectTrpcError(anonymous.project.list(), 'UNAUTHORIZED');
    await expectTrpcError(anonymous.project.create({ name: 'x' }), 'UNAUTHORIZED');
    await expectTrpcError(anonymous.project.byId({ projectId: 'x' }), 'UNAUTHORIZED');
    await expectTrpcError(anonymous.project.update({ projectId: 'x', name: 'y' }), 'UNAUTHORIZED');
    await expectTrpcError(anonymous.project.delete({ projectId: 'x' }), 'UNAUTHORIZED');
  });

  it.each([
    ['an empty name', { name: '' }],
    ['a blank name', { name: '    ' }],
    ['a 10,000-character name', { name: 'x'.repeat(10_000) }],
    ['a number as name', { name: 42 }],
    ['an unknown field', { name: 'ok', owner: 'me' }],
    ['a too long description', { name: 'ok', description: 'd'.repeat(2001) }],
  ])('refuses %s with BAD_REQUEST', async (_label, input) => {
    const { as } = await signUp(api);
    const error = await expectTrpcError(as.project.create(input as never), 'BAD_REQUEST');
    expect(error.cause).toBeInstanceOf(ZodError);
  });

  it.each([
    ['limit 0', { limit: 0 }],
    ['limit 101', { limit: 101 }],
    ['a fractional limit', { limit: 2.5 }],
    ['an unknown field', { limit: 5, sort: 'asc' }],
  ])('refuses a list with %s', async (_label, input) => {
    const { as } = await signUp(api);
    await expectTrpcError(as.project.list(input as never), 'BAD_REQUEST');
  });
});
