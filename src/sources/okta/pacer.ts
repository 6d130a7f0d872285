// Okta's rate limits, honoured before they bite: every answer says the endpoint's budget
// (X-Rate-Limit-Limit), what is left (-Remaining) and when the window starts again (-Reset,
// UTC epoch seconds). Once what is left falls to the reserve, the next request of that
// endpoint waits for the reset instead of spending the rest; other integrations share the
// budget. A 429 (E0000047, no Retry-After) waits for the reset too.
import type { HttpResponse } from '../../core/http.ts';

interface Window {
  limit: number;
  remaining: number;
  /** Epoch ms at which the window starts again. */
  resetAt: number;
}

/** Okta's limits are per endpoint: ids in the path are one endpoint. */
export function endpointOf(url: string): string {
  const path = new URL(url, 'https://x').pathname;
  return path.split('/').map((s) => (/^(00[a-z0-9]{18}|0o[a-z0-9]+)$/i.test(s) || s.includes('@') ? '{id}' : s)).join('/');
}

function header(h: HttpResponse['headers'], name: string): number | undefined {
  const v = h[name];
  const n = Number(Array.isArray(v) ? v[0] : v);
  return v === undefined || !Number.isFinite(n) ? undefined : n;
}

export class RatePacer {
  private readonly windows = new Map<string, Window>();
  /** Waits taken before a request (tests and run summaries). */
  waits = 0;
  waitedMs = 0;

  constructor(
    /** Share (0..0.9) of each limit left unused. */
    private readonly reserve: number,
    private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>,
    /** Longest wait for a reset; longer ones mean the clocks disagree, and waiting is pointless. */
    private readonly maxWaitMs = 65_000,
  ) {}

  /** Waits, when the endpoint's budget is down to the reserve, until its window resets. */
  async ready(endpoint: string, signal?: AbortSignal): Promise<void> {
    const w = this.windows.get(endpoint);
    if (!w) return;
    const keep = Math.max(1, Math.floor(w.limit * this.reserve));
    const now = Date.now();
    if (w.remaining > keep || now >= w.resetAt) return;
    const ms = Math.min(this.maxWaitMs, w.resetAt - now + 50);
    this.waits++;
    this.waitedMs += ms;
    await this.sleep(ms, signal);
    // The window restarted: the next answer tells its new budget.
    w.remaining = w.limit;
  }

  /** Learns the endpoint's window from an answer's headers. */
  observe(endpoint: string, headers: HttpResponse['headers']): void {
    const limit = header(headers, 'x-rate-limit-limit');
    const remaining = header(headers, 'x-rate-limit-remaining');
    const reset = header(headers, 'x-rate-limit-reset');
    if (limit === undefined || remaining === undefined || reset === undefined) return;
    this.windows.set(endpoint, { limit, remaining, resetAt: reset * 1000 });
  }

  /** How long to wait after a 429: until the reset it names, or a second. */
  afterTooMany(headers: HttpResponse['headers']): number {
    const reset = header(headers, 'x-rate-limit-reset');
    return Math.min(this.maxWaitMs, Math.max(200, reset === undefined ? 1000 : reset * 1000 - Date.now() + 50));
  }
}
