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
 * One subscriber's watch on a session, registered once for the life of its stream: each change of the session
 * marks it, and `next` settles at the first change since the previous call. A stream waits once per event, so
 * the wait itself allocates nothing but its promise: no timer, listener or waiter set per event.
 */
export class SessionWatch {
  private changed = false;
  private resolve: ((changed: boolean) => void) | undefined;
  private waitingSince = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly quietMs: number,
    private readonly onClose: (watch: SessionWatch) => void,
  ) {}

  /**
   * Settles `true` at the next change (at once if one came since the last call), or `false` after `quietMs`
   * without one. One timer per watch is armed while it waits and left running across waits: it only decides
   * whether the wait in progress has been quiet long enough, so events never touch the timer list.
   */
  next(): Promise<boolean> {
    if (this.changed) {
      this.changed = false;
      return CHANGED;
    }
    return new Promise((resolve) => {
      this.resolve = resolve;
      this.waitingSince = performance.now();
      this.timer ??= setTimeout(this.checkQuiet, this.quietMs);
    });
  }

  /** A change of the session, or the end of the stream (abort, shutdown): whoever waits looks again. */
  notify(): void {
    const resolve = this.resolve;
    if (!resolve) {
      this.changed = true;
      return;
    }
    this.resolve = undefined;
    resolve(true);
  }

  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.notify();
    this.onClose(this);
  }

  private readonly checkQuiet = () => {
    this.timer = undefined;
    const resolve = this.resolve;
    if (!resolve) return;
    const waited = performance.now() - this.waitingSince;
    if (waited < this.quietMs) {
      this.timer = setTimeout(this.checkQuiet, this.quietMs - waited);
      return;
    }
    this.resolve = undefined;
    resolve(false);
  };
}

const CHANGED = Promise.resolve(true);

/**
 * The live side of chat runs in this process: the latest run of each session with its events, and the
 * subscribers waiting for more. A finished run stays for `retainMs` (clients that lost their stream resume
 * from memory meanwhile), then leaves, so memory follows the runs in progress rather than every session ever
 * answered; a later replay rebuilds it from the stored message, as after a restart.
 */
export class RunHub {
  private readonly latest = new Map<string, RunLog>();
  private readonly watches = new Map<string, Set<SessionWatch>>();
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
    for (const sessionId of this.watches.keys()) this.wake(sessionId);
  }

  /**
   * Watches a session for the life of one stream: marked at every change of the session, when `signal` aborts
   * and when the hub closes. Registered before the stream reads the session's run, so a change that lands
   * while it reads is not missed. `quietMs` is how long `next` waits before reporting a quiet session.
   */
  watch(sessionId: string, signal: AbortSignal | undefined, quietMs: number): SessionWatch {
    const watches = this.watches.get(sessionId) ?? new Set<SessionWatch>();
    this.watches.set(sessionId, watches);
    const stop = () => watch.notify();
    const watch = new SessionWatch(quietMs, (closed) => {
      signal?.removeEventListener('abort', stop);
      watches.delete(closed);
      if (watches.size === 0 && this.watches.get(sessionId) === watches) this.watches.delete(sessionId);
    });
    watches.add(watch);
    signal?.addEventListener('abort', stop, { once: true });
    if (signal?.aborted || this.closing) watch.notify();
    return watch;
  }

  private wake(sessionId: string): void {
    const watches = this.watches.get(sessionId);
    if (watches) for (const watch of watches) watch.notify();
  }
}
