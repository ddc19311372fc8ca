/**
 * Runs work with at most `perServer` tasks at once, and at most `perKey` of them for one key (a user): the
 * rest wait their turn in order. Heavy work (profiling a file) then cannot crowd out everyone else, and one user
 * cannot take every slot.
 */
export class WorkQueue {
  private running = 0;
  private readonly runningPerKey = new Map<string, number>();
  private readonly waiting: { key: string; start: () => void }[] = [];

  constructor(private readonly limits: { perServer: number; perKey: number }) {}

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.waiting.push({
        key,
        // The slot is free before the caller resumes, so work it starts next finds it free.
        start: () => {
          task().then(
            (value) => {
              this.finished(key);
              resolve(value);
            },
            (error: unknown) => {
              this.finished(key);
              reject(error);
            },
          );
        },
      });
      this.startWhatCan();
    });
  }

  /** Tasks started and not yet settled. */
  get active(): number {
    return this.running;
  }

  /** Tasks waiting for a slot. */
  get queued(): number {
    return this.waiting.length;
  }

  private finished(key: string): void {
    this.running--;
    const count = (this.runningPerKey.get(key) ?? 1) - 1;
    if (count === 0) this.runningPerKey.delete(key);
    else this.runningPerKey.set(key, count);
    this.startWhatCan();
  }

  private startWhatCan(): void {
    for (let i = 0; i < this.waiting.length && this.running < this.limits.perServer; ) {
      const next = this.waiting[i];
      if (!next || (this.runningPerKey.get(next.key) ?? 0) >= this.limits.perKey) {
        i++;
        continue;
      }
      this.waiting.splice(i, 1);
      this.running++;
      this.runningPerKey.set(next.key, (this.runningPerKey.get(next.key) ?? 0) + 1);
      next.start();
    }
  }
}
