/**
 * Slows down guessing the admin token at the console's sign-in: after `maxFailures` wrong tokens
 * from one address within `windowMs`, that address is refused (even with the right token) until the
 * window that began with its first failure ends. A right token resets the count.
 *
 * Kept in the process's memory: each API process throttles on its own, which bounds guessing to
 * `maxFailures` per window per process, enough against a 48-character token. The map is bounded:
 * expired entries go on every check, and past `maxTracked` addresses the oldest window is dropped.
 */
export interface SignInThrottleOptions {
  maxFailures: number;
  windowMs: number;
  maxTracked?: number;
  now?: () => number;
}

interface Window {
  startedAt: number;
  failures: number;
}

export class SignInThrottle {
  private readonly windows = new Map<string, Window>();
  private readonly now: () => number;
  private readonly maxTracked: number;

  constructor(private readonly options: SignInThrottleOptions) {
    this.now = options.now ?? Date.now;
    this.maxTracked = options.maxTracked ?? 10_000;
  }

  /** Milliseconds until `address` may try again; 0 when it may try now. */
  retryAfterMs(address: string): number {
    this.dropExpired();
    const window = this.windows.get(address);
    if (!window || window.failures < this.options.maxFailures) return 0;
    return Math.max(0, window.startedAt + this.options.windowMs - this.now());
  }

  recordFailure(address: string): void {
    const window = this.windows.get(address);
    if (window) {
      window.failures += 1;
      return;
    }
    if (this.windows.size >= this.maxTracked) {
      // Maps iterate in insertion order: the first key holds the oldest window.
      const oldest = this.windows.keys().next().value;
      if (oldest !== undefined) this.windows.delete(oldest);
    }
    this.windows.set(address, { startedAt: this.now(), failures: 1 });
  }

  recordSuccess(address: string): void {
    this.windows.delete(address);
  }

  private dropExpired(): void {
    const cutoff = this.now() - this.options.windowMs;
    for (const [address, window] of this.windows) {
      if (window.startedAt > cutoff) break;
      this.windows.delete(address);
    }
  }
}
