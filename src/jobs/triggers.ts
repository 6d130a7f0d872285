// The triggers of the API and the UI (full sync, simulation, incremental sync, single-user sync,
// quarantine approval) as jobs on the same queue as the schedules, and the answer each trigger
// waits for. The job may run on any idsync process sharing the store; the answer comes back
// through the store, not through this process's memory:
//
// - "claimed" is a run in the runs table carrying the job's id (runs.job_id, set by the runner
//   right after the claim): a full sync or simulation answers 202 with it;
// - the result is the job's output (JobOutput, kept with the job: pg-boss's output column on
//   PostgreSQL, in memory on SQLite): a single-user sync's report, an approval's answer, or the
//   HTTP refusal the job ended with (409 naming the run in progress, ...).
//
// This process polls both (every POLL_MS) until the answer is there or the wait is over. A
// request's wait is bounded by the deadline it carries (waitMs, 30 s by default); one still
// waiting in the queue after it (plus the time to be taken) is withdrawn and refused, so it never
// runs after its caller was told no. A full sync or simulation must start at once: one that
// finds a run going is refused with 409 naming it, and one not claimed within START_WITHIN_MS is
// withdrawn (or refused by the runner, which does not start it late).
import type { ConnectorConfig } from '../config/schema.ts';
import type { RunKind } from '../core/types.ts';
import type { ApproveQuarantineResult, SyncResult, Trigger } from '../engine/api.ts';
import { waitText } from '../engine/run-claim.ts';
import type { Store } from '../store/index.ts';
import type { RunRecord } from '../store/runs.ts';
import { HttpError } from '../server/routes.ts';
import { USER_SYNC_QUEUE, type ActiveRun, type FinishedRun, type RunCoordinator, type StartRequest, type UserSyncQueuePolicy } from '../server/run-coordinator.ts';
import { activeOf } from '../server/store-activity.ts';
import { busyText, requestWhat } from './busy.ts';
import { laneOf, type JobLane, type JobQueue, type JobRef, type RunJob } from './types.ts';

/** How long a full sync or simulation may take to be claimed (taken by some process, its run created). */
export const START_WITHIN_MS = 10_000;
/** Beyond a request's own wait: the time for a process to take its job (pg-boss polls every 2 s). */
const PICKUP_GRACE_MS = 5_000;
/** Longest wait for a request's result once its run is claimed (a single-user sync takes seconds). */
const RESULT_WITHIN_MS = 15 * 60_000;

export interface TriggerRequest {
  connector: ConnectorConfig;
  kind: RunKind;
  dryRun?: boolean;
  userRef?: string;
  trigger: Trigger;
  /** Kind 'push' only (not a job: see start). */
  push?: StartRequest['push'];
}

export interface ApprovalTrigger {
  connector: ConnectorConfig;
  quarantineId: string;
  sourceIds?: string[];
  by: string | null;
  trigger: Trigger;
}

export interface Activity {
  active?: ActiveRun;
  last?: FinishedRun;
  /** Jobs of the connector waiting for their turn (every process): queued, or taken and waiting for the run in progress. */
  queued?: number;
}

export class RunTriggers {
  private stopping = new AbortController();
  /** The jobs whose triggers wait here for their answer. */
  private readonly pending = new Set<JobRef>();

  constructor(
    private readonly store: Store,
    private readonly queue: JobQueue,
    private readonly runs: RunCoordinator,
    private readonly policy: UserSyncQueuePolicy = USER_SYNC_QUEUE,
  ) {}

  private get pollMs(): number {
    return this.queue.kind === 'pg-boss' ? 200 : 25;
  }

  /**
   * Runs a sync and returns its result: a single-user sync waits its turn behind the run in
   * progress; any other kind must start at once. Kind 'push' (inbound SCIM, src/sources/scim/
   * push.ts) is no job: it carries the pushed users and runs in the process that took them,
   * claimed in the runs table like any run.
   */
  async start(req: TriggerRequest): Promise<SyncResult> {
    if (req.kind === 'push') return this.runs.start({ ...req, claimWaitMs: 0 });
    const ref = req.kind === 'user' ? await this.enqueueRequest(req) : await this.enqueueRun(req);
    if (req.kind !== 'user') await this.claimOf(ref, req.kind);
    const out = await this.outputOf(ref, req.kind);
    const run = await this.store.runs.get(out.runId!);
    if (!run) throw new HttpError(500, `the run ${out.runId} of the job is missing from the run history`);
    return { run, ...(out.user ? { user: out.user as SyncResult['user'] } : {}) };
  }

