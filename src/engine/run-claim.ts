// Claiming a run of a connector in the store: the one place that decides whether a sync starts
// now, waits for the run in progress, or is refused. The store's unique index makes the claim
// hold across every idsync process sharing it; a run whose process died is cleared by the store
// (see RunRepo.create), so a crash never blocks a connector.
import { setTimeout as sleep } from 'node:timers/promises';
import { IdsyncError, isIdsyncError } from '../core/errors.ts';
import { newRunId, type RunRecord, type RunRepo } from '../store/runs.ts';
import type { SyncRequest } from './api.ts';

/**
 * How long a single-user sync waits for a run of its connector to end before it is refused
 * (in the server's queue and across processes together). Below the 60 s a reverse proxy
 * commonly allows a request. A full sync never waits: it is refused at once.
 */
export const USER_SYNC_WAIT_MS = 30_000;

/** How often a waiting sync looks again whether another process's run has ended. */
const RETRY_MS = 250;

/** A wait as a person reads it: "30 s", "0.6 s". */
export function waitText(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

/** The wait a request gets: its own, or the policy for its kind. */
export function claimWaitMs(req: Pick<SyncRequest, 'kind' | 'claimWaitMs'>): number {
  return Math.max(0, req.claimWaitMs ?? (req.kind === 'user' ? USER_SYNC_WAIT_MS : 0));
}

/**
 * Claims the run for `req`, waiting (up to claimWaitMs) while another run of the connector is
 * in progress, then refusing with a CONFLICT that names the running run.
 */
export async function claimRun(runs: RunRepo, req: SyncRequest): Promise<RunRecord> {
  const waitMs = claimWaitMs(req);
  const deadline = Date.now() + waitMs;
  let waitingSaid = false;
  for (;;) {
    try {
      const run = await runs.create({
        id: newRunId(),
        connectorId: req.connector.id,
        kind: req.kind,
        dryRun: req.dryRun ?? false,
        reconcile: req.reconcile ?? false,
        trigger: req.trigger,
        userRef: req.userRef ?? null,
        startedAt: new Date().toISOString(),
      });
      req.onClaimed?.(run);
      return run;
    } catch (e) {
      if (!isIdsyncError(e, 'CONFLICT')) throw e;
      if (Date.now() + RETRY_MS > deadline || req.signal?.aborted) {
        if (waitMs === 0) throw e;
        throw new IdsyncError('CONFLICT', `${e.message}; this ${req.kind === 'user' ? 'user sync' : 'sync'} waited ${waitText(waitMs)} for it to end`, {
          hint: 'try again when it has finished; runs of one connector never overlap',
        });
      }
      if (!waitingSaid) req.onWaiting?.(`${e.message}; waiting up to ${waitText(waitMs)} for it to end`);
      waitingSaid = true;
      await sleep(RETRY_MS, undefined, req.signal ? { signal: req.signal } : {}).catch(() => undefined);
    }
  }
}
