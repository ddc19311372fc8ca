import { describe, expect, it } from 'vitest';
import { ConcurrencyLimit } from './concurrency-limit.js';

/** A task that runs until the test lets it finish. */
function controllable() {
  let finish: (fail?: boolean) => void = () => {};
  const task = () =>
    new Promise<string>((resolve, reject) => {
      finish = (fail) => (fail ? reject(new Error('task failed')) : resolve('done'));
    });
  return { task, finish: (fail?: boolean) => finish(fail) };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('ConcurrencyLimit', () => {
  it('runs at most `limit` tasks at once and starts the others in arrival order', async () => {
    const limit = new ConcurrencyLimit(2);
    const started: number[] = [];
    const tasks = Array.from({ length: 5 }, () => controllable());
    const results = tasks.map(({ task }, i) =>
      limit.run(() => {
        started.push(i);
        return task();
      }),
    );
    await settle();
    expect(started).toEqual([0, 1]);
    expect([limit.active, limit.queued]).toEqual([2, 3]);

    tasks[1]?.finish();
    await settle();
    expect(started).toEqual([0, 1, 2]);
    expect([limit.active, limit.queued]).toEqual([2, 2]);

    for (const t of tasks) t.finish();
    await settle();
    for (const t of tasks) t.finish();
    await settle();
    for (const t of tasks) t.finish();
    expect(await Promise.all(results)).toEqual(['done', 'done', 'done', 'done', 'done']);
    expect(started).toEqual([0, 1, 2, 3, 4]);
    expect([limit.active, limit.queued]).toEqual([0, 0]);
  });

  it('gives the slot back when a task fails, and passes the failure on', async () => {
    const limit = new ConcurrencyLimit(1);
    const failing = controllable();
    const next = controllable();
    const first = limit.run(failing.task);
    const second = limit.run(next.task);
    await settle();
    failing.finish(true);
    await expect(first).rejects.toThrow('task failed');
    await settle();
    next.finish();
    await expect(second).resolves.toBe('done');
    expect([limit.active, limit.queued]).toEqual([0, 0]);
  });

  it('does not let a newcomer take a slot that was handed to a waiting task', async () => {
    const limit = new ConcurrencyLimit(1);
    const order: string[] = [];
    const first = controllable();
    const a = limit.run(async () => {
      order.push('first');
      return first.task();
    });
    const b = limit.run(async () => {
      order.push('waiting');
      return 'waiting';
    });
    await settle();
    first.finish();
    // Arrives in the same turn as the release: it must queue behind the task that has waited longest.
    const c = limit.run(async () => {
      order.push('newcomer');
      return 'newcomer';
    });
    await Promise.all([a, b, c]);
    expect(order).toEqual(['first', 'waiting', 'newcomer']);
  });

  it('refuses a limit that is not a positive integer', () => {
    expect(() => new ConcurrencyLimit(0)).toThrow(RangeError);
    expect(() => new ConcurrencyLimit(1.5)).toThrow(RangeError);
  });
});