  /** Starts a full sync, incremental sync or simulation; answers once its run is claimed (202), or refuses (409). */
  async startInBackground(req: TriggerRequest): Promise<ActiveRun> {
    const ref = await this.enqueueRun(req);
    return this.claimOf(ref, req.kind);
  }

  /** Approves a quarantine in a job of the connector (a request: it waits its turn like a user sync). */
  async approve(req: ApprovalTrigger): Promise<ApproveQuarantineResult> {
    const ref = await this.enqueueRequest({ connector: req.connector, kind: 'cleanup', trigger: req.trigger }, { quarantineId: req.quarantineId, ...(req.sourceIds ? { sourceIds: req.sourceIds } : {}), by: req.by });
    const out = await this.outputOf(ref, 'cleanup');
    const run = await this.store.runs.get(out.runId!);
    if (!run) throw new HttpError(500, `the run ${out.runId} of the approval is missing from the run history`);
    return { run, ...(out.approval as Omit<ApproveQuarantineResult, 'run'>) };
  }

  /** The connector's run active in this process, its last end here, and what waits (every process). */
  async activity(connectorId: string): Promise<Activity> {
    const local = this.runs.activity(connectorId);
    const queued = await this.waiting(connectorId);
    return { ...local, ...(queued ? { queued } : {}) };
  }

  /** What keeps a connector busy, on any process: its run in progress or a job of it; undefined when idle. */
  async busy(connectorId: string): Promise<string | undefined> {
    const run = await this.store.runs.active(connectorId);
    if (run) return `${busyText(run)}`;
    const jobs = (await this.queue.depth())[connectorId];
    if (jobs && jobs.waiting + jobs.active > 0) return `${jobs.active ? `${jobs.active} job(s) of this connector are starting` : ''}${jobs.active && jobs.waiting ? ' and ' : ''}${jobs.waiting ? `${jobs.waiting} job(s) are waiting to start` : ''} (on one of the idsync instances)`;
    return undefined;
  }

  /** Drops a deleted connector's waiting jobs, for every process. */
  async forget(connectorId: string): Promise<void> {
    await this.queue.forget(connectorId);
  }

  /** Turns away the triggers waiting here (503) and stops this process's runs (server shutdown). */
  async stopAll(): Promise<void> {
    const stopping = this.stopping;
    stopping.abort();
    // The jobs of the triggers turned away are withdrawn unless their run has started: nobody
    // waits for them any more (one already claimed goes on; its run is in the history).
    for (const ref of [...this.pending]) {
      if ((await this.store.runs.ofJob(ref.jobId)).length === 0) await this.queue.cancel(ref, true).catch(() => false);
    }
    try {
      await this.runs.stopAll();
    } finally {
      // Not for good: the server closes its runner and queue too; a stop of the runs alone (tests) is not.
      if (this.stopping === stopping) this.stopping = new AbortController();
    }
  }

  /**
   * Jobs of the connector (both lanes, every process) whose run has not started: all its jobs
   * less the one whose run is in progress. `lane` counts that lane's only.
   */
  async waiting(connectorId: string, lane?: JobLane): Promise<number> {
    const lanes: JobLane[] = lane ? [lane] : ['runs', 'requests'];
    let jobs = 0;
    for (const l of lanes) {
      const d = await this.queue.laneDepth(connectorId, l);
      jobs += d.waiting + d.active;
    }
    if (jobs === 0) return 0;
    const run = await this.store.runs.active(connectorId);
    const runsAJob = run?.jobId && (!lane || laneOf(run) === lane) ? 1 : 0;
    return Math.max(0, jobs - runsAJob);
  }

  // ---------------------------------------------------------------- enqueueing

