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
