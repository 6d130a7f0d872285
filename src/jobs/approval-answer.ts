// A quarantine approval's answer (ApproveQuarantineResult less its run) rebuilt from the store, for
// a job handed on after its process died between the approval run's end and the job's completion
// (or an approval request sent again with the same job id after a lost response): the run is not
// done again (src/jobs/runner.ts), and the caller still gets what the first attempt answered.
// `skipped` is the run's journal: every held user an approval leaves as it was is journaled
// `skipped` with the reason and the quarantine's id; `notHeld` is the ids asked for that the run
// journaled nothing for; `quarantine` is the quarantine as it stands (as the first answer had it,
// unless someone decided more since).
import type { ApproveQuarantineResult } from '../engine/api.ts';
import type { RunRecord } from '../store/runs.ts';
import type { Store } from '../store/index.ts';
import { notFound } from '../store/quarantine.ts';

export async function approvalAnswerOf(store: Store, run: RunRecord, approval: { quarantineId: string; sourceIds?: string[] }): Promise<Omit<ApproveQuarantineResult, 'run'>> {
  const quarantine = await store.quarantines.get(approval.quarantineId);
  if (!quarantine) throw notFound(approval.quarantineId);
  const journaled = new Set<string>();
  const skipped: ApproveQuarantineResult['skipped'] = [];
  for (let offset = 0; ; offset += 1000) {
    const page = await store.runs.items(run.id, { offset, limit: 1000 });
    for (const i of page.items) {
      if (i.sourceId === null) continue;
      journaled.add(i.sourceId);
      if (i.operation === 'skipped' && i.targetId !== null && i.details?.quarantineId === approval.quarantineId) skipped.push({ sourceId: i.sourceId, targetId: i.targetId, note: i.error ?? '' });
    }
    if (page.items.length < 1000) break;
  }
  const notHeld = approval.sourceIds ? [...new Set(approval.sourceIds)].filter((id) => !journaled.has(id)) : [];
  return { quarantine, skipped, notHeld };
}
