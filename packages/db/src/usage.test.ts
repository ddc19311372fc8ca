import { $remove, DeleteItemCommand, UpdateItemCommand } from 'dynamodb-toolbox';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Db } from './db.js';
import { claimForProcessing, deleteFileRecords, deleteUnconfirmedUpload, finishProcessing } from './files.js';
import { newId } from './ids.js';
import { finishRun, positionBelow, startRun } from './messages.js';
import { createProject, startProjectDeletion } from './projects.js';
import type { UsageRecord } from './records.js';
import { createSession, getSession, startSessionDeletion } from './sessions.js';
import { createTestDb, createTestUpload } from './testing.js';
import { ensureUsage, getUsage } from './usage.js';

let db: Db;
beforeAll(async () => {
  db = await createTestDb();
});

async function newProject(userId: string) {
  const projectId = newId();
  const project = await createProject(db, { userId, projectId, name: 'p', description: '', maxProjects: 10 });
  expect(project).not.toBeNull();
  return projectId;
}

const newUpload = (userId: string, projectId: string, size: number) =>
  createTestUpload(db, { userId, projectId, size });

/** The counters alone, without the item's timestamps. */
const counters = ({
  userId,
  projects,
  sessions,
  storedBytes,
  pendingBytes,
  pendingUploads,
}: UsageRecord) => ({
  userId,
  projects,
  sessions,
  storedBytes,
  pendingBytes,
  pendingUploads,
});

/** What a fresh count of the user's data says, to compare with the counters kept by every write. */
async function recount(userId: string) {
  await db.entities.usage.build(DeleteItemCommand).key({ userId }).send();
  return counters(await ensureUsage(db, userId));
}

