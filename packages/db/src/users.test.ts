import { beforeAll, describe, expect, it } from 'vitest';
import type { Db } from './db.js';
import { newId } from './ids.js';
import { createProject, listProjects } from './projects.js';
import { createTestDb } from './testing.js';
import { getUsage } from './usage.js';
import { createUserWithEmailClaim, getUserByEmail } from './users.js';

let db: Db;
beforeAll(async () => {
  db = await createTestDb();
});

describe('email claim', () => {
  it('lets exactly one of 10 concurrent registrations of one email win', async () => {
    const email = 'race@example.com';
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        createUserWithEmailClaim(db, { userId: newId(), email, name: `racer ${i}`, passwordHash: 'h' }),
      ),
    );
    const winners = results.filter((result) => result !== null);
    expect(winners).toHaveLength(1);
    expect((await getUserByEmail(db, email))?.userId).toBe(winners[0]?.userId);
  });
});

describe('a new account', () => {
  it('starts with its usage counted, so its first project is one transaction', async () => {
    const created = await createUserWithEmailClaim(db, {
      userId: newId(),
      email: `fresh.${newId()}@example.com`,
      name: 'fresh',
      passwordHash: 'h',
    });
    if (!created) throw new Error('not created');
    expect(await getUsage(db, created.userId)).toMatchObject({
      projects: 0,
      sessions: 0,
      storedBytes: 0,
      pendingBytes: 0,
      pendingUploads: {},
    });
    const sent: string[] = [];
    db.documentClient.middlewareStack.add(
      (next, context) => (args) => {
        sent.push(String(context.commandName));
        return next(args);
      },
      { step: 'initialize', name: 'count-first-project-calls' },
    );
    try {
      const project = await createProject(db, {
        userId: created.userId,
        projectId: newId(),
        name: 'first',
        description: '',
        maxProjects: 5,
      });
      expect(project?.name).toBe('first');
    } finally {
      db.documentClient.middlewareStack.remove('count-first-project-calls');
    }
    expect(sent).toEqual(['TransactWriteItemsCommand']);
    expect((await getUsage(db, created.userId))?.projects).toBe(1);
  });
});

describe('key pages', () => {
  it('pages through a partition newest first and ends with a null key', async () => {
    const userId = newId();
    const created: string[] = [];
    for (let i = 0; i < 25; i++) {
      const projectId = newId();
      created.push(projectId);
      await createProject(db, { userId, projectId, name: `p${i}`, description: '', maxProjects: 100 });
    }
    const first = await listProjects(db, { userId, limit: 10 });
    const second = await listProjects(db, { userId, limit: 10, startKey: first.nextKey ?? undefined });
    const third = await listProjects(db, { userId, limit: 10, startKey: second.nextKey ?? undefined });
    const seen = [...first.items, ...second.items, ...third.items].map((p) => p.projectId);
    expect(seen).toEqual([...created].reverse());
    expect(third.items).toHaveLength(5);
    expect(third.nextKey).toBeNull();

    const exact = await listProjects(db, { userId, limit: 25 });
    expect(exact.items).toHaveLength(25);
    expect(exact.nextKey).toBeNull();
  });
});
