// Cron schedules as an administrator reads them: validity, the pattern in words and the next
// three run times in the schedule's own time zone.
import { Cron } from 'croner';
import cronstrue from 'cronstrue';

export interface ScheduleDescription {
  valid: boolean;
  /** The pattern in words, e.g. "At 02:00, Monday through Friday (Europe/Berlin)". */
  text?: string;
  /** ISO timestamps of the next three runs. */
  next: string[];
  error?: string;
  /** The setting the error is about, so a form can show it there. */
  field?: 'cron' | 'timezone';
}

/** Why a cron pattern or time zone is not usable, or undefined when both are fine. */
export function scheduleProblem(cron: string, timezone: string): { field: 'cron' | 'timezone'; message: string } | undefined {
  try {
    new Intl.DateTimeFormat('en', { timeZone: timezone });
  } catch {
    return { field: 'timezone', message: `"${timezone}" is not a time zone; use an IANA name such as Europe/Berlin or UTC` };
  }
  // Croner also reads seconds, years, nicknames and "?" (the time of reading): accept only the
  // classic five fields the README documents, so a schedule means what an administrator expects.
  const fields = cron.trim().split(/\s+/);
  if (fields.length !== 5) {
    const seconds = fields.length === 6 ? ' (a first field for seconds is not supported)' : '';
    return { field: 'cron', message: `use 5 fields: minute hour day-of-month month day-of-week, e.g. "0 * * * *" for every hour; this has ${fields.length}${seconds}` };
  }
  if (cron.includes('?')) return { field: 'cron', message: '"?" is not supported; use "*"' };
  const never = { field: 'cron' as const, message: 'this schedule never runs: no date matches it (e.g. the 30th of February); check the day of the month and the month' };
  let next: Date[];
  try {
    next = new Cron(cron, { timezone, paused: true }).nextRuns(1);
  } catch (e) {
    // Croner searches for a matching date recursively; for some impossible dates (the 31st
    // of four 30-day months) it runs out of stack instead of answering none.
    if (e instanceof RangeError && /call stack/i.test(e.message)) return never;
    return { field: 'cron', message: `not a valid cron expression: ${(e as Error).message.replace(/^CronPattern:\s*/, '')}` };
  }
  return next.length === 0 ? never : undefined;
}

export function describeSchedule(cron: string, timezone: string, from = new Date()): ScheduleDescription {
  const problem = scheduleProblem(cron, timezone);
  if (problem) return { valid: false, next: [], error: problem.message, field: problem.field };
  let text: string;
  try {
    text = `${cronstrue.toString(cron, { use24HourTimeFormat: true, verbose: false })} (${timezone})`;
  } catch {
    text = `${cron} (${timezone})`;
  }
  const next = new Cron(cron, { timezone, paused: true }).nextRuns(3, from).map((d) => d.toISOString());
  return { valid: true, text, next };
}

/** The first slot after `since`, when it is not in the future: a run that was missed. */
export function missedSlot(cron: string, timezone: string, since: Date, now = new Date()): Date | undefined {
  const [slot] = new Cron(cron, { timezone, paused: true }).nextRuns(1, since);
  return slot && slot.getTime() <= now.getTime() ? slot : undefined;
}

/** The shortest incremental interval: below it the source's change feed is read more often than it changes. */
export const MIN_INCREMENTAL_MS = 10_000;

/** An incremental interval ("30s", "1m", "2h") in milliseconds, or undefined when it is not one. */
export function intervalMs(text: string): number | undefined {
  const m = /^([1-9][0-9]*)(s|m|h)$/.exec(text.trim());
  return m ? Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 's' | 'm' | 'h'] : undefined;
}

/** Why an incremental interval is not usable, or undefined when it is (false: turned off). */
export function incrementalProblem(value: string | false): string | undefined {
  if (value === false) return undefined;
  const ms = intervalMs(value);
  if (ms === undefined) return `"${value}" is not an interval; use a duration such as 30s, 1m, 15m or 1h, or false to turn incremental sync off`;
  if (ms < MIN_INCREMENTAL_MS) return `an incremental sync every ${value} is too often; use at least 10s (the default is 1m)`;
  return undefined;
}

/**
 * The interval slot a time falls in: slots are aligned to the epoch, so every idsync process
 * sharing a store computes the same ones (and claims each once, see src/jobs/slots.ts).
 */
export function intervalSlot(ms: number, at: Date): Date {
  return new Date(Math.floor(at.getTime() / ms) * ms);
}
