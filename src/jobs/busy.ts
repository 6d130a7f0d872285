// What a trigger is told when a connector is busy: the run in progress (from the runs table, so
// whichever process runs it), in words an administrator can act on.
import type { RunRecord } from '../store/runs.ts';

export function runWhat(run: Pick<RunRecord, 'kind' | 'dryRun' | 'userRef'>): string {
  if (run.kind === 'user') return `a sync of user ${run.userRef}`;
  if (run.kind === 'cleanup') return 'a quarantine approval';
  if (run.kind === 'push') return 'a SCIM push';
  if (run.dryRun) return 'a simulation';
  return run.kind === 'incremental' ? 'an incremental sync' : 'a full sync';
}

/** "a full sync of connector X is running since T (started by ui); already running (run R, started T by pid P on host H)". */
export function busyText(run: RunRecord & { owner: string }): string {
  const user = run.kind === 'user' ? `user ${run.userRef}, ` : '';
  return `${runWhat(run)} of connector ${run.connectorId} is running since ${run.startedAt} (started by ${run.trigger}); already running (run ${run.id}, ${user}started ${run.startedAt} by ${run.owner})`;
}

/** A request (single-user sync, approval) in words. */
export function requestWhat(kind: string): string {
  return kind === 'cleanup' ? 'approval' : kind === 'user' ? 'user sync' : 'scheduled sync';
}
