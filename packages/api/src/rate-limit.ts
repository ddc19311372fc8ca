import type { Clock } from './clock.js';

export interface RateLimitDecision {
  allowed: boolean;
  retryAfterMs: number;
}

/**
 * A fixed-window counter per key, in this process's memory. Behind a load balancer each instance counts on
 * its own, so the effective limit is per instance; the per-account lockout lives in DynamoDB instead.
 */
export class RateLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(private readonly options: { limit: number; windowMs: number; clock: Clock }) {}

  hit(key: string): RateLimitDecision {
    const now = this.options.clock.now();
    const current = this.windows.get(key);
    const window =
      current && now - current.start < this.options.windowMs ? current : { start: now, count: 0 };
    window.count += 1;
    this.windows.set(key, window);
    if (this.windows.size > 10_000) this.forgetExpired(now);
    const allowed = window.count <= this.options.limit;
    return { allowed, retryAfterMs: allowed ? 0 : window.start + this.options.windowMs - now };
  }

  private forgetExpired(now: number): void {
    for (const [key, window] of this.windows) {
      if (now - window.start >= this.options.windowMs) this.windows.delete(key);
    }
  }
}
