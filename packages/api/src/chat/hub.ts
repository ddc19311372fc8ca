import type { ChatEvent } from './schema.js';

export interface RunEvent {
  id: string;
  event: ChatEvent;
}

/** The events of one run, in order, and whether it has ended. */
export class RunLog {
  readonly events: RunEvent[] = [];
  done = false;
  readonly abort = new AbortController();

  constructor(
    readonly sessionId: string,
    readonly runId: string,
  ) {}

  /** Event ids sort by run (ULID) and then by position, so they order across runs and restarts. */
  nextId(): string {
    return `${this.runId}.${String(this.events.length).padStart(6, '0')}`;
  }
}

/**
 * The live side of chat runs in this process: the latest run of each session with its events, and the
 * subscribers waiting for more. A finished run stays for `retainMs` (clients that lost their stream resume
 * from memory meanwhile), then leaves, so memory follows the runs in progress rather than every session ever
 * answered; a later replay rebuilds it from the stored message, as after a restart.
 */
export class RunHub {
  private readonly latest = new Map<string, RunLog>();
  private readonly waiters = new Map<string, Set<() => void>>();
  private closing = false;

  constructor(private readonly retainMs: number) {}

  /** How many runs this process holds: those in progress and those finished less than `retainMs` ago. */
  get size(): number {
    return this.latest.size;
  }

  start(sessionId: string, runId: string): RunLog {
    const log = new RunLog(sessionId, runId);
    this.latest.set(sessionId, log);
    this.wake(sessionId);
    return log;
  }

  emit(log: RunLog, event: ChatEvent): void {
    log.events.push({ id: log.nextId(), event });
    this.wake(log.sessionId);
  }

  finish(log: RunLog): void {
    log.done = true;
    this.wake(log.sessionId);
    this.retire(log);
  }

  get(sessionId: string): RunLog | undefined {
    return this.latest.get(sessionId);
  }

  /** Keeps a rebuilt log of a finished run unless a live one appeared meanwhile. */
  remember(log: RunLog): RunLog {
    const current = this.latest.get(log.sessionId);
    if (current) return current;
    this.latest.set(log.sessionId, log);
    this.retire(log);
    return log;
  }

  /** A finished run leaves after `retainMs`, unless another run of its session took its place meanwhile. */
  private retire(log: RunLog): void {
    setTimeout(() => {
      if (this.latest.get(log.sessionId) === log) this.latest.delete(log.sessionId);
    }, this.retainMs).unref();
  }

  abort(sessionId: string, reason: string): boolean {
    const log = this.latest.get(sessionId);
    if (!log || log.done) return false;
    log.abort.abort(reason);
    return true;
  }

  forget(sessionId: string): void {
    this.latest.delete(sessionId);
    this.wake(sessionId);
  }

  activeRuns(): RunLog[] {
    return [...this.latest.values()].filter((log) => !log.done);
  }

  get isClosing(): boolean {
    return this.closing;
  }

  /** Ends every subscription (server shutdown). */
  close(): void {
    this.closing = true;
    for (const sessionId of this.waiters.keys()) this.wake(sessionId);
  }

  /**
   * Resolves at the next change in the session (`true`), when `signal` aborts, or after `timeoutMs` without
   * one (`false`). `hasNews` is checked once the waiter is registered, so a change that landed just before
   * cannot be missed.
   */
  waitForChange(
    sessionId: string,
    signal: AbortSignal | undefined,
    hasNews: () => boolean,
    timeoutMs: number,
  ): Promise<boolean> {
    return new Promise((resolve) => {
      if (signal?.aborted || this.closing) return resolve(true);
      const waiters = this.waiters.get(sessionId) ?? new Set<() => void>();
      this.waiters.set(sessionId, waiters);
      const settle = (changed: boolean) => {
        clearTimeout(timer);
        waiters.delete(done);
        if (waiters.size === 0) this.waiters.delete(sessionId);
        signal?.removeEventListener('abort', done);
        resolve(changed);
      };
      const done = () => settle(true);
      const timer = setTimeout(() => settle(false), timeoutMs);
      waiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
      if (hasNews()) done();
    });
  }

  private wake(sessionId: string): void {
    for (const waiter of [...(this.waiters.get(sessionId) ?? [])]) waiter();
  }
}
