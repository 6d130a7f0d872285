// What a job does: read the connector fresh, run its sync through the RunCoordinator (the same
// path as a sync started from the UI, so the live view, the single-user queue and shutdown treat
// it alike), and record the job on the run it claimed. Besides, every few seconds, it looks for
// runs whose process died (the runs table's owner heartbeat, src/store/runs.ts) and hands their
// jobs on, so another process takes them without waiting for pg-boss's long lease.
import { errorText, isIdsyncError } from '../core/errors.ts';
import type { Store } from '../store/index.ts';
import { HEARTBEAT_MS, STALE_AFTER_MS } from '../store/runs.ts';
import type { RunCoordinator } from '../server/run-coordinator.ts';
import { HttpError } from '../server/routes.ts';
import type { JobMeta, JobQueue, RunJob } from './types.ts';

interface Logger {
  info(obj: unknown, msg?: string): void;
  warn(obj: unknown, msg?: string): void;
  error(obj: unknown, msg?: string): void;
}

/** How often a process looks for dead runs to hand on. A third of the heartbeat: cheap (one query) and quick after a crash on this machine. */
export const REAP_EVERY_MS = HEARTBEAT_MS / 3;

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

  async handle(job: RunJob, meta: JobMeta): Promise<void> {
    const stored = await this.store.connectors.get(job.connectorId);
    const what = `${job.trigger === 'schedule' ? 'scheduled ' : ''}${job.kind} sync`;
    const about = { connector: job.connectorId, job: meta.jobId, ...(job.slot ? { slot: job.slot } : {}), ...(meta.attempt ? { attempt: meta.attempt } : {}) };
    if (!stored) {
      this.log.warn(about, `${what} dropped: the connector was deleted`);
      return;
    }
    if (meta.attempt) {
      this.log.info(about, `taking over a ${what} whose process died`);
      if ((await this.priorAttempt(job, meta)) === 'done') {
        this.log.info(about, `${what} not run again: the process before ran it to its end`);
        return;
      }
    }
    try {
      const result = await this.runs.start({
        connector: stored.config,
        kind: job.kind,
        dryRun: job.dryRun ?? false,
        ...(job.userRef ? { userRef: job.userRef } : {}),
        trigger: job.trigger,
        onClaimed: (run) => {
          this.store.runs.setJob(run.id, meta.jobId).catch((e) => this.log.warn({ ...about, err: errorText(e) }, 'the run could not be tied to its job'));
        },
      });
      // Stopped by this process's shutdown: the job goes back to the queue for another process.
      if (this.stopping && result.run.status === 'failed') throw new Error(`idsync stopped during run ${result.run.id}`);
    } catch (e) {
      if (this.stopping || (e instanceof HttpError && e.status === 503)) throw e;
      if ((e instanceof HttpError && e.status === 409) || isIdsyncError(e, 'CONFLICT')) {
        this.log.warn(about, `${what} skipped: ${errorText(e)}`);
        return;
      }
      // A run that could not start for another reason is not retried by the queue: it would
      // fail the same way; the next slot tries again.
      this.log.error({ ...about, err: errorText(e) }, `${what} failed`);
    }
  }
}
