// The job abstraction every run started by idsync serve goes through: scheduled syncs and the
// triggers of the API and the UI (full sync, simulation, single-user sync, quarantine approval).
// Two implementations with the same behaviour: pg-boss when the store is PostgreSQL (several
// idsync processes share the work and a job of a killed process is handed to another), an
// in-process queue on the embedded SQLite store (one process). What a job does is decided by the
// JobRunner (src/jobs/runner.ts); the queue only decides when and where it runs.
//
// A connector has two lanes:
// - `runs` (full, incremental, simulation; scheduled or triggered): at most one job active and
//   one waiting behind it, across every process (pg-boss's stately policy);
// - `requests` (single-user syncs, quarantine approvals: someone waits for their answer): any
//   number wait (the trigger bounds them), first come first served on one process.
// The two lanes of a connector never run at the same time because a run is claimed in the runs
// table (its unique index: one running run per connector) and a request job waits its turn for
// that claim (bounded: it carries its deadline). So exclusivity is the queue plus the runs table.
import type { RunKind } from '../core/types.ts';
import type { Trigger } from '../engine/api.ts';

export type JobLane = 'runs' | 'requests';

/** One run to do: what the SyncRequest will be, minus the connector's configuration (read fresh when the job starts). */
export interface RunJob {
  connectorId: string;
  kind: RunKind;
  dryRun?: boolean;
  userRef?: string;
  trigger: Trigger;
  /** The schedule slot (ISO time) this job stands for, when a schedule enqueued it. */
  slot?: string;
  /**
   * A triggered run that must start at once or not at all (a full sync or simulation from the
   * API): taken after this time (ISO) it is refused, not run late.
   */
  startBy?: string;
  /** A request (single-user sync, approval): until when (ISO) it may wait for the connector's run in progress. */
  waitUntil?: string;
  /** How long a request (or a scheduled sync behind one) waits in all; what its refusal says. */
  waitMs?: number;
  /** Kind `cleanup`: the quarantine approval this job does. */
  approval?: { quarantineId: string; sourceIds?: string[]; by: string | null };
}

export const laneOf = (job: Pick<RunJob, 'kind'>): JobLane => (job.kind === 'user' || job.kind === 'cleanup' ? 'requests' : 'runs');

export interface JobMeta {
  jobId: string;
  /** 0 for the first attempt; more when the job was handed on after its process died. */
  attempt: number;
}

/**
 * What a finished job says to whoever triggered it (stored with the job: pg-boss's output on
 * PostgreSQL, in memory on SQLite), so an API call waiting on another instance gets its answer.
 */
export interface JobOutput {
  /** The run the job did (the last one, when it was handed on after a crash). */
  runId?: string;
  /** A single-user sync's step-by-step report (SyncResult.user). */
  user?: unknown;
  /** A quarantine approval's answer, less the run (ApproveQuarantineResult without `run`). */
  approval?: unknown;
  /** The job did not run (or its run could not start): the HTTP answer the trigger gives. */
  refused?: { status: number; body: Record<string, unknown> };
}

/** Does the job. Resolving completes it (with its output); rejecting hands it to another attempt (pg-boss retry). */
export type JobHandler = (job: RunJob, meta: JobMeta) => Promise<JobOutput | void>;

export interface JobRef {
  connectorId: string;
  lane: JobLane;
  jobId: string;
}

export type EnqueueResult =
  | ({ queued: true } & JobRef)
  /** The connector's runs lane already has a job waiting (one runs, one waits, no more). */
  | { queued: false; reason: string };

/** Where a job is: waiting, active (on some process), or ended with its output. */
export type JobState =
  | { state: 'waiting' | 'active' }
  | { state: 'completed'; output: JobOutput }
  | { state: 'failed' | 'cancelled'; output?: JobOutput; error?: string }
  /** Not known (any more): dropped by a stop or a deletion. */
  | { state: 'gone' };

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
  /**
   * Runs `fn` as the only one, across every process sharing the queue, doing so for this lane
   * of this connector: a count of its jobs and the enqueue it allows, with nothing enqueued by
   * another such call in between (the bound on waiting requests, src/jobs/triggers.ts).
   */
  exclusive<T>(connectorId: string, lane: JobLane, fn: () => Promise<T>): Promise<T>;
  /** Waiting and active jobs per connector (both lanes), across every process sharing the queue. */
  depth(): Promise<Record<string, QueueDepth>>;
  /** Waiting and active jobs of one lane of one connector, across every process. */
  laneDepth(connectorId: string, lane: JobLane): Promise<QueueDepth>;
  /** Where a job is now, and its output once it ended. */
  state(ref: JobRef): Promise<JobState>;
  /**
   * Withdraws a job that is still waiting; false when it has been taken (or ended) already.
   * `taken`: also one a process has taken (its runner sees it withdrawn while it waits its turn,
   * and does not start it; a run already claimed goes on).
   */
  cancel(ref: JobRef, taken?: boolean): Promise<boolean>;
  /**
   * Hands a job whose run died (its process was killed) to the next attempt at once, instead of
   * after its lease. A job already finished is left alone.
   */
  release(connectorId: string, jobId: string, reason: string): Promise<void>;
  /** Stops taking jobs; an active job is handed on (pg-boss) or waited for. */
  stop(): Promise<void>;
}
