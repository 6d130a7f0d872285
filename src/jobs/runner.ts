// What a job does: read the connector fresh, wait its turn when it may (a request behind the
// connector's run in progress, bounded by its deadline; a scheduled sync behind a request),
// refuse when it may not (a full sync or simulation while another run goes), run its sync or
// approval through the RunCoordinator (live view, fencing, shutdown) and record the job on the
// run it claimed; its output (the run, the result, or why it was refused) answers the trigger
// that waits for it, on whichever process (src/jobs/triggers.ts). Besides, every few seconds, it looks for
// runs whose process died (the runs table's owner heartbeat, src/store/runs.ts) and hands their
// jobs on, so another process takes them without waiting for pg-boss's long lease.
import type { ConnectorConfig } from '../config/schema.ts';
import { errorText, isIdsyncError } from '../core/errors.ts';
import { USER_SYNC_WAIT_MS, waitText } from '../engine/run-claim.ts';
import type { Store } from '../store/index.ts';
import { HEARTBEAT_MS, STALE_AFTER_MS, type RunRecord } from '../store/runs.ts';
import type { RunCoordinator } from '../server/run-coordinator.ts';
import { errorReply, HttpError } from '../server/routes.ts';
import { busyText, requestWhat } from './busy.ts';
import { userReportOf } from './user-report.ts';
import { approvalAnswerOf } from './approval-answer.ts';
import { laneOf, type JobMeta, type JobOutput, type JobQueue, type RunJob } from './types.ts';

interface Logger {
  info(obj: unknown, msg?: string): void;
  warn(obj: unknown, msg?: string): void;
  error(obj: unknown, msg?: string): void;
}

/** How often a process looks for dead runs to hand on. A third of the heartbeat: cheap (one query) and quick after a crash on this machine. */
export const REAP_EVERY_MS = HEARTBEAT_MS / 3;

/** How often a job waiting its turn looks whether the connector's run has ended. */
const TURN_POLL_MS = 100;

export class JobRunner {
  private reaper?: NodeJS.Timeout;
  private stopping = false;
  private watched = new Set<string>();

  constructor(
    private readonly store: Store,
    private readonly queue: JobQueue,
    private readonly runs: RunCoordinator,
    private readonly log: Logger,
  ) {}

  /** Starts taking jobs of every stored connector, and the dead-run reaper. */
  async start(): Promise<void> {
    const ids = (await this.store.connectors.list()).map((c) => c.config.id);
    this.watched = new Set(ids);
    await this.queue.start((job, meta) => this.handle(job, meta), ids);
    this.reaper = setInterval(() => void this.reap(), REAP_EVERY_MS);
    this.reaper.unref();
  }

  /** Takes jobs of connectors saved since, and stops taking those of deleted ones. */
  async reload(): Promise<void> {
    if (this.stopping) return;
    const ids = new Set((await this.store.connectors.list()).map((c) => c.config.id));
    for (const id of ids) await this.queue.watch(id);
    for (const id of this.watched) if (!ids.has(id)) await this.queue.unwatch(id);
    this.watched = ids;
  }

  /** Stops handing on dead runs; the server then stops its runs and the queue. */
  stop(): void {
    this.stopping = true;
    clearInterval(this.reaper);
  }

  /** Marks dead runs failed and gives their jobs to the next attempt (on whichever process). */
  async reap(): Promise<number> {
    try {
      const dead = await this.store.runs.reapDead();
      for (const r of dead) {
        this.log.warn({ connector: r.connectorId, run: r.id, job: r.jobId }, r.jobId ? 'a run died with its process; its job is handed to the next idsync process' : 'a run died with its process');
        if (r.jobId) await this.queue.release(r.connectorId, r.jobId, `run ${r.id} died with its process`);
      }
      return dead.length;
    } catch (e) {
      this.log.warn({ err: errorText(e) }, 'looking for dead runs failed; trying again shortly');
      return 0;
    }
  }

  /**
   * What became of the run an earlier attempt of this job started. A job is taken over when its
   * lease ran out: its process died, or stalled (then its run may still show as running until
   * the heartbeat says otherwise). Waits for that run to end or be found dead, so the job's work
   * is neither done twice at once nor dropped as a conflict. 'done' when it ended on its own (the
   * process died after its run, before the job was completed): not run again.
   */
  private async priorAttempt(job: RunJob, meta: JobMeta): Promise<'done' | 'run'> {
    const deadline = Date.now() + STALE_AFTER_MS + 2 * HEARTBEAT_MS;
    for (;;) {
      await this.store.runs.reapDead(job.connectorId);
      const runs = await this.store.runs.ofJob(meta.jobId);
      if (!runs.some((r) => r.status === 'running') || Date.now() > deadline || this.stopping) {
        return runs.some((r) => r.status === 'succeeded' || r.status === 'partial') ? 'done' : 'run';
      }
      await new Promise((r) => setTimeout(r, REAP_EVERY_MS).unref());
    }
  }

