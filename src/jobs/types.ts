// The job abstraction every scheduled run goes through. Two implementations with the same
// behaviour: pg-boss when the store is PostgreSQL (several idsync processes share the work and
// a job of a killed process is handed to another), an in-process queue on the embedded SQLite
// store (one process). What a job does is decided by the JobRunner (src/jobs/runner.ts); the
// queue only decides when and where it runs: at most one job of a connector is active at a time,
// and at most one more waits behind it.
import type { RunKind } from '../core/types.ts';
import type { Trigger } from '../engine/api.ts';

/** One run to do: what the SyncRequest will be, minus the connector's configuration (read fresh when the job starts). */
export interface RunJob {
  connectorId: string;
  kind: RunKind;
  dryRun?: boolean;
  userRef?: string;
  trigger: Trigger;
  /** The schedule slot (ISO time) this job stands for, when a schedule enqueued it. */
  slot?: string;
}

export interface JobMeta {
  jobId: string;
  /** 0 for the first attempt; more when the job was handed on after its process died. */
  attempt: number;
}

/** Does the job. Resolving completes it; rejecting hands it to another attempt (pg-boss retry). */
export type JobHandler = (job: RunJob, meta: JobMeta) => Promise<void>;

export type EnqueueResult =
  | { queued: true; jobId: string }
  /** The connector already has a job waiting (one runs, one waits, no more). */
  | { queued: false; reason: string };

export interface QueueDepth {
  /** Jobs waiting to start (including ones waiting for another attempt). */
  waiting: number;
  active: number;
}

export interface JobQueue {
  readonly kind: 'pg-boss' | 'in-process';
  /** Starts taking jobs of these connectors (and of connectors added later with watch). */
  start(handler: JobHandler, connectorIds: string[]): Promise<void>;
  /** Takes jobs of a connector saved after start; idempotent. */
  watch(connectorId: string): Promise<void>;
  /** Stops taking jobs of a connector in this process (it was deleted elsewhere). */
  unwatch(connectorId: string): Promise<void>;
  /** Drops a deleted connector's waiting jobs, for every process. */
  forget(connectorId: string): Promise<void>;
  enqueue(job: RunJob): Promise<EnqueueResult>;
  /** Waiting and active jobs per connector, across every process sharing the queue. */
  depth(): Promise<Record<string, QueueDepth>>;
  /**
   * Hands a job whose run died (its process was killed) to the next attempt at once, instead of
   * after its lease. A job already finished is left alone.
   */
  release(connectorId: string, jobId: string, reason: string): Promise<void>;
  /** Stops taking jobs; an active job is handed on (pg-boss) or waited for. */
  stop(): Promise<void>;
}
