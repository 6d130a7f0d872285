// Okta's per-endpoint rate limits: each endpoint family has a budget of requests per window
// (a minute in Okta). Every answer carries X-Rate-Limit-Limit, -Remaining and -Reset (UTC epoch
// seconds at which the window starts again); past the budget Okta answers 429 E0000047 until
// Reset, without Retry-After. The window is shortened in tests through `windowSeconds`.

export interface RateLimitSettings {
  /** Requests per window per bucket (Okta: e.g. 600/min for GET /api/v1/users in many orgs). */
  limit: number;
  windowSeconds: number;
}

export const DEFAULT_RATE_LIMIT: RateLimitSettings = { limit: 600, windowSeconds: 60 };

/** The bucket an API path counts against: Okta sets its limits per endpoint (ids in the path are one endpoint). */
export function bucketOf(path: string): string {
  return path
    .split('/')
    .map((s) => (/^00[a-z0-9]{18}$/i.test(s) || s.includes('@') ? '{id}' : s))
    .join('/');
}

export class OktaRateLimiter {
  settings: RateLimitSettings;
  private windows = new Map<string, { start: number; used: number }>();
  limited = 0;

  constructor(settings: RateLimitSettings = DEFAULT_RATE_LIMIT) {
    this.settings = { ...settings };
  }

  configure(s: Partial<RateLimitSettings>): void {
    this.settings = { ...this.settings, ...s };
    this.windows.clear();
  }

  /** Counts a request: its headers, and whether it is over the budget. */
  take(path: string, now = Date.now()): { allowed: boolean; headers: Record<string, string> } {
    const key = bucketOf(path);
    const windowMs = this.settings.windowSeconds * 1000;
    let w = this.windows.get(key);
    if (!w || now >= w.start + windowMs) {
      w = { start: now, used: 0 };
      this.windows.set(key, w);
    }
    const allowed = w.used < this.settings.limit;
    if (allowed) w.used++;
    else this.limited++;
    const headers = {
      'x-rate-limit-limit': String(this.settings.limit),
      'x-rate-limit-remaining': String(Math.max(0, this.settings.limit - w.used)),
      'x-rate-limit-reset': String(Math.ceil((w.start + windowMs) / 1000)),
    };
    return { allowed, headers };
  }
}