describe('usage counters', () => {
  it('follow uploads through confirmation, completion, failure, expiry and deletion, matching a fresh count', async () => {
    const userId = newId();
    const projectId = await newProject(userId);
    const completed = await newUpload(userId, projectId, 1000);
    const failed = await newUpload(userId, projectId, 700);
    const expired = await newUpload(userId, projectId, 300);
    const waiting = await newUpload(userId, projectId, 50);
    expect(await getUsage(db, userId)).toMatchObject({
      projects: 1,
      storedBytes: 2050,
      pendingBytes: 2050,
      pendingUploads: {
        [completed.fileId]: completed.uploadExpiresAt,
        [failed.fileId]: failed.uploadExpiresAt,
        [expired.fileId]: expired.uploadExpiresAt,
        [waiting.fileId]: waiting.uploadExpiresAt,
      },
    });

    const now = Date.now();
    const claimed = await claimForProcessing(db, { file: completed, now, staleBefore: now - 1 });
    if (claimed?.status !== 'PROCESSING') throw new Error('not claimed');
    // Claiming twice changes nothing, in the file or in the counters, even from the copy read before the claim.
    expect(await claimForProcessing(db, { file: completed, now, staleBefore: now - 1 })).toBeNull();
    expect(await claimForProcessing(db, { file: claimed, now, staleBefore: now - 1 })).toBeNull();
    await finishProcessing(db, {
      file: claimed,
      outcome: {
        status: 'COMPLETED',
        metadata: { rowCount: 1, columns: [], delimiter: ',', hasHeader: true, encoding: 'utf-8' },
        size: 900,
      },
    });
    const failing = await claimForProcessing(db, { file: failed, now, staleBefore: now - 1 });
    if (!failing) throw new Error('not claimed');
    await finishProcessing(db, {
      file: failing,
      outcome: { status: 'FAILED', failureReason: 'not a CSV' },
    });
    expect(await deleteUnconfirmedUpload(db, expired)).toBe(true);
    expect(await deleteUnconfirmedUpload(db, expired)).toBe(false);

    const usage = await getUsage(db, userId);
    if (!usage) throw new Error('no usage');
    expect(usage).toMatchObject({
      storedBytes: 900 + 700 + 50,
      pendingBytes: 50,
      pendingUploads: { [waiting.fileId]: waiting.uploadExpiresAt },
    });
    expect(await recount(userId)).toEqual(counters(usage));

    // A stale copy of a file (read before it completed) is read again before it is deleted.
    expect(await deleteFileRecords(db, [completed, failed, waiting])).toBe(3);
    expect(await getUsage(db, userId)).toMatchObject({ storedBytes: 0, pendingBytes: 0, pendingUploads: {} });
  });

  it('counts sessions, and messages per session, and frees them on deletion', async () => {
    const userId = newId();
    const projectId = await newProject(userId);
    const sessionId = newId();
    const created = await createSession(db, { sessionId, userId, projectId, title: 't', maxSessions: 1 });
    expect(created.outcome).toBe('created');
    const second = { sessionId: newId(), userId, projectId, title: 't', maxSessions: 1 };
    expect((await createSession(db, second)).outcome).toBe('limit');

    const send = (clientMessageId: string, runId = newId()) =>
      startRun(db, {
        sessionId,
        runId,
        clientMessageId,
        treeVersion: 0,
        position: positionBelow(null),
        question: { messageId: newId(), content: 'hi', edited: false },
        assistantMessageId: newId(),
        provider: 'offline',
        model: 'offline',
        maxMessages: 2,
      });
    const first = await send('a');
    expect(first.outcome).toBe('started');
    expect((await getSession(db, sessionId))?.messageCount).toBe(2);
    await finishRun(db, {
      sessionId,
      messageId: first.outcome === 'started' ? first.assistantMessage.messageId : '',
      runId: first.outcome === 'started' ? (first.assistantMessage.runId ?? '') : '',
      status: 'complete',
      content: 'hello',
      toolCalls: [],
    });
    expect(await send('b')).toEqual({ outcome: 'full' });
    // A session from before the count is counted on its first send.
    await db.entities.session.build(UpdateItemCommand).item({ sessionId, messageCount: $remove() }).send();
    expect(await send('c')).toEqual({ outcome: 'full' });
    expect((await getSession(db, sessionId))?.messageCount).toBe(2);

    expect(await startSessionDeletion(db, { sessionId, userId, projectId, leaseUntil: 0 })).toBe(true);
    expect(await startSessionDeletion(db, { sessionId, userId, projectId, leaseUntil: 0 })).toBe(false);
    expect((await getUsage(db, userId))?.sessions).toBe(0);
    expect((await createSession(db, second)).outcome).toBe('created');
  });

  it('refuses children of a project being deleted', async () => {
    const userId = newId();
    const projectId = await newProject(userId);
    expect(await startProjectDeletion(db, { userId, projectId, leaseUntil: 0 })).toBe(true);
    expect(await startProjectDeletion(db, { userId, projectId, leaseUntil: 0 })).toBe(false);
    expect(
      (await createSession(db, { sessionId: newId(), userId, projectId, title: 't', maxSessions: 5 }))
        .outcome,
    ).toBe('project-gone');
    await expect(newUpload(userId, projectId, 10)).rejects.toThrow('project-gone');
    expect(await getUsage(db, userId)).toMatchObject({ projects: 0, sessions: 0, storedBytes: 0 });
  });

  it('lets exactly the allowed number of 12 concurrent project creates win', async () => {
    const userId = newId();
    await newProject(userId);
    const results = await Promise.all(
      Array.from({ length: 12 }, () =>
        createProject(db, { userId, projectId: newId(), name: 'race', description: '', maxProjects: 5 }),
      ),
    );
    expect(results.filter((project) => project !== null)).toHaveLength(4);
    expect((await getUsage(db, userId))?.projects).toBe(5);
    expect((await recount(userId)).projects).toBe(5);
  });

  it("lets a new account's concurrent first creates all win, though only one makes the usage item", async () => {
    for (let trial = 0; trial < 20; trial++) {
      const userId = newId();
      // Staggered by a few milliseconds, so that some writes fail before the usage item exists and look after.
      const results = await Promise.all(
        Array.from({ length: 4 }, async (_, index) => {
          await new Promise((resolve) => setTimeout(resolve, index * (trial % 5)));
          return createProject(db, {
            userId,
            projectId: newId(),
            name: 'first',
            description: '',
            maxProjects: 10,
          });
        }),
      );
      expect(results.filter((project) => project === null)).toEqual([]);
      expect((await getUsage(db, userId))?.projects).toBe(4);
    }
  });
});
