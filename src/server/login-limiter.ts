// Slows down password guessing: after a few failed logins for one user name from one address,
// further attempts for that pair are refused for a while (429 with Retry-After); an address
// that fails across many names is stopped at a higher bar. In memory: a restart forgets it.
export interface LimiterOptions {
  /** Failures allowed per user name and address within the window. */
  maxFailures: number;
  /** Failures allowed per address, across all user names. */
  maxFailuresPerAddress: number;
  windowMs: number;
  now: () => number;
}

export class LoginLimiter {
  private readonly failures = new Map<string, number[]>();
  private readonly opts: LimiterOptions;

  constructor(opts: Partial<LimiterOptions> = {}) {
    const maxFailures = opts.maxFailures ?? 5;
    this.opts = { maxFailures, maxFailuresPerAddress: opts.maxFailuresPerAddress ?? maxFailures * 4, windowMs: opts.windowMs ?? 15 * 60_000, now: opts.now ?? Date.now };
  }

  /** Milliseconds to wait before this user name may be tried from this address; 0 when allowed. */
  retryAfterMs(username: string, address: string): number {
    const now = this.opts.now();
    let wait = 0;
    for (const [key, max] of this.keys(username, address)) {
      const recent = this.recent(key, now);
      if (recent.length >= max) wait = Math.max(wait, recent[recent.length - max]! + this.opts.windowMs - now);
    }
    return wait;
  }

  fail(username: string, address: string): void {
    const now = this.opts.now();
    for (const [key] of this.keys(username, address)) this.failures.set(key, [...this.recent(key, now), now]);
  }

  /** A good password clears the pair's failures (the address's count keeps running). */
  succeed(username: string, address: string): void {
    this.failures.delete(this.keys(username, address)[0]![0]);
  }

  private keys(username: string, address: string): Array<[string, number]> {
    return [
      [`pair:${username.toLowerCase()}|${address}`, this.opts.maxFailures],
      [`addr:${address}`, this.opts.maxFailuresPerAddress],
    ];
  }

  private recent(key: string, now: number): number[] {
    return (this.failures.get(key) ?? []).filter((t) => t > now - this.opts.windowMs);
  }
}
