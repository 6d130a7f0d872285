// Joins the engine's quarantine hook (src/engine/quarantine.ts) to the notifier: one message per
// quarantine the engine stored, linking to its page in the UI when a public URL is configured.
import type { EngineDeps } from '../engine/quarantine.ts';
import type { Notifier } from './notifier.ts';
import { notifyQuarantine } from './quarantine.ts';

export function quarantineNotifier(notifier: Notifier): NonNullable<EngineDeps['onQuarantine']> {
  return (q) =>
    notifyQuarantine(notifier, {
      connectorId: q.connectorId,
      runId: q.runId,
      quarantineId: q.id,
      reason: q.message,
      affected: q.affected,
      sample: q.sample,
      link: notifier.linkTo(`#/quarantines/${encodeURIComponent(q.id)}`),
    });
}