  private async enqueueRun(req: TriggerRequest): Promise<JobRef> {
    this.refuseWhenStopping();
    const id = req.connector.id;
    const running = await this.store.runs.active(id);
    if (running) throw new HttpError(409, `${busyText(running)}; wait for it to finish and try again (a full sync or simulation is not queued: it is refused while another run of the connector is in progress)`, { running: activeOf(running) });
    const job: RunJob = { connectorId: id, kind: req.kind, dryRun: req.dryRun ?? false, trigger: req.trigger, startBy: new Date(Date.now() + START_WITHIN_MS).toISOString() };
    const queued = await this.queue.enqueue(job);
    if (!queued.queued) {
      // Another job of the connector waits to start (a trigger of the same moment, a schedule):
      // its run, once claimed, is what this trigger is refused for.
      const until = Date.now() + START_WITHIN_MS;
      for (;;) {
        const other = await this.store.runs.active(id);
        if (other) throw new HttpError(409, `${busyText(other)}; wait for it to finish and try again (a full sync or simulation is not queued: it is refused while another run of the connector is in progress)`, { running: activeOf(other) });
        const jobs = await this.queue.laneDepth(id, 'runs');
        if (Date.now() > until || jobs.waiting + jobs.active === 0) break;
        await this.pause();
      }
      throw new HttpError(409, `${queued.reason}; try again when it has run (a full sync or simulation is not queued behind another)`);
    }
    return queued;
  }

  /**
   * Queues a request (single-user sync, approval), within the policy's bound on requests waiting
   * per connector: the count and the enqueue are one step for every process sharing the queue
   * (JobQueue.exclusive), so a burst of requests at the same instant, on any instances, gets
   * exactly maxWaiting in and the rest refused.
   */
  private async enqueueRequest(req: TriggerRequest, approval?: RunJob['approval']): Promise<JobRef> {
    this.refuseWhenStopping();
    const id = req.connector.id;
    const what = requestWhat(req.kind);
    const queued = await this.queue.exclusive(id, 'requests', async () => {
      const waiting = await this.waiting(id, 'requests');
      if (waiting >= this.policy.maxWaiting) {
        const running = await this.store.runs.active(id);
        throw new HttpError(409, `${running ? busyText(running) : `connector ${id} is busy`}, and ${waiting} user syncs are already waiting for it; try again when they have run`, { ...(running ? { running: activeOf(running) } : {}), queued: waiting });
      }
      const job: RunJob = {
        connectorId: id,
        kind: req.kind,
        dryRun: req.dryRun ?? false,
        ...(req.userRef ? { userRef: req.userRef } : {}),
        trigger: req.trigger,
        waitUntil: new Date(Date.now() + this.policy.waitMs).toISOString(),
        waitMs: this.policy.waitMs,
        ...(approval ? { approval } : {}),
      };
      return this.queue.enqueue(job);
    });
    if (!queued.queued) throw new HttpError(409, `the ${what} could not be queued: ${queued.reason}`);
    return queued;
  }

  // ---------------------------------------------------------------- answers

  /** Waits until the job's run is claimed (on any process) and says what it is; or rejects with the job's refusal. */
  private async claimOf(ref: JobRef, kind: RunKind): Promise<ActiveRun> {
    this.pending.add(ref);
    try {
      return await this.claimed(ref, kind);
    } finally {
      this.pending.delete(ref);
    }
  }

  private async claimed(ref: JobRef, kind: RunKind): Promise<ActiveRun> {
    const withdrawAt = Date.now() + START_WITHIN_MS;
    for (;;) {
      const [run] = await this.store.runs.ofJob(ref.jobId);
      if (run) return this.localRun(run) ?? activeOf(run);
      const s = await this.queue.state(ref);
      if (s.state !== 'waiting' && s.state !== 'active') this.refusedBy(s, kind);
      if (s.state === 'waiting') {
        // Another run got the connector first (a trigger of the same moment, or one of another
        // process): this one is withdrawn rather than started after it.
        const other = await this.store.runs.active(ref.connectorId);
        if ((other || Date.now() > withdrawAt) && (await this.queue.cancel(ref))) {
          throw new HttpError(409, other ? `${busyText(other)}; wait for it to finish and try again (a full sync or simulation is not queued: it is refused while another run of the connector is in progress)` : `no idsync process took the sync within ${waitText(START_WITHIN_MS)}; try again`, other ? { running: activeOf(other) } : {});
        }
      }
      await this.pause();
    }
  }

