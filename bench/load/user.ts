import { randomUUID } from 'node:crypto';
import {
  type ChatEvent,
  createLeonidasClient,
  errorCode,
  isLeonidasError,
  type LeonidasClient,
  type Message,
  type RouterOutputs,
  uploadForm,
} from '@leonidas/client';
import { LoadError, type Metrics } from './metrics.js';

type FileRecord = RouterOutputs['file']['byId'];

export interface UserOptions {
  url: string;
  /** Distinguishes this run's accounts from any earlier run's on the same server. */
  runTag: string;
  /** How long a reply may take to finish on the stream before it counts as an error. */
  replyTimeoutMs: number;
  /** How long a confirmed file may stay PROCESSING while the user waits for it. */
  processingTimeoutMs: number;
  /** Mean pause between steps (0: none, every user as fast as the server answers). */
  thinkMs: number;
  /**
   * Whole scripts each user finishes even past the end of the run, so that a short run on a slow machine still goes
   * through every step (the CI test asks for one).
   */
  minScripts: number;
}

/** A message the server accepted (`chat.send` answered), which must be stored with a finished reply. */
interface SentMessage {
  sessionId: string;
  userMessageId: string;
  runId: string;
  content: string;
}

export interface Verification {
  messagesSent: number;
  /** Accepted messages missing from their session's history. */
  messagesLost: number;
  /** Accepted messages whose reply is missing or not `complete` once the bound has passed. */
  repliesUnfinished: number;
  filesConfirmed: number;
  filesCompleted: number;
  filesFailed: number;
  /** Confirmed files still UPLOADING or PROCESSING once the bound has passed. */
  filesStuck: number;
  /** Sessions that took no new message after the run (a run slot never freed). */
  sessionsStuck: number;
  /** Deleted sessions or projects that still answer. */
  deletedStillVisible: number;
  /** Users whose check could not finish (a call failed; counted with the errors too). */
  incomplete: number;
  /** A few of the problems above, said precisely, for the report. */
  problems: string[];
}

/** Nothing checked yet: what a user's check, and the sum of all of them, start from. */
export function emptyVerification(): Verification {
  return {
    messagesSent: 0,
    messagesLost: 0,
    repliesUnfinished: 0,
    filesConfirmed: 0,
    filesCompleted: 0,
    filesFailed: 0,
    filesStuck: 0,
    sessionsStuck: 0,
    deletedStillVisible: 0,
    incomplete: 0,
    problems: [],
  };
}

const TERMINAL: ReadonlySet<ChatEvent['type']> = new Set([
  'message.completed',
  'run.cancelled',
  'run.failed',
]);
const PASSWORD = 'load-test-password';
const CITIES = ['Paris', 'Lima', 'Oslo', 'Nairobi', 'Tokyo'];

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A small CSV of 50 to 550 rows, different for each user and project, so that every upload is profiled for
 * real (the mix issue 16 measured).
 */
