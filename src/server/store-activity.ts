// What the store knows of the runs in progress, whichever idsync instance performs them: the
// runs table has every running run (one per connector, by its unique index) with the counts its
// owner last sent with its heartbeat (src/store/runs.ts, every HEARTBEAT_MS). A process's own
// bus knows its own runs live, and the others' only from the events relayed since it listens
// (run-event-relay.ts); what it started too late to hear, or missed while its LISTEN connection
// was down, is read here. One place turns a run record into the live view's shape, for the
// triggers' answers (src/jobs/triggers.ts), the event stream's first snapshot (routes-events.ts)
// and the relay's resynchronisation.
import type { SyncProgress, Trigger } from '../engine/api.ts';
import type { Store } from '../store/index.ts';
import type { RunRecord } from '../store/runs.ts';
import type { ConnectorActivity, ProgressBus, RunFinished } from './progress-bus.ts';
import type { ActiveRun } from './run-coordinator.ts';

/** A run's progress as far as its record tells (its owner's last heartbeat): never its phase beyond "reading". */
export function progressOf(run: RunRecord): SyncProgress {
  const c = run.counts;
  return {
    phase: c.read > 0 ? 'reading' : 'connecting',
    read: c.read,
    planned: c.created + c.updated + c.unchanged + c.failed + c.skipped,
    written: c.usersWritten,
    failed: c.failed,
  };
}

/** What the activity view shows of a run claimed on any process (this process knows its live progress only for its own). */
export function activeOf(run: RunRecord): ActiveRun & { runId: string } {
  return {
    connectorId: run.connectorId,
    kind: run.kind,
    dryRun: run.dryRun,
    trigger: run.trigger as Trigger,
    ...(run.userRef ? { userRef: run.userRef } : {}),
    startedAt: run.startedAt,
    runId: run.id,
    progress: progressOf(run),
  };
}

/** A run's end as its record tells it (the error cut to `maxError` characters, when given). */
export function finishedOf(run: RunRecord, maxError?: number): RunFinished {
  const error = run.error && maxError && run.error.length > maxError ? `${run.error.slice(0, maxError)}…` : run.error;
  return {
    type: 'run-finished', connectorId: run.connectorId, runId: run.id, kind: run.kind, dryRun: run.dryRun,
    status: run.status, finishedAt: run.finishedAt ?? new Date().toISOString(), ...(error ? { error } : {}), counts: run.counts,
  };
}

/** The further of two reports of one run's progress: a count never goes back (a heartbeat lags the live events). */
export function furthest(a: SyncProgress, b: SyncProgress): SyncProgress {
  const ahead = b.read + b.planned + b.written + b.failed > a.read + a.planned + a.written + a.failed;
  return {
    phase: ahead && a.phase === 'connecting' ? b.phase : a.phase,
    read: Math.max(a.read, b.read),
    planned: Math.max(a.planned, b.planned),
    written: Math.max(a.written, b.written),
    failed: Math.max(a.failed, b.failed),
  };
}

/**
 * What a client connecting now must know first: the bus's memory (this process's runs, and the
 * others' relayed since it listens) with every run in progress in the store. The store decides
 * which run of a connector is in progress (the bus may not have heard of it, or may still show
 * one that ended unheard); the bus's live progress of a run wins over its record's older counts.
 */
export async function activitySnapshot(store: Store, bus: ProgressBus, connectorId?: string): Promise<ConnectorActivity[]> {
  const seen = new Map(bus.snapshot(connectorId).map((c) => [c.connectorId, c]));
  for (const run of await store.runs.inProgress(connectorId)) {
    const c = seen.get(run.connectorId) ?? { connectorId: run.connectorId };
    const fromStore = activeOf(run);
    c.active = c.active?.runId === run.id ? { ...c.active, progress: furthest(c.active.progress, fromStore.progress) } : fromStore;
    seen.set(run.connectorId, c);
  }
  return [...seen.values()];
}
