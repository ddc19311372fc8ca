import { describe, expect, it } from 'vitest';
import { WorkQueue } from './work-queue.js';

/** A task that finishes when the test says so, recording when it started. */
function controllable(log: string[], name: string) {
  let finish = () => {};
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  return {
    task: async () => {
      log.push(name);
      await done;
      return name;
    },
    finish,
  };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('WorkQueue', () => {
  it('runs at most perServer tasks, at most perKey per key, the rest in order', async () => {
    const queue = new WorkQueue({ perServer: 2, perKey: 1 });
    const started: string[] = [];
    const a1 = controllable(started, 'a1');
    const a2 = controllable(started, 'a2');
    const b1 = controllable(started, 'b1');
    const c1 = controllable(started, 'c1');
    const results = [
      queue.run('a', a1.task),
      queue.run('a', a2.task),
      queue.run('b', b1.task),
      queue.run('c', c1.task),
    ];
    await tick();
    // a2 waits for a1 (one per user), so b1 takes the second slot; c1 waits for a slot.
    expect(started).toEqual(['a1', 'b1']);
    expect([queue.active, queue.queued]).toEqual([2, 2]);
    a1.finish();
    await tick();
    expect(started).toEqual(['a1', 'b1', 'a2']);
    b1.finish();
    await tick();
    expect(started).toEqual(['a1', 'b1', 'a2', 'c1']);
    a2.finish();
    c1.finish();
    expect(await Promise.all(results)).toEqual(['a1', 'a2', 'b1', 'c1']);
    expect([queue.active, queue.queued]).toEqual([0, 0]);
  });

  it('frees the slot of a task that fails', async () => {
    const queue = new WorkQueue({ perServer: 1, perKey: 1 });
    await expect(queue.run('a', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(queue.run('a', async () => 'next')).resolves.toBe('next');
  });
});
