import { type Db, getRefreshFamily } from '@leonidas/db';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { SignIn } from './tokens.js';

/** Why a sign-in stopped holding something open. */
export type SignInEnd = 'expired' | 'revoked';

/**
 * Ends what a sign-in holds open (live chat streams) when its access token expires or its login is revoked.
 * Revocations made by this process end its streams at once, and its access tokens are refused from then on;
 * those made by other instances are found by reading the watched logins every `checkIntervalMs` (only while
 * something is watched), and their access tokens die at their expiry.
 */
export class SignInWatcher {
  private readonly watched = new Map<string, Set<AbortController>>();
  /** Logins revoked here, until the last access token issued to them has expired anyway. */
  private readonly revokedUntil = new Map<string, number>();
  private poller: NodeJS.Timeout | undefined;
  private checking = false;

  constructor(
    private readonly options: {
      db: Db;
      clock: Clock;
      logger: Logger;
      checkIntervalMs: number;
      accessTokenTtlMs: number;
    },
  ) {}

  /** Whether this process has seen the login revoked (its tokens still carry a valid signature and expiry). */
  isRevokedHere(loginId: string): boolean {
    const until = this.revokedUntil.get(loginId);
    if (until === undefined) return false;
    if (until > this.options.clock.now()) return true;
    this.revokedUntil.delete(loginId);
    return false;
  }

  /** Whether the login is still in force (not revoked, not expired away). */
  async isActive(loginId: string): Promise<boolean> {
    const family = await getRefreshFamily(this.options.db, loginId);
    return family !== null && family.revokedAt === undefined;
  }

  /**
   * A signal that aborts, with a `SignInEnd` as its reason, when the sign-in ends. The watch stops when it
   * fires or when `until` aborts (the stream ended for another reason).
   */
  watch(signIn: SignIn, until: AbortSignal | undefined): AbortSignal {
    const controller = new AbortController();
    const ending = () => controller.abort('expired' satisfies SignInEnd);
    const timer = setTimeout(ending, Math.max(0, signIn.expiresAt - this.options.clock.now()));
    const controllers = this.watched.get(signIn.loginId) ?? new Set<AbortController>();
    this.watched.set(signIn.loginId, controllers);
    controllers.add(controller);

    const release = () => {
      clearTimeout(timer);
      until?.removeEventListener('abort', release);
      controllers.delete(controller);
      if (controllers.size === 0) this.watched.delete(signIn.loginId);
      if (this.watched.size === 0) this.stopPolling();
    };
    controller.signal.addEventListener('abort', release, { once: true });
    if (until?.aborted) release();
    else until?.addEventListener('abort', release, { once: true });
    this.startPolling();
    return controller.signal;
  }

  /** This process revoked the login (logout, refresh-token reuse): what it holds open ends now. */
  revoked(loginId: string): void {
    const now = this.options.clock.now();
    for (const [id, until] of this.revokedUntil) if (until <= now) this.revokedUntil.delete(id);
    this.revokedUntil.set(loginId, now + this.options.accessTokenTtlMs);
    for (const controller of [...(this.watched.get(loginId) ?? [])])
      controller.abort('revoked' satisfies SignInEnd);
  }

  close(): void {
    this.stopPolling();
  }

  private startPolling(): void {
    if (this.poller || this.watched.size === 0) return;
    this.poller = setInterval(() => void this.checkWatched(), this.options.checkIntervalMs);
    this.poller.unref();
  }

  private stopPolling(): void {
    clearInterval(this.poller);
    this.poller = undefined;
  }

  private async checkWatched(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      for (const loginId of [...this.watched.keys()]) {
        if (!(await this.isActive(loginId))) this.revoked(loginId);
      }
    } catch (error) {
      // A failed check is tried again at the next interval; streams are not ended on a database hiccup.
      this.options.logger.warn({ err: error }, 'could not check signed-in streams for revocation');
    } finally {
      this.checking = false;
    }
  }
}
