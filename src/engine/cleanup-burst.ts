// The deletion safety over a burst, not only over one run: pushed SCIM removals and incremental
// runs come in many small runs (a provisioning cycle of DELETEs is batched every few hundred
// ms), so a threshold judged per run alone would let a mass removal through in slices. The
// cleanup's threshold (engine cleanup()) therefore counts what this run would change plus the
// accounts the connector's recent runs already removed in the target: the cleanups' disables,
// deletions and pseudonyms, and the deactivations the mapping wrote (`user.active` true →
// false, counted `deactivated`, see deactivation-guard.ts). Both are account removals, judged
// by one threshold. Group memberships go the same way, per group: the group-removal guard
// (group-removal-guard.ts) counts the members the recent runs' mapped writes removed from a group
// (counts `groupsRemoved`, journal.ts) with this run's removals from it. Approvals of a
// quarantine (runs of kind `cleanup`) do not count: an administrator accepted those. Account
// removals still held by the connector's open quarantines of the window do count
// (HELD_REMOVAL_STEPS, QuarantineRepo.heldRemovalsSince): a mass removal held at 09:00 is a burst
// under way, so more of it at 09:20 is held too instead of passing in slices under the threshold;
// once the quarantine is approved or rejected, its users no longer count.
// The window is wall-clock time, as runs' startedAt is (not the engine's injectable clock).
import type { RunRecord } from '../store/runs.ts';
import { DAMAGING_STEPS } from './cleanup-policy.ts';

/** How far back earlier cleanups count towards the threshold. */
export const BURST_WINDOW_MS = 60 * 60 * 1000;

/** The planned steps of a held quarantine row that are account removals (the cleanup's damaging steps and the mapping's deactivation; not `keep`, nor a group removal). */
export const HELD_REMOVAL_STEPS: readonly string[] = [...DAMAGING_STEPS, 'deactivate'];

interface RunLister {
  list(opts: { connectorId?: string; limit?: number; offset?: number }): Promise<RunRecord[]>;
}

type TargetCounts = NonNullable<RunRecord['counts']['targets']>[string];

/** Visits the counts in `targetId` of the connector's runs started since `since` that count towards a burst: not `exceptRun`, not approvals (kind `cleanup`), not dry runs. */
async function eachRecent(runs: RunLister, connectorId: string, targetId: string, since: Date, exceptRun: string, visit: (c: Partial<TargetCounts>) => void): Promise<void> {
  for (let offset = 0; ; offset += 200) {
    const page = await runs.list({ connectorId, limit: 200, offset });
    for (const r of page) {
      if (Date.parse(r.startedAt) < since.getTime()) return;
      if (r.id === exceptRun || r.kind === 'cleanup' || r.dryRun) continue;
      const c = r.counts.targets?.[targetId] ?? (r.counts.targets ? undefined : r.counts);
      if (c) visit(c);
    }
    if (page.length < 200) return;
  }
}

/** Accounts disabled, deleted, anonymised or deactivated in `targetId` by the connector's runs started since `since` (but `exceptRun`). */
export async function recentRemovals(runs: RunLister, connectorId: string, targetId: string, since: Date, exceptRun: string): Promise<number> {
  let total = 0;
  await eachRecent(runs, connectorId, targetId, since, exceptRun, (c) => {
    total += (c.disabled ?? 0) + (c.deleted ?? 0) + (c.anonymised ?? 0) + (c.deactivated ?? 0);
  });
  return total;
}

/**
 * Members removed from each group of `targetId` (lower-case name → count) by the mapped writes of
 * the connector's runs started since `since` (but `exceptRun`): the group-removal guard's burst.
 */
export async function recentGroupRemovals(runs: RunLister, connectorId: string, targetId: string, since: Date, exceptRun: string): Promise<Map<string, number>> {
  const total = new Map<string, number>();
  await eachRecent(runs, connectorId, targetId, since, exceptRun, (c) => {
    for (const [g, n] of Object.entries(c.groupsRemoved ?? {})) total.set(g, (total.get(g) ?? 0) + n);
  });
  return total;
}
