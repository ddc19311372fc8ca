import { errorCode, isLeonidasError } from '@leonidas/client';

/** A call that failed outside tRPC: the object store's answer to an upload, or a reply that did not finish. */
export class LoadError extends Error {
  override name = 'LoadError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The code an error is counted under: the tRPC code, else what went wrong on the way. */
export function codeOf(error: unknown): string {
  if (error instanceof LoadError) return error.code;
  const code = errorCode(error);
  if (code) return code;
  // A TRPCClientError without data: the request itself failed (connection refused or reset).
  if (isLeonidasError(error)) return 'NETWORK';
  return error instanceof Error ? error.name : 'UNKNOWN';
}

export interface OperationSummary {
  name: string;
  count: number;
  errors: number;
  opsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface ErrorCount {
  operation: string;
  code: string;
  count: number;
  intended: boolean;
  /** One message seen, to tell what happened without a debugger. */
  example: string;
}

/**
 * Latencies of every call by operation (tRPC procedure, or a step such as the upload's POST to storage), and
 * errors by operation and code. Intended errors (the rate limit doing its job) are kept apart from the rest.
 */
export class Metrics {
  private readonly latencies = new Map<string, number[]>();
  private readonly errors = new Map<string, ErrorCount>();

  constructor(private readonly isIntended: (operation: string, code: string) => boolean) {}

  /** Times `call`, counts it under `operation`, and records a failure by its code before passing it on. */
  async time<T>(operation: string, call: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      const result = await call();
      this.latency(operation, performance.now() - started);
      return result;
    } catch (error) {
      this.error(operation, error);
      throw error;
    }
  }

  latency(operation: string, ms: number): void {
    const list = this.latencies.get(operation);
    if (list) list.push(ms);
    else this.latencies.set(operation, [ms]);
  }

  error(operation: string, error: unknown): void {
    const code = codeOf(error);
    const key = `${operation} ${code}`;
    const known = this.errors.get(key);
    if (known) known.count += 1;
    else
      this.errors.set(key, {
        operation,
        code,
        count: 1,
        intended: this.isIntended(operation, code),
        example: (error instanceof Error ? error.message : String(error)).slice(0, 200),
      });
  }

  errorCounts(): ErrorCount[] {
    return [...this.errors.values()].sort((a, b) => b.count - a.count);
  }

  unexpectedErrors(): number {
    return this.errorCounts()
      .filter((entry) => !entry.intended)
      .reduce((sum, entry) => sum + entry.count, 0);
  }

  summary(seconds: number): OperationSummary[] {
    const names = new Set([...this.latencies.keys(), ...[...this.errors.values()].map((e) => e.operation)]);
    return [...names].sort().map((name) => {
      const sorted = [...(this.latencies.get(name) ?? [])].sort((a, b) => a - b);
      const errors = [...this.errors.values()]
        .filter((entry) => entry.operation === name)
        .reduce((sum, entry) => sum + entry.count, 0);
      return {
        name,
        count: sorted.length,
        errors,
        opsPerSecond: sorted.length / seconds,
        p50Ms: percentile(sorted, 50),
        p99Ms: percentile(sorted, 99),
        maxMs: sorted.at(-1) ?? Number.NaN,
      };
    });
  }
}

/** Nearest-rank percentile of an ascending list. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}
