import { describe, expect, it } from 'vitest';
import { CommitWaits } from './commits.js';

/** Reads that answer when the test says, recording the order of what happened. */
function controlledReads() {
  const events: string[] = [];
  const pending: { resolve: () => void; reject: (error: Error) => void }[] = [];
  const waits = new CommitWaits(() => {
    events.push(`read ${pending.length + 1} sent`);
    return new Promise<void>((resolve, reject) => pending.push({ resolve, reject }));
  });
  const settle = async (index: number, error?: Error) => {
    const read = pending[index];
    if (!read) throw new Error(`read ${index + 1} was never sent`);
    events.push(`read ${index + 1} answered`);
    if (error) read.reject(error);
    else read.resolve();
    await new Promise((resolve) => setImmediate(resolve));
  };
  const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
  const waitFor = (name: string) => {
    const done = waits.wait().then(
      () => events.push(`${name} done`),
      (error: Error) => events.push(`${name} failed: ${error.message}`),
    );
    return done;
  };
  return { events, pending, settle, nextTurn, waitFor };
}

describe('commit waits', () => {
  it('sends one read for a transaction alone, and one for all answered in the same turn', async () => {
    const reads = controlledReads();
    void reads.waitFor('a');
    await reads.nextTurn();
    expect(reads.events).toEqual(['read 1 sent']);
    await reads.settle(0);
    expect(reads.events).toEqual(['read 1 sent', 'read 1 answered', 'a done']);

    for (const name of ['b', 'c', 'd']) void reads.waitFor(name);
    await reads.nextTurn();
    await reads.settle(1);
    expect(reads.events.slice(3)).toEqual(['read 2 sent', 'read 2 answered', 'b done', 'c done', 'd done']);
    expect(reads.pending).toHaveLength(2);
  });

  it('makes a transaction answered while a read is on its way wait for the next read, sent after that one', async () => {
    const reads = controlledReads();
    void reads.waitFor('a');
    await reads.nextTurn();
    // Answered after read 1 was sent: read 1 may have reached the database before this COMMIT.
    void reads.waitFor('b');
    void reads.waitFor('c');
    await reads.nextTurn();
    expect(reads.events).toEqual(['read 1 sent']);
    await reads.settle(0);
    // Read 2 goes once read 1 is back (a's end and read 2 come in either order).
    expect(reads.events.slice(0, 2)).toEqual(['read 1 sent', 'read 1 answered']);
    expect(reads.events.slice(2).sort()).toEqual(['a done', 'read 2 sent']);
    await reads.settle(1);
    expect(reads.events.slice(4)).toEqual(['read 2 answered', 'b done', 'c done']);
  });

  it('fails the transactions of a failed read, and sends a fresh read for the next', async () => {
    const reads = controlledReads();
    void reads.waitFor('a');
    await reads.nextTurn();
    void reads.waitFor('b');
    await reads.settle(0, new Error('database gone'));
    expect(reads.events.slice(0, 2)).toEqual(['read 1 sent', 'read 1 answered']);
    expect(reads.events.slice(2).sort()).toEqual(['a failed: database gone', 'read 2 sent']);
    await reads.settle(1);
    void reads.waitFor('c');
    await reads.nextTurn();
    await reads.settle(2);
    expect(reads.events.slice(4)).toEqual([
      'read 2 answered',
      'b done',
      'read 3 sent',
      'read 3 answered',
      'c done',
    ]);
  });
});