  /** Waits for the job's output (a request's result); rejects with its refusal, or when its wait is over. */
  private async outputOf(ref: JobRef, kind: RunKind): Promise<{ runId?: string; user?: unknown; approval?: unknown }> {
    this.pending.add(ref);
    try {
      return await this.output(ref, kind);
    } finally {
      this.pending.delete(ref);
    }
  }

  private async output(ref: JobRef, kind: RunKind): Promise<{ runId?: string; user?: unknown; approval?: unknown }> {
    const withdrawAt = Date.now() + (laneOf({ kind }) === 'requests' ? this.policy.waitMs + PICKUP_GRACE_MS : START_WITHIN_MS);
    const giveUpAt = Date.now() + RESULT_WITHIN_MS;
    for (;;) {
      const s = await this.queue.state(ref);
      if (s.state === 'completed' && !s.output.refused && s.output.runId) return s.output;
      if (s.state !== 'waiting' && s.state !== 'active') this.refusedBy(s, kind);
      // Waiting again after a run of it began (its process died, the job is handed on): not withdrawn, its answer comes.
      if (s.state === 'waiting' && Date.now() > withdrawAt && (await this.store.runs.ofJob(ref.jobId)).length === 0 && (await this.queue.cancel(ref))) {
        const other = await this.store.runs.active(ref.connectorId);
        throw new HttpError(409, `${other ? busyText(other) : `connector ${ref.connectorId} is busy`}; this ${requestWhat(kind)} waited ${waitText(this.policy.waitMs)} for it (the longest a user sync waits) and was not started; try again when it has finished`, other ? { running: activeOf(other) } : {});
      }
      if (Date.now() > giveUpAt) {
        const [run] = await this.store.runs.ofJob(ref.jobId);
        throw new HttpError(504, `the ${requestWhat(kind)} has not ended after ${Math.round(RESULT_WITHIN_MS / 60_000)} minutes${run ? `; follow run ${run.id} in the run history` : ''}`);
      }
      await this.pause();
    }
  }

  /** A job that ended without its answer: its refusal as the HTTP error the trigger gives. */
  private refusedBy(s: Awaited<ReturnType<JobQueue['state']>>, kind: RunKind): never {
    if (s.state === 'completed' && s.output.refused) {
      const { error, ...rest } = s.output.refused.body;
      throw new HttpError(s.output.refused.status, String(error ?? 'refused'), rest);
    }
    if (s.state === 'completed') throw new HttpError(500, `the ${requestWhat(kind)} ended without a run; see the server log`);
    if (s.state === 'failed' && /^idsync stopped/.test(s.error ?? '')) throw new HttpError(503, `${s.error}; try again when it is back`);
    if (s.state === 'failed') throw new HttpError(500, `the ${kind === 'cleanup' ? 'approval' : `${kind} sync`} failed: ${s.error ?? 'see the server log'}`);
    if (this.stopping.signal.aborted || s.state === 'gone') throw new HttpError(503, 'idsync is shutting down; try the sync again when it is back');
    throw new HttpError(409, `the ${kind === 'cleanup' ? 'approval' : `${kind} sync`} was withdrawn before it started (the connector was deleted, or idsync stopped)`);
  }

  private localRun(run: RunRecord): ActiveRun | undefined {
    const here = this.runs.activity(run.connectorId).active;
    return here?.runId === run.id ? here : undefined;
  }

  private refuseWhenStopping(): void {
    if (this.stopping.signal.aborted) throw new HttpError(503, 'idsync is shutting down; try the sync again when it is back');
  }

  private async pause(): Promise<void> {
    if (this.stopping.signal.aborted) throw new HttpError(503, 'idsync is shutting down; try the sync again when it is back (a sync already queued may still run on another idsync instance)');
    const signal = this.stopping.signal;
    await new Promise<void>((resolve) => {
      const onAbort = () => {
        clearTimeout(t);
        resolve();
      };
      const t = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, this.pollMs);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}
