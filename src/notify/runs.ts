// Where a run's end becomes a notification: one wrapper around the engine, used by the server
// (every trigger: the API, the scheduler, the job queue go through its one engine, see
// src/server/app.ts) and by `idsync sync`. A run that failed is told once, after it ended, in the
// background: the run's result never waits for a channel and never fails because of one. A
// simulation is not told (whoever started it is looking at it), nor a trigger refused before its
// run was claimed (it never ran: the caller got the 409), nor a run stopped on purpose.
import { errorText } from '../core/errors.ts';
import type { SyncRequest, SyncResult } from '../engine/api.ts';
import type { RunRecord } from '../store/runs.ts';
import type { RunFailedEvent } from './events.ts';
import type { Notifier } from './notifier.ts';

/** The event for a run that ended failed or partial; undefined for any other end. */
export function runFailedEvent(run: RunRecord, connectorName?: string): RunFailedEvent | undefined {
  if (run.dryRun || (run.status !== 'failed' && run.status !== 'partial')) return undefined;
  const failed = run.counts?.failed ?? 0;
  return {
    kind: 'run-failed',
    connectorId: run.connectorId,
    ...(connectorName ? { connectorName } : {}),
    runId: run.id,
    runKind: run.kind,
    status: run.status,
    error: run.error ?? (run.status === 'partial' ? `${failed} user${failed === 1 ? '' : 's'} could not be synced; the run lists each with its reason` : 'the run failed'),
    ...(run.status === 'partial' ? { failedUsers: failed } : {}),
    startedAt: run.startedAt,
    finishedAt: run.finishedAt ?? new Date().toISOString(),
  };
}

/** Runs `run` (the engine's run of `req`) and tells the notifier when it failed. Returns or throws exactly what `run` does. */
export async function runAndNotify(notifier: Notifier | undefined, req: SyncRequest, run: (req: SyncRequest) => Promise<SyncResult>): Promise<SyncResult> {
  if (!notifier || notifier.channels.length === 0 || req.dryRun) return run(req);
  let claimed: RunRecord | undefined;
  const watched: SyncRequest = {
    ...req,
    onClaimed: (r) => {
      claimed ??= r;
      req.onClaimed?.(r);
    },
  };
  const tell = (r: RunRecord) => {
    // A run stopped on purpose (the server shutting down hands its job on; a cancel) is no failure to tell.
    if (req.signal?.aborted) return;
    try {
      const e = runFailedEvent(r, req.connector.name);
      if (e) notifier.notify(e);
    } catch {
      // Telling is best effort: the run's outcome is what the caller gets.
    }
  };
  let result: SyncResult;
  try {
    result = await run(watched);
  } catch (e) {
    if (claimed) tell({ ...claimed, status: 'failed', error: errorText(e), finishedAt: new Date().toISOString() });
    throw e;
  }
  tell(result.run);
  return result;
}

/** The engine (any object with the engine's `run`), telling the notifier of each run that failed. */
export function notifyingEngine<E extends { run(req: SyncRequest): Promise<SyncResult> }>(engine: E, notifier: Notifier): E {
  return { ...engine, run: (req: SyncRequest) => runAndNotify(notifier, req, (r) => engine.run(r)) };
}
