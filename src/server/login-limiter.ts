// Slows down password guessing without letting one client lock others out:
// - one user name from one address: after a few failures that pair is refused until the window
//   has passed (429 with Retry-After); other names from that address, and that name from other
//   addresses, are not affected;
// - one user name from any address (guessing spread over many addresses): past a higher count
//   each further attempt waits, 1 s, 2 s, 4 s ... up to a minute, instead of a hard lock;
// - one address across many user names, with the same backoff, only when addresses are the
//   clients' own (trustProxy set): behind a proxy that is not trusted every client has the
//   proxy's address, and ~20 bad logins there used to lock every account out.
// In memory: a restart forgets it.
export interface LimiterOptions {
  /** Failures allowed per user name and address within the window. */
  maxFailures: number;
  windowMs: number;
  /** Failures of one user name (any address) within the window before attempts back off. */
  backoffAfter: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Whether an address failing across user names backs off too (addresses are the clients'). */
  perAddress: boolean;
  /** Failures of one address across user names before its attempts back off. */
  backoffAfterPerAddress: number;
  /** How many names and addresses are remembered at most (a spray of names cannot fill memory). */
  maxKeys: number;
  now: () => number;
}

export class LoginLimiter {
  private readonly failures = new Map<string, number[]>();
  private readonly opts: LimiterOptions;

  constructor(opts: Partial<LimiterOptions> = {}) {
    const maxFailures = opts.maxFailures ?? 5;
    const backoffAfter = opts.backoffAfter ?? maxFailures * 2;
    this.opts = {
      maxFailures,
      windowMs: 15 * 60_000,
      backoffAfter,
      backoffBaseMs: 1000,
      backoffMaxMs: 60_000,
      perAddress: false,
      backoffAfterPerAddress: backoffAfter * 2,
      maxKeys: 100_000,
      now: Date.now,
      ...opts,
    };
  }

  /** Milliseconds to wait before this user name may be tried from this address; 0 when allowed. */
  retryAfterMs(username: string, address: string): number {
    const now = this.opts.now();
    const { pair, name, addr } = this.keys(username, address);
    let wait = 0;
    const tries = this.recent(pair, now);
    if (tries.length >= this.opts.maxFailures) wait = tries[tries.length - this.opts.maxFailures]! + this.opts.windowMs - now;
    wait = Math.max(wait, this.backoff(this.recent(name, now), this.opts.backoffAfter, now));
    if (this.opts.perAddress) wait = Math.max(wait, this.backoff(this.recent(addr, now), this.opts.backoffAfterPerAddress, now));
    return Math.max(0, wait);
  }

  fail(username: string, address: string): void {
    const now = this.opts.now();
    for (const key of Object.values(this.keys(username, address))) {
      const kept = this.recent(key, now);
      this.failures.delete(key); // re-inserted last: the map's order is oldest first
      this.failures.set(key, [...kept, now]);
    }
    this.forgetOldest();
  }

  /** A good password clears the name's failures (the address's count keeps running). */
  succeed(username: string, address: string): void {
    const { pair, name } = this.keys(username, address);
    this.failures.delete(pair);
    this.failures.delete(name);
  }

  /** After `after` failures: base, 2 × base, 4 × base ... (capped) from the last failure. */
  private backoff(times: number[], after: number, now: number): number {
    if (times.length < after) return 0;
    const delay = Math.min(this.opts.backoffBaseMs * 2 ** Math.min(times.length - after, 30), this.opts.backoffMaxMs);
    return times[times.length - 1]! + delay - now;
  }

  private keys(username: string, address: string) {
    const name = username.toLowerCase();
    return { pair: `pair:${name}|${address}`, name: `name:${name}`, addr: `addr:${address}` };
  }

  private recent(key: string, now: number): number[] {
    return (this.failures.get(key) ?? []).filter((t) => t > now - this.opts.windowMs);
  }

  private forgetOldest(): void {
    for (const key of this.failures.keys()) {
      if (this.failures.size <= this.opts.maxKeys) return;
      this.failures.delete(key);
    }
  }
}