  async handle(job: RunJob, meta: JobMeta): Promise<JobOutput> {
    const stored = await this.store.connectors.get(job.connectorId);
    const what = job.kind === 'cleanup' ? 'quarantine approval' : `${job.trigger === 'schedule' ? 'scheduled ' : ''}${job.kind} sync`;
    const about = { connector: job.connectorId, job: meta.jobId, ...(job.slot ? { slot: job.slot } : {}), ...(meta.attempt ? { attempt: meta.attempt } : {}) };
    if (!stored) {
      this.log.warn(about, `${what} dropped: the connector was deleted`);
      return refusal(404, `connector ${job.connectorId} was deleted before its ${what} started`);
    }
    if (meta.attempt) {
      this.log.info(about, `taking over a ${what} whose process died`);
      if ((await this.priorAttempt(job, meta)) === 'done') {
        this.log.info(about, `${what} not run again: the process before ran it to its end`);
        const last = (await this.store.runs.ofJob(meta.jobId)).filter((r) => r.status !== 'running' && r.status !== 'failed').at(-1);
        // The answer the first attempt would have given: a single-user sync's report from its journal.
        if (last && job.kind === 'user') return { runId: last.id, user: await userReportOf(this.store, last) };
        // An approval's: the quarantine, the users skipped and those not held, from the store and the run's journal.
        if (last && job.kind === 'cleanup' && job.approval) return { runId: last.id, approval: await approvalAnswerOf(this.store, last, job.approval) };
        return last ? { runId: last.id } : {};
      }
    }
    if (job.startBy && Date.now() > Date.parse(job.startBy)) {
      const busy = await this.store.runs.active(job.connectorId);
      return refusal(409, `${busy ? busyText(busy) : `connector ${job.connectorId} was busy`}; this ${what} could not start at once and was not started late; try again when it has finished`);
    }
    const lane = laneOf(job);
    // Requests wait their turn (bounded by their deadline; a request handed on after a crash gets
    // a fresh wait, it has been waited for already); a scheduled sync waits behind a request.
    const waitMs = job.waitMs ?? USER_SYNC_WAIT_MS;
    const deadline = lane === 'requests' ? Math.max(job.waitUntil ? Date.parse(job.waitUntil) : 0, meta.attempt ? Date.now() + waitMs : 0) : job.trigger === 'schedule' ? Date.now() + waitMs : 0;
    for (;;) {
      // Stopping: not started here; on PostgreSQL the job goes to another process (its retry).
      if (this.stopping || this.runs.stopping) throw new Error(`idsync stopped before the ${what} could start`);
      const busy = await this.store.runs.active(job.connectorId);
      // Withdrawn by its trigger (turned away by a stop): not started. Looked at after the look
      // at the runs table, right before the claim, so a stop while it waited is seen.
      if ((await this.queue.state({ connectorId: job.connectorId, lane, jobId: meta.jobId })).state === 'cancelled') {
        this.log.info(about, `${what} withdrawn by its trigger before it started`);
        return refusal(409, `the ${what} was withdrawn before it started`);
      }
      if (busy) {
        const behindRequest = laneOf(busy) === 'requests';
        if (lane === 'runs' && !(job.trigger === 'schedule' && behindRequest)) {
          const text = `${busyText(busy)}; wait for it to finish and try again (a full sync or simulation is not queued: it is refused while another run of the connector is in progress)`;
          if (job.trigger === 'schedule') this.log.warn(about, `${what} skipped: ${text}`);
          return refusal(409, text);
        }
        if (Date.now() >= deadline) {
          const text = `${busyText(busy)}; this ${requestWhat(job.kind)} waited ${waitText(waitMs)} for it (the longest a user sync waits) and was not started; try again when it has finished`;
          if (job.trigger === 'schedule') this.log.warn(about, `${what} skipped: ${text}`);
          return refusal(409, text);
        }
        // Not unref'd: the wait is bounded (its deadline, a stop), and ends in an answer someone waits for.
        await new Promise((r) => setTimeout(r, TURN_POLL_MS));
        continue;
      }
      try {
        return await this.perform(job, stored.config, meta, about, lane === 'requests' ? Math.max(0, deadline - Date.now()) : 0);
      } catch (e) {
        if (this.stopping || (e instanceof HttpError && e.status === 503)) throw e;
        // Another run took the connector between the look and the claim: wait on, while the wait lasts.
        const beforeClaim = e instanceof HttpError && e.status === 409 && e.extra.claimed === false;
        if (beforeClaim && deadline > Date.now() && (await this.store.runs.active(job.connectorId))) continue;
        if ((e instanceof HttpError && e.status === 409) || isIdsyncError(e, 'CONFLICT')) {
          this.log.warn(about, `${what} skipped: ${errorText(e)}`);
          return { refused: errorReply(e) };
        }
        // A run that could not start for another reason is not retried by the queue: it would
        // fail the same way; the next slot (or the next click) tries again.
        if (job.trigger === 'schedule') this.log.error({ ...about, err: errorText(e) }, `${what} failed`);
        return { refused: errorReply(e) };
      }
    }
  }

  /** Runs the job's sync (or approval) in this process and says what came of it. */
  private async perform(job: RunJob, connector: ConnectorConfig, meta: JobMeta, about: Record<string, unknown>, claimWaitMs: number): Promise<JobOutput> {
    const onClaimed = (run: RunRecord) => {
      this.store.runs.setJob(run.id, meta.jobId).catch((e) => this.log.warn({ ...about, err: errorText(e) }, 'the run could not be tied to its job'));
    };
    if (job.kind === 'cleanup') {
      const a = job.approval!;
      const { run, ...approval } = await this.runs.approve({ connector, quarantineId: a.quarantineId, ...(a.sourceIds ? { sourceIds: a.sourceIds } : {}), by: a.by, trigger: job.trigger, onClaimed });
      return { runId: run.id, approval };
    }
    const result = await this.runs.start({
      connector,
      kind: job.kind,
      dryRun: job.dryRun ?? false,
      ...(job.userRef ? { userRef: job.userRef } : {}),
      trigger: job.trigger,
      claimWaitMs,
      onClaimed,
    });
    // Stopped by this process's shutdown: the job goes back to the queue for another process.
    if ((this.stopping || this.runs.stopping) && result.run.status === 'failed') throw new Error(`idsync stopped during run ${result.run.id}`);
    return { runId: result.run.id, ...(result.user ? { user: result.user } : {}) };
  }
}

const refusal = (status: number, error: string): JobOutput => ({ refused: { status, body: { error } } });
