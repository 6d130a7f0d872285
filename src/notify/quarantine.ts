// The entry the quarantine code calls when it holds a cleanup: one call per quarantine created,
// after it is stored (so the link and the id lead somewhere). It returns at once and never
// throws: telling is in the background, and a channel that fails is logged, not raised.
import { SAMPLE_LIMIT, type QuarantineEvent } from './events.ts';
import type { Notifier } from './notifier.ts';

export interface QuarantineNotice {
  connectorId: string;
  connectorName?: string;
  runId: string;
  quarantineId: string;
  /** Why the cleanup was held, one sentence, e.g. "the read returned nobody while 120 users are linked". */
  reason: string;
  /** How many users the cleanup would have touched. */
  affected: number;
  /** Labels of users it would have touched (the first SAMPLE_LIMIT are sent). */
  sample: string[];
  /**
   * The quarantine's page, e.g. `notifier.linkTo('#/quarantines/' + id)` once the UI has one;
   * absent: the run's page (which says why the cleanup was held), when a public URL is set.
   */
  link?: string;
}

export function notifyQuarantine(notifier: Notifier | undefined, q: QuarantineNotice): void {
  if (!notifier) return;
  try {
    const event: QuarantineEvent = { kind: 'quarantine', ...q, sample: q.sample.slice(0, SAMPLE_LIMIT) };
    notifier.notify(event);
  } catch {
    // Best effort: holding the cleanup is what matters, and it is done.
  }
}
