// A single-user sync's report (SyncResult.user) rebuilt from its run's journal, for the answer of
// a job handed on after its process died between the run's end and the job's completion: the
// run is not done again (src/jobs/runner.ts), and its trigger still gets the report the first
// attempt would have given. The journal holds each target's outcome (operation, changes, error,
// how the user was matched and to which account); the mapped values are not journaled, so
// `mapped` is empty (a changed value is in its target's changes, before and after).
import type { UserSyncReport } from '../engine/api.ts';
import type { MatchedBy } from '../engine/matching.ts';
import type { RunItem, RunRecord } from '../store/runs.ts';
import type { Store } from '../store/index.ts';

/** A journal item of the cleanup of a user the identity provider no longer gives (not a projection of a found user). */
function isCleanup(i: RunItem): boolean {
  const d = i.details ?? {};
  return 'cleanup' in d || (typeof d.reason === 'string' && d.reason !== 'deactivated');
}

export function userReportFromItems(items: RunItem[]): UserSyncReport {
  const outside = items.find((i) => i.targetId === null && i.operation === 'skipped');
  const projected = items.filter((i) => i.targetId !== null && !isCleanup(i));
  const first = outside ?? projected[0] ?? items[0];
  const found = Boolean(outside) || projected.length > 0 || items.length === 0;
  const report: UserSyncReport = {
    found,
    ...(first?.sourceId ? { sourceId: first.sourceId } : {}),
    ...(first?.label ? { label: first.label } : {}),
    ...(outside?.error ? { outOfScope: outside.error } : {}),
    mapped: {},
    targets: [],
  };
  if (!found) return report;
  for (const i of projected) {
    const d = i.details ?? {};
    report.targets.push({
      targetId: i.targetId!,
      // An unchanged user linked as before is journaled without details (see the engine).
      matched: ((d.matched as MatchedBy | undefined) ?? 'link'),
      ...(typeof d.match === 'string' ? { match: d.match } : {}),
      ...(typeof d.targetKey === 'string' ? { targetKey: d.targetKey } : {}),
      operation: i.operation,
      changes: i.changes,
      ...(i.error ? { error: i.error } : {}),
    });
  }
  return report;
}

/** The report of an ended single-user run, from its stored items. */
export async function userReportOf(store: Store, run: RunRecord): Promise<UserSyncReport> {
  const { items } = await store.runs.items(run.id, { limit: 1000 });
  const report = userReportFromItems(items);
  // A user unchanged and linked as before is journaled without its account: its link has it.
  for (const t of report.targets) {
    if (t.targetKey || !report.sourceId) continue;
    const link = await store.links.get(run.connectorId, t.targetId, report.sourceId);
    if (link?.targetKey) t.targetKey = link.targetKey;
  }
  return report;
}
