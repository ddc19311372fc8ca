import { DeleteItemCommand } from 'dynamodb-toolbox';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Db } from './db.js';
import {
  claimForProcessing,
  createGeneratedFile,
  finishProcessing,
  forgetProvenanceMessage,
  getFile,
  renameFile,
} from './files.js';
import { newId } from './ids.js';
import type { CsvMetadata } from './shapes.js';
import { createTestDb, createTestUpload } from './testing.js';
import { getUsage } from './usage.js';

let db: Db;
beforeAll(async () => {
  db = await createTestDb();
});

const metadata: CsvMetadata = {
  rowCount: 3,
  columns: [{ name: 'amount', type: 'number', nullCount: 0, distinctCount: 3, min: -1.5, max: 2, mean: 0.1 }],
  delimiter: ',',
  hasHeader: true,
  encoding: 'utf-8',
};

const newUpload = (size = 100) => createTestUpload(db, { size });

/** The DynamoDB commands `work` sends, by name. */
async function commandsOf<T>(work: () => Promise<T>): Promise<{ result: T; sent: string[] }> {
  const sent: string[] = [];
  const name = `count-${newId()}`;
  db.documentClient.middlewareStack.add(
    (next, context) => (args) => {
      sent.push(String(context.commandName));
      return next(args);
    },
    { step: 'initialize', name },
  );
  try {
    return { result: await work(), sent };
  } finally {
    db.documentClient.middlewareStack.remove(name);
  }
}

const completedOutcome = { status: 'COMPLETED', metadata, size: 90 } as const;

