// OneLogin's account-wide hourly API budget, honoured before it runs out: every answer says
// the limit (X-RateLimit-Limit), what is left this hour (-Remaining) and the seconds until
// the hour starts again (-Reset, seconds, not a timestamp). Once what is left falls to the
// configured floor ("keep at least N API calls per hour"), the next call waits for the reset
// and says so through `notice`, since a wait may last most of an hour. A 429 waits likewise.
import type { HttpResponse } from '../../core/http.ts';

function header(h: HttpResponse['headers'], name: string): number | undefined {
  const v = h[name];
  const n = Number(Array.isArray(v) ? v[0] : v);
  return v === undefined || v === '' || !Number.isFinite(n) ? undefined : n;
}

export interface PacerWait {
  ms: number;
  remaining: number;
  reason: 'floor' | '429';
}

export class HourlyPacer {
  private remaining?: number;
  private limit?: number;
  /** Epoch ms at which the hour's budget starts again. */
  private resetAt = 0;
  readonly waits: PacerWait[] = [];

  constructor(
    private readonly keep: number,
    private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>,
    private readonly notice: (message: string) => void,
  ) {}

  /** Learns the hour's budget from an answer. */
  observe(headers: HttpResponse['headers']): void {
    const remaining = header(headers, 'x-ratelimit-remaining');
    const reset = header(headers, 'x-ratelimit-reset');
    if (remaining === undefined || reset === undefined) return;
    this.remaining = remaining;
    this.limit = header(headers, 'x-ratelimit-limit') ?? this.limit;
    this.resetAt = Date.now() + reset * 1000;
  }

  /** Waits until the hour resets when what is left is down to the floor. */
  async ready(signal?: AbortSignal): Promise<void> {
    if (this.remaining === undefined || this.remaining > this.keep || Date.now() >= this.resetAt) return;
    await this.wait('floor', signal);
  }

  /** After a 429: waits for the reset the answer names (a second when it names none). */
  async tooMany(headers: HttpResponse['headers'], signal?: AbortSignal): Promise<void> {
    this.observe(headers);
    if (header(headers, 'x-ratelimit-reset') === undefined) this.resetAt = Date.now() + 1000;
    await this.wait('429', signal);
  }

  private async wait(reason: PacerWait['reason'], signal?: AbortSignal): Promise<void> {
    const ms = Math.max(50, this.resetAt - Date.now() + 50);
    const left = this.remaining ?? 0;
    this.waits.push({ ms, remaining: left, reason });
    const until = new Date(Date.now() + ms).toISOString().slice(11, 19);
    this.notice(
      reason === 'floor'
        ? `OneLogin: ${left} API calls left this hour${this.limit ? ` of ${this.limit}` : ''}, and the connector keeps at least ${this.keep}: waiting ${Math.ceil(ms / 1000)} s, until ${until} UTC, for the hourly limit to reset`
        : `OneLogin answered 429 (hourly API limit spent): waiting ${Math.ceil(ms / 1000)} s, until ${until} UTC`,
    );
    await this.sleep(ms, signal);
    // A new hour: its first answer tells the new budget.
    this.remaining = undefined;
  }
}