export function salesCsv(user: number, iteration: number): string {
  const lines = ['id,city,amount,day,active'];
  const rows = 50 + ((user * 37 + iteration * 101) % 501);
  for (let row = 1; row <= rows; row++) {
    const seed = user * 7919 + iteration * 104_729 + row * 31;
    lines.push(
      `${row},${CITIES[seed % CITIES.length]},${(seed % 10_000) / 100},2025-${String((seed % 12) + 1).padStart(2, '0')}-${String((seed % 28) + 1).padStart(2, '0')},${seed % 3 === 0}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/**
 * One simulated person: signs up, then runs the same sequential script until the run ends (create a project,
 * upload and confirm a CSV, chat about it in two sessions, page the history, rename, list, delete), through the
 * SDK over HTTP as an outside service would. It remembers what the server accepted, to check afterwards that
 * nothing was lost.
 */
export class SimulatedUser {
  private client: LeonidasClient | undefined;
  private readonly sessions = new Map<string, { projectId: string; sent: SentMessage[] }>();
  private readonly files = new Map<string, string>();
  private readonly deletedSessions = new Set<string>();
  private readonly deletedProjects = new Set<string>();
  /** Access tokens renewed by the SDK's token keeper during the run. */
  renewals = 0;
  /** When each of the user's files was confirmed (`performance.now()`), to place its wait in the run. */
  readonly confirmedAt: number[] = [];
  /** When the user stops starting steps (epoch ms); the step in flight finishes. */
  private endsAt = 0;
  scriptsStarted = 0;
  /** Scripts run to their end without an error or the deadline cutting them short. */
  scriptsCompleted = 0;

  constructor(
    readonly index: number,
    private readonly options: UserOptions,
    /** Where calls are counted; the verification swaps in its own, so its calls stay out of the figures. */
    public metrics: Metrics,
  ) {}

  private over(): boolean {
    return Date.now() >= this.endsAt && this.scriptsCompleted >= this.options.minScripts;
  }

  private async think(): Promise<void> {
    if (this.options.thinkMs > 0) await pause(this.options.thinkMs * (0.5 + Math.random()));
  }

  private api(): LeonidasClient {
    if (!this.client) throw new Error('not signed up');
    return this.client;
  }

  /** Runs the script again and again until `endsAt` (epoch ms). Needs `signUp` first. */
  async work(endsAt: number): Promise<void> {
    this.endsAt = endsAt;
    if (!this.client) return;
    while (!this.over()) {
      const n = this.scriptsStarted++;
      try {
        if (await this.iteration(n)) this.scriptsCompleted += 1;
      } catch {
        // Counted where it happened; a person would start over, after a moment.
        await pause(500);
        // A user whose every script fails must not hold the run open for ever.
        if (Date.now() >= this.endsAt) return;
      }
    }
  }

  /** `auth.register`, then a client that renews its own tokens; false when the sign-up failed (counted). */
  async signUp(): Promise<boolean> {
    return this.register().then(
      () => true,
      () => false,
    );
  }

  private async register(): Promise<void> {
    const email = `load-${this.options.runTag}-${this.index}@example.com`;
    const anonymous = createLeonidasClient({ url: this.options.url });
    const tokens = await this.metrics.time('auth.register', () =>
      anonymous.auth.register.mutate({ email, password: PASSWORD, name: `Load user ${this.index}` }),
    );
    let { accessToken, refreshToken } = tokens;
    // The token keeper renews shortly before expiry and resumes live streams, as a long-running service needs.
    this.client = createLeonidasClient({
      url: this.options.url,
      getToken: () => accessToken,
      refreshToken: () => refreshToken,
      onTokens: (renewed) => {
        accessToken = renewed.accessToken;
        refreshToken = renewed.refreshToken;
        this.renewals += 1;
      },
    });
    await this.metrics.time('auth.me', () => this.api().auth.me.query());
  }

  /** One pass of the script; true when it ran to its end. Steps stop at the deadline; the one in flight finishes. */
  private async iteration(n: number): Promise<boolean> {
    const api = this.api();
    const time = this.metrics.time.bind(this.metrics);
    const project = await time('project.create', () =>
      api.project.create.mutate({ name: `Load ${this.index}.${n}`, description: 'load run' }),
    );
    if (this.over()) return false;
    await this.think();
    const filename = `sales_${n}.csv`;
    const file = await this.upload(project.id, filename, salesCsv(this.index, n));
    if (file.status === 'COMPLETED')
      await time('file.preview', () => api.file.preview.query({ fileId: file.id }));
    if (this.over()) return false;
    await this.think();

    const first = await time('session.create', () =>
      api.session.create.mutate({ projectId: project.id, title: 'Sales' }),
    );
    this.sessions.set(first.id, { projectId: project.id, sent: [] });
    await this.ask(first.id, `describe ${filename}`);
    if (this.over()) return false;
    await this.think();
    await this.ask(
      first.id,
      `/sql SELECT city, count(*) AS n, round(sum(amount), 2) AS total FROM sales_${n} GROUP BY city ORDER BY city`,
    );
    if (this.over()) return false;
    await this.think();
    await this.pageHistory(first.id);
    await time('session.update', () =>
      api.session.update.mutate({ sessionId: first.id, title: `Sales ${n}` }),
    );
    if (this.over()) return false;
    await this.think();

    const second = await time('session.create', () => api.session.create.mutate({ projectId: project.id }));
    this.sessions.set(second.id, { projectId: project.id, sent: [] });
    await this.ask(second.id, 'what files do I have?');
    if (this.over()) return false;
    await this.think();
    await time('session.list', () => api.session.list.query({ projectId: project.id, limit: 10 }));
    await time('file.list', () => api.file.list.query({ projectId: project.id }));
    const projects = await time('project.list', () => api.project.list.query({ limit: 5 }));
    if (projects.nextCursor) {
      const cursor = projects.nextCursor;
      await time('project.list', () => api.project.list.query({ limit: 5, cursor }));
    }
    await time('project.update', () =>
      api.project.update.mutate({ projectId: project.id, name: `Load ${this.index}.${n} (renamed)` }),
    );
    if (this.over()) return false;
    await this.think();

    await time('session.delete', () => api.session.delete.mutate({ sessionId: second.id }));
    this.deletedSessions.add(second.id);
    // Every other project goes whole (its sessions, messages and files with it); the rest stay to be checked.
    if (n % 2 === 1) {
      await time('project.delete', () => api.project.delete.mutate({ projectId: project.id }));
      this.deletedProjects.add(project.id);
    }
    return true;
  }

  /**
   * The SDK's upload path taken step by step, so that each step is timed: `file.createUpload`, the presigned
   * POST straight to storage (the body built by the SDK's `uploadForm`), `file.confirm`, then `file.byId` while
   * it is PROCESSING.
   */
  private async upload(projectId: string, filename: string, csv: string): Promise<FileRecord> {
    const api = this.api();
    const time = this.metrics.time.bind(this.metrics);
    const blob = new Blob([csv], { type: 'text/csv' });
    const { file, upload } = await time('file.createUpload', () =>
      api.file.createUpload.mutate({ projectId, filename, size: blob.size, contentType: 'text/csv' }),
    );
    await time('storage.post', async () => {
      const response = await fetch(upload.url, {
        method: 'POST',
        body: uploadForm(upload.fields, blob, filename),
      });
      const body = await response.text();
      if (!response.ok) throw new LoadError(`HTTP_${response.status}`, body.slice(0, 200));
    });
    const confirmedAt = performance.now();
    this.confirmedAt.push(confirmedAt);
    let result = await time('file.confirm', () => api.file.confirm.mutate({ fileId: file.id }));
    this.files.set(file.id, projectId);
    const deadline = Date.now() + this.options.processingTimeoutMs;
    while ((result.status === 'PROCESSING' || result.status === 'UPLOADING') && Date.now() < deadline) {
      // The SDK's uploadFile looks again once a second by default; so does this user.
      await pause(1000);
      result = await time('file.byId', () => api.file.byId.query({ fileId: file.id }));
    }
    if (result.status === 'FAILED')
      this.metrics.error('file.processing', new LoadError('FAILED', result.failureReason ?? 'no reason'));
    // What the user waits for: from confirming to a profiled file, however many looks it took.
    if (result.status === 'COMPLETED') this.metrics.latency('file.ready', performance.now() - confirmedAt);
    return result;
  }

  private async pageHistory(sessionId: string): Promise<void> {
    let cursor: string | undefined;
    do {
      const page: RouterOutputs['chat']['history'] = await this.metrics.time('chat.history', () =>
        this.api().chat.history.query({ sessionId, limit: 2, ...(cursor ? { cursor } : {}) }),
      );
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
  }

  /**
   * Subscribes to the session's events, sends once the stream is open (so nothing is missed), and waits for
   * this run's reply to finish. Times the stream's opening, the send, the first words and the whole reply.
   * A rate-limited send waits as long as the server asks and goes again with the same clientMessageId.
   */
  private async ask(sessionId: string, content: string): Promise<void> {
    const api = this.api();
    const clientMessageId = randomUUID();
    const events: { event: ChatEvent; at: number }[] = [];
    let started = false;
    let failure: unknown;
    let wake = () => {};
    const opened = performance.now();
    const subscription = api.chat.onEvents.subscribe(
      { sessionId },
      {
        onStarted: () => {
          started = true;
          wake();
        },
        onData: ({ data }) => {
          events.push({ event: data, at: performance.now() });
          wake();
        },
        onError: (error) => {
          failure = error;
          wake();
        },
      },
    );
    const until = (ready: () => boolean, timeoutMs: number) =>
      new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => {
          wake = () => {};
          resolve(false);
        }, timeoutMs);
        const check = () => {
          if (!ready()) return;
          wake = () => {};
          clearTimeout(timer);
          resolve(true);
        };
        wake = check;
        check();
      });
    try {
      if (!(await until(() => started || failure !== undefined, this.options.replyTimeoutMs))) {
        throw this.recorded('chat.onEvents', new LoadError('TIMEOUT', 'the event stream did not open'));
      }
      if (failure !== undefined) throw this.recorded('chat.onEvents', failure);
      this.metrics.latency('chat.onEvents', performance.now() - opened);

      const sentAt = performance.now();
      const sent = await this.send(sessionId, content, clientMessageId);
      this.sessions.get(sessionId)?.sent.push({
        sessionId,
        userMessageId: sent.userMessage.id,
        runId: sent.runId,
        content,
      });
      const ours = (entry: { event: ChatEvent }) => entry.event.runId === sent.runId;
      const finished = await until(
        () => failure !== undefined || events.some((entry) => ours(entry) && TERMINAL.has(entry.event.type)),
        this.options.replyTimeoutMs,
      );
      if (!finished) {
        throw this.recorded(
          'chat.reply',
          new LoadError('TIMEOUT', `no end of the reply within ${this.options.replyTimeoutMs} ms`),
        );
      }
      if (failure !== undefined) throw this.recorded('chat.onEvents', failure);
      const firstDelta = events.find((entry) => ours(entry) && entry.event.type === 'message.delta');
      if (firstDelta) this.metrics.latency('chat.firstDelta', firstDelta.at - sentAt);
      const end = events.find((entry) => ours(entry) && TERMINAL.has(entry.event.type));
      if (end?.event.type !== 'message.completed') {
        const detail = end?.event.type === 'run.failed' ? end.event.error : (end?.event.type ?? '');
        throw this.recorded('chat.reply', new LoadError(`${end?.event.type ?? 'run.unknown'}`, detail));
      }
      this.metrics.latency('chat.reply', end.at - sentAt);
    } finally {
      subscription.unsubscribe();
    }
  }

  private async send(sessionId: string, content: string, clientMessageId: string) {
    for (;;) {
      try {
        return await this.metrics.time('chat.send', () =>
          this.api().chat.send.mutate({ sessionId, content, clientMessageId }),
        );
      } catch (error) {
        if (errorCode(error) !== 'TOO_MANY_REQUESTS') throw error;
        const seconds = isLeonidasError(error) ? error.data?.retryAfterSeconds : undefined;
        await pause((seconds ?? 1) * 1000);
      }
    }
  }

  private recorded(operation: string, error: unknown): unknown {
    this.metrics.error(operation, error);
    return error;
  }

  /**
   * After the run: one more question in the newest surviving session (a session whose run slot was never
   * freed refuses it), then every accepted message must be in its session's history with a `complete` reply,
   * every confirmed file must end COMPLETED, and whatever was deleted must be gone. Waits for replies and
   * files still running until `deadline`.
   */
  async verify(deadline: number): Promise<Verification> {
    const result = emptyVerification();
    if (!this.client) return result;
    const problem = (text: string) => {
      if (result.problems.length < 5) result.problems.push(`user ${this.index}: ${text}`);
    };
    try {
      await this.check(deadline, result, problem);
    } catch (error) {
      result.incomplete += 1;
      problem(`the check stopped: ${String(error).slice(0, 200)}`);
    }
    return result;
  }

  private async check(
    deadline: number,
    result: Verification,
    problem: (text: string) => void,
  ): Promise<void> {
    const alive = [...this.sessions.entries()].filter(
      ([id, session]) => !this.deletedSessions.has(id) && !this.deletedProjects.has(session.projectId),
    );
    const newest = alive.at(-1);
    if (newest) {
      try {
        await this.ask(newest[0], '/help');
      } catch (error) {
        result.sessionsStuck += 1;
        problem(`session ${newest[0]} took no new message after the run: ${String(error).slice(0, 200)}`);
      }
    }

    for (const [sessionId, session] of alive) {
      result.messagesSent += session.sent.length;
      if (session.sent.length === 0) continue;
      let history = await this.fullHistory(sessionId);
      const unfinished = () => session.sent.filter((sent) => replyOf(history, sent)?.status !== 'complete');
      while (unfinished().length > 0 && Date.now() < deadline) {
        await pause(500);
        history = await this.fullHistory(sessionId);
      }
      for (const sent of session.sent) {
        const question = history.find((message) => message.id === sent.userMessageId);
        if (!question || question.content !== sent.content) {
          result.messagesLost += 1;
          problem(
            `message ${sent.userMessageId} (run ${sent.runId}) of session ${sessionId} is not in its history`,
          );
          continue;
        }
        const reply = replyOf(history, sent);
        if (reply?.status !== 'complete') {
          result.repliesUnfinished += 1;
          problem(
            `message ${sent.userMessageId} (run ${sent.runId}) of session ${sessionId}: reply ${reply ? `${reply.id} is ${reply.status}${reply.error ? ` (${reply.error})` : ''}` : 'missing'}`,
          );
        }
      }
    }

    for (const [fileId, projectId] of this.files) {
      if (this.deletedProjects.has(projectId)) continue;
      result.filesConfirmed += 1;
      let file = await this.metrics.time('file.byId', () => this.api().file.byId.query({ fileId }));
      while ((file.status === 'PROCESSING' || file.status === 'UPLOADING') && Date.now() < deadline) {
        await pause(500);
        file = await this.metrics.time('file.byId', () => this.api().file.byId.query({ fileId }));
      }
      if (file.status === 'COMPLETED') result.filesCompleted += 1;
      else if (file.status === 'FAILED') {
        result.filesFailed += 1;
        problem(`file ${fileId} FAILED: ${file.failureReason ?? 'no reason'}`);
      } else {
        result.filesStuck += 1;
        problem(`file ${fileId} still ${file.status}`);
      }
    }

    const gone = async (what: string, id: string, read: () => Promise<unknown>) => {
      try {
        await read();
        result.deletedStillVisible += 1;
        problem(`deleted ${what} ${id} still answers`);
      } catch (error) {
        if (errorCode(error) !== 'NOT_FOUND') throw this.recorded(`${what}.byId`, error);
      }
    };
    for (const sessionId of this.deletedSessions) {
      const projectId = this.sessions.get(sessionId)?.projectId ?? '';
      if (this.deletedProjects.has(projectId)) continue;
      await gone('session', sessionId, () => this.api().session.byId.query({ sessionId }));
    }
    for (const projectId of this.deletedProjects) {
      await gone('project', projectId, () => this.api().project.byId.query({ projectId }));
    }
  }

  /** The session's whole active branch, oldest first (pages come newest first). */
  private async fullHistory(sessionId: string): Promise<Message[]> {
    const pages: Message[][] = [];
    let cursor: string | undefined;
    do {
      const page: RouterOutputs['chat']['history'] = await this.metrics.time('chat.history', () =>
        this.api().chat.history.query({ sessionId, limit: 100, ...(cursor ? { cursor } : {}) }),
      );
      pages.unshift(page.items);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return pages.flat();
  }
}

function replyOf(history: readonly Message[], sent: SentMessage): Message | undefined {
  return history.find((message) => message.role === 'assistant' && message.parentId === sent.userMessageId);
}