describe('processing a file', () => {
  it('claims and completes it in one transaction each, and returns each record exactly as stored', async () => {
    const upload = await newUpload();
    const now = Date.now();
    const claim = await commandsOf(() => claimForProcessing(db, { file: upload, now, staleBefore: now - 1 }));
    expect(claim.sent).toEqual(['TransactWriteItemsCommand']);
    expect(claim.result).toEqual(await getFile(db, upload.fileId));
    expect(claim.result).toMatchObject({ status: 'PROCESSING', processingStartedAt: now, version: 2 });
    if (!claim.result) throw new Error('not claimed');
    const claimed = claim.result;

    const finish = await commandsOf(() => finishProcessing(db, { file: claimed, outcome: completedOutcome }));
    expect(finish.sent).toEqual(['TransactWriteItemsCommand']);
    expect(finish.result).toEqual(await getFile(db, upload.fileId));
    expect(finish.result).toMatchObject({ status: 'COMPLETED', size: 90, metadata, version: 3 });
    expect((await getUsage(db, upload.userId))?.storedBytes).toBe(90);
  });

  it('claims a file renamed after it was read, with its new name', async () => {
    const upload = await newUpload();
    await renameFile(db, { fileId: upload.fileId, filename: 'renamed.csv' });
    const now = Date.now();
    const claim = await commandsOf(() => claimForProcessing(db, { file: upload, now, staleBefore: now - 1 }));
    // The write conditioned on the old version fails, the file is read again, and the claim made on it.
    expect(claim.sent).toEqual(['TransactWriteItemsCommand', 'GetItemCommand', 'TransactWriteItemsCommand']);
    expect(claim.result).toMatchObject({ status: 'PROCESSING', filename: 'renamed.csv' });
    expect(claim.result).toEqual(await getFile(db, upload.fileId));
    expect(await getUsage(db, upload.userId)).toMatchObject({ pendingBytes: 0, pendingUploads: {} });
  });

  it('completes a file renamed while it was processed, keeping the new name', async () => {
    const upload = await newUpload();
    const now = Date.now();
    const claimed = await claimForProcessing(db, { file: upload, now, staleBefore: now - 1 });
    if (!claimed) throw new Error('not claimed');
    await renameFile(db, { fileId: upload.fileId, filename: 'renamed.csv' });
    const completed = await finishProcessing(db, { file: claimed, outcome: completedOutcome });
    expect(completed).toMatchObject({ status: 'COMPLETED', filename: 'renamed.csv', size: 90 });
    expect(completed).toEqual(await getFile(db, upload.fileId));
    // Counted once, though the write went twice.
    expect((await getUsage(db, upload.userId))?.storedBytes).toBe(90);
  });

  it('claims and completes a file however many renames land just before its writes', async () => {
    const upload = await newUpload();
    const now = Date.now();
    // A rename just before each of the next `count` transactions: every write then finds another version.
    const renamedBefore = async <T>(count: number, work: () => Promise<T>) => {
      let renames = 0;
      const name = `rename-${newId()}`;
      db.documentClient.middlewareStack.add(
        (next, context) => async (args) => {
          if (context.commandName === 'TransactWriteItemsCommand' && renames < count) {
            renames += 1;
            await renameFile(db, { fileId: upload.fileId, filename: `r${renames}.csv` });
          }
          return next(args);
        },
        { step: 'initialize', name },
      );
      try {
        return await work();
      } finally {
        db.documentClient.middlewareStack.remove(name);
      }
    };
    const claimed = await renamedBefore(4, () =>
      claimForProcessing(db, { file: upload, now, staleBefore: now - 1 }),
    );
    expect(claimed).toMatchObject({ status: 'PROCESSING', filename: 'r4.csv' });
    expect(claimed).toEqual(await getFile(db, upload.fileId));
    if (!claimed) throw new Error('not claimed');
    const completed = await renamedBefore(4, () =>
      finishProcessing(db, { file: claimed, outcome: completedOutcome }),
    );
    expect(completed).toMatchObject({ status: 'COMPLETED', filename: 'r4.csv' });
    expect(completed).toEqual(await getFile(db, upload.fileId));
    expect(await getUsage(db, upload.userId)).toMatchObject({ storedBytes: 90, pendingBytes: 0 });
  });

  it('completes a saved table whose message was deleted meanwhile, without the link to it', async () => {
    const upload = await newUpload();
    const fileId = newId();
    const messageId = newId();
    const made = await createGeneratedFile(db, {
      fileId,
      userId: upload.userId,
      projectId: upload.projectId,
      filename: 'saved.csv',
      contentType: 'text/csv',
      size: 50,
      objectKey: `projects/${upload.projectId}/files/${fileId}`,
      provenance: { sessionId: newId(), messageId, sql: 'SELECT 1', sourceFileIds: [upload.fileId] },
      status: 'PROCESSING',
      now: Date.now(),
      maxStoredBytes: 100_000,
    });
    if (made.outcome !== 'created') throw new Error(made.outcome);
    await forgetProvenanceMessage(db, { fileId, messageId });
    const completed = await finishProcessing(db, { file: made.file, outcome: completedOutcome });
    expect(completed?.status).toBe('COMPLETED');
    expect(completed?.provenance).not.toHaveProperty('messageId');
    expect(completed).toEqual(await getFile(db, fileId));
  });

  it('changes nothing for a run that lost its claim, and for a file deleted meanwhile', async () => {
    const upload = await newUpload();
    const now = Date.now();
    const first = await claimForProcessing(db, { file: upload, now, staleBefore: now - 1 });
    if (!first) throw new Error('not claimed');
    // Another server takes the run over once it is stale.
    const second = await claimForProcessing(db, { file: first, now: now + 10, staleBefore: now + 1 });
    expect(second).toMatchObject({ status: 'PROCESSING', processingStartedAt: now + 10 });
    expect(await finishProcessing(db, { file: first, outcome: completedOutcome })).toBeNull();
    expect(
      await finishProcessing(db, { file: first, outcome: { status: 'FAILED', failureReason: 'x' } }),
    ).toBeNull();
    expect(await getFile(db, upload.fileId)).toEqual(second);
    expect((await getUsage(db, upload.userId))?.storedBytes).toBe(100);

    const gone = await newUpload();
    await db.entities.file.build(DeleteItemCommand).key({ fileId: gone.fileId }).send();
    expect(await claimForProcessing(db, { file: gone, now, staleBefore: now - 1 })).toBeNull();
  });
});
