// How the admin UI writes values and times, in one place so every page says "empty" and shows a
// date the same way.

/** A field's value before or after a change: a missing and a cleared value both read "(empty)". */
export function showValue(v: unknown): string {
  if (v === undefined || v === null || v === '') return EMPTY;
  return typeof v === 'string' ? v : JSON.stringify(v);
}

export const EMPTY = '(empty)';

/** What a mapping row yields for one user: nothing to write, a clear, or a value. */
export function showMapped(v: unknown): string {
  if (v === undefined) return '(left unchanged)';
  if (v === null) return '(cleared)';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** Every date and time on the UI, in the browser's locale: "1 Dec 2026, 09:02". */
export const fmtTime = (iso: string | null | undefined): string => (iso ? new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }) : 'never');

/** Who started a run, in words. */
export function triggerLabel(trigger: string): string {
  return ({ ui: 'admin UI', api: 'API token', cli: 'command line', schedule: 'schedule', demo: 'demo', bench: 'benchmark' } as Record<string, string>)[trigger] ?? trigger;
}

/**
 * What is wrong with an incremental sync interval as typed ('30s', '1m', '15m', '1h', or 'off'),
 * or undefined. The server's schema takes the same form; shorter than 10 s is refused here
 * because a change feed asked more often only burns the provider's rate limit.
 */
export function intervalProblem(text: string): string | undefined {
  const t = text.trim();
  if (t === '' || t === 'off') return undefined;
  const m = /^([1-9][0-9]*)(s|m|h)$/.exec(t);
  if (!m) return 'use a duration such as 30s, 1m, 15m or 1h, or off';
  const seconds = Number(m[1]) * { s: 1, m: 60, h: 3600 }[m[2] as 's' | 'm' | 'h'];
  return seconds < 10 ? 'at least 10s: a change feed asked more often only spends the rate limit' : undefined;
}
