// The deletion safety over a burst, not only over one run: pushed SCIM removals and incremental
// runs come in many small runs (a provisioning cycle of DELETEs is batched every few hundred
// ms), so a threshold judged per run alone would let a mass removal through in slices. The
// cleanup's threshold (engine cleanup()) therefore counts what this run would change plus the
// accounts the connector's recent runs already removed in the target: the cleanups' disables,
// deletions and pseudonyms, and the deactivations the mapping wrote (`user.active` true →
// false, counted `deactivated`, see deactivation-guard.ts). Both are account removals, judged
// by one threshold. Approvals of a quarantine (runs of kind `cleanup`) do not count: an
// administrator accepted those.
// The window is wall-clock time, as runs' startedAt is (not the engine's injectable clock).
import type { RunRecord } from '../store/runs.ts';

/** How far back earlier cleanups count towards the threshold. */
export const BURST_WINDOW_MS = 60 * 60 * 1000;

interface RunLister {
  list(opts: { connectorId?: string; limit?: number; offset?: number }): Promise<RunRecord[]>;
}

/** Accounts disabled, deleted, anonymised or deactivated in `targetId` by the connector's runs started since `since` (but `exceptRun`). */
export async function recentRemovals(runs: RunLister, connectorId: string, targetId: string, since: Date, exceptRun: string): Promise<number> {
  let total = 0;
  for (let offset = 0; ; offset += 200) {
    const page = await runs.list({ connectorId, limit: 200, offset });
    for (const r of page) {
      if (Date.parse(r.startedAt) < since.getTime()) return total;
      if (r.id === exceptRun || r.kind === 'cleanup' || r.dryRun) continue;
      const c = r.counts.targets?.[targetId] ?? (r.counts.targets ? undefined : r.counts);
      total += (c?.disabled ?? 0) + (c?.deleted ?? 0) + (c?.anonymised ?? 0) + (c?.deactivated ?? 0);
    }
    if (page.length < 200) return total;
  }
}
