import { settledWithin } from './within.js';

/**
 * Work that outlives the request that started it (e.g. processing a large upload). Shutdown waits for it,
 * up to a limit; anything cut off is picked up again later (a stale PROCESSING file is re-claimed on confirm).
 */
export class BackgroundTasks {
  private readonly tasks = new Set<Promise<unknown>>();

  run<T>(task: Promise<T>): Promise<T> {
    this.tasks.add(task);
    const forget = () => this.tasks.delete(task);
    task.then(forget, forget);
    return task;
  }

  get size(): number {
    return this.tasks.size;
  }

  async drain(timeoutMs: number): Promise<void> {
    await settledWithin(Promise.allSettled([...this.tasks]), timeoutMs);
  }
}
