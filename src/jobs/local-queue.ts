// The job queue of a single idsync process (embedded SQLite store): the same rules as the
// pg-boss queue, kept in memory. Per connector and lane one job runs at a time; in the runs lane
// at most one waits behind it (a job enqueued while one already waits is refused), in the
// requests lane any number wait, first come first served (the trigger bounds them). Nothing
// survives a stop: on SQLite there is no other process to hand a job to, and a slot missed while
// down is caught up at the next start by the scheduler (see src/server/scheduler.ts).
import { randomUUID } from 'node:crypto';
import { KeyedMutex } from './one-at-a-time.ts';
import { laneOf, type EnqueueResult, type JobHandler, type JobLane, type JobQueue, type JobRef, type JobState, type QueueDepth, type RunJob } from './types.ts';

interface Lane {
  active?: { id: string; done: Promise<void> };
  waiting: Array<{ id: string; job: RunJob }>;
}

/** How long an ended job's output is kept for the trigger that waits for it. */
const KEEP_ENDED_MS = 10 * 60_000;

export class LocalJobQueue implements JobQueue {
  readonly kind = 'in-process' as const;
  private readonly lanes = new Map<string, Lane>();
  private readonly ended = new Map<string, { state: JobState; at: number }>();
  /** Taken jobs withdrawn by their trigger (see cancel). */
  private readonly cancelled = new Set<string>();
  private readonly locks = new KeyedMutex();
  private handler?: JobHandler;
  private stopped = false;

  constructor(private readonly log: { error(obj: unknown, msg?: string): void } = console) {}

  private key = (connectorId: string, lane: JobLane) => `${lane}\u0000${connectorId}`;

  private lane(connectorId: string, lane: JobLane): Lane {
    const k = this.key(connectorId, lane);
    let l = this.lanes.get(k);
    if (!l) this.lanes.set(k, (l = { waiting: [] }));
    return l;
  }

  async start(handler: JobHandler, connectorIds: string[]): Promise<void> {
    this.handler = handler;
    for (const id of connectorIds) await this.watch(id);
    for (const k of this.lanes.keys()) {
      const [lane, id] = k.split('\u0000') as [JobLane, string];
      this.pump(id, lane);
    }
  }

  async watch(connectorId: string): Promise<void> {
    this.lane(connectorId, 'runs');
    this.lane(connectorId, 'requests');
  }

  async unwatch(connectorId: string): Promise<void> {
    await this.forget(connectorId);
  }

  async forget(connectorId: string): Promise<void> {
    for (const lane of ['runs', 'requests'] as const) {
      const l = this.lanes.get(this.key(connectorId, lane));
      for (const w of l?.waiting.splice(0) ?? []) this.end(w.id, { state: 'gone' });
    }
  }

  async enqueue(job: RunJob): Promise<EnqueueResult> {
    if (this.stopped) return { queued: false, reason: 'idsync is shutting down' };
    const laneName = laneOf(job);
    const lane = this.lane(job.connectorId, laneName);
    if (laneName === 'runs' && lane.waiting.length > 0) return { queued: false, reason: `a ${lane.waiting[0]!.job.kind} sync of connector ${job.connectorId} is already waiting to start` };
    const id = randomUUID();
    lane.waiting.push({ id, job });
    this.pump(job.connectorId, laneName);
    return { queued: true, connectorId: job.connectorId, lane: laneName, jobId: id };
  }

  /** One process: an in-process mutex is all it takes. */
  exclusive<T>(connectorId: string, lane: JobLane, fn: () => Promise<T>): Promise<T> {
    return this.locks.run(this.key(connectorId, lane), fn);
  }

  async depth(): Promise<Record<string, QueueDepth>> {
    const out: Record<string, QueueDepth> = {};
    for (const [k, lane] of this.lanes) {
      const id = k.split('\u0000')[1]!;
      const d = (out[id] ??= { waiting: 0, active: 0 });
      d.waiting += lane.waiting.length;
      d.active += lane.active ? 1 : 0;
    }
    return out;
  }

  async laneDepth(connectorId: string, lane: JobLane): Promise<QueueDepth> {
    const l = this.lanes.get(this.key(connectorId, lane));
    return { waiting: l?.waiting.length ?? 0, active: l?.active ? 1 : 0 };
  }

  async state(ref: JobRef): Promise<JobState> {
    const l = this.lanes.get(this.key(ref.connectorId, ref.lane));
    if (l?.active?.id === ref.jobId) return this.cancelled.has(ref.jobId) ? { state: 'cancelled' } : { state: 'active' };
    if (l?.waiting.some((w) => w.id === ref.jobId)) return { state: 'waiting' };
    return this.ended.get(ref.jobId)?.state ?? { state: 'gone' };
  }

  async cancel(ref: JobRef, taken = false): Promise<boolean> {
    const l = this.lanes.get(this.key(ref.connectorId, ref.lane));
    if (taken && l?.active?.id === ref.jobId) {
      this.cancelled.add(ref.jobId);
      return true;
    }
    const i = l?.waiting.findIndex((w) => w.id === ref.jobId) ?? -1;
    if (!l || i < 0) return false;
    l.waiting.splice(i, 1);
    this.end(ref.jobId, { state: 'cancelled' });
    return true;
  }

  /** Resolves when no job runs or waits (tests, and a stop that lets the queue drain). */
  async idle(): Promise<void> {
    for (;;) {
      const active = [...this.lanes.values()].map((l) => l.active?.done).filter(Boolean);
      if (active.length === 0) return;
      await Promise.allSettled(active);
    }
  }

  /** In one process a dead run means this process is gone: nothing to hand on. */
  async release(): Promise<void> {}

  async stop(): Promise<void> {
    this.stopped = true;
    for (const lane of this.lanes.values()) for (const w of lane.waiting.splice(0)) this.end(w.id, { state: 'gone' });
    await Promise.allSettled([...this.lanes.values()].map((l) => l.active?.done));
  }

  private end(id: string, state: JobState): void {
    const now = Date.now();
    for (const [k, v] of this.ended) if (now - v.at > KEEP_ENDED_MS) this.ended.delete(k);
    this.ended.set(id, { state, at: now });
  }

  /** Starts the next waiting job of a lane when none is active (one at a time per connector and lane). */
  private pump(connectorId: string, laneName: JobLane): void {
    const lane = this.lanes.get(this.key(connectorId, laneName));
    if (!lane || lane.active || lane.waiting.length === 0 || !this.handler || this.stopped) return;
    const { id, job } = lane.waiting.shift()!;
    const handler = this.handler;
    const done = (async () => {
      await null; // `active` is set below before the handler can settle
      try {
        const output = await handler(job, { jobId: id, attempt: 0 });
        this.end(id, this.cancelled.has(id) && !output?.runId ? { state: 'cancelled' } : { state: 'completed', output: output ?? {} });
      } catch (e) {
        this.end(id, { state: 'failed', error: (e as Error).message });
        this.log.error({ connector: connectorId, job: id, err: (e as Error).message }, 'a job ended without finishing its run');
      } finally {
        this.cancelled.delete(id);
        delete lane.active;
        this.pump(connectorId, laneName);
      }
    })();
    lane.active = { id, done };
  }
}
