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
  try {
    new Cron(cron, { timezone, paused: true }).nextRuns(1);
  } catch (e) {
    return { field: 'cron', message: `not a valid cron expression: ${(e as Error).message.replace(/^CronPattern:\s*/, '')}` };
  }
  return undefined;
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
