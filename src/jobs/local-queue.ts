// The job queue of a single idsync process (embedded SQLite store): the same rules as the
// pg-boss queue, kept in memory. Per connector one job runs and at most one waits behind it; a
// job enqueued while one already waits is refused. Nothing survives a stop: on SQLite there is
// no other process to hand a job to, and a slot missed while down is caught up at the next start
// by the scheduler (see src/server/scheduler.ts).
import { randomUUID } from 'node:crypto';
import type { EnqueueResult, JobHandler, JobQueue, QueueDepth, RunJob } from './types.ts';

interface Lane {
  active?: { id: string; done: Promise<void> };
  waiting?: { id: string; job: RunJob };
}

export class LocalJobQueue implements JobQueue {
  readonly kind = 'in-process' as const;
  private readonly lanes = new Map<string, Lane>();
  private handler?: JobHandler;
  private stopped = false;

  constructor(private readonly log: { error(obj: unknown, msg?: string): void } = console) {}

  async start(handler: JobHandler, connectorIds: string[]): Promise<void> {
    this.handler = handler;
    for (const id of connectorIds) await this.watch(id);
    for (const id of this.lanes.keys()) this.pump(id);
  }

  async watch(connectorId: string): Promise<void> {
    if (!this.lanes.has(connectorId)) this.lanes.set(connectorId, {});
  }

  async unwatch(connectorId: string): Promise<void> {
    await this.forget(connectorId);
  }

  async forget(connectorId: string): Promise<void> {
    const lane = this.lanes.get(connectorId);
    if (lane) delete lane.waiting;
  }

  async enqueue(job: RunJob): Promise<EnqueueResult> {
    if (this.stopped) return { queued: false, reason: 'idsync is shutting down' };
    const lane = this.lanes.get(job.connectorId) ?? {};
    this.lanes.set(job.connectorId, lane);
    if (lane.waiting) return { queued: false, reason: `a ${lane.waiting.job.kind} sync of connector ${job.connectorId} is already waiting to start` };
    const id = randomUUID();
    lane.waiting = { id, job };
    this.pump(job.connectorId);
    return { queued: true, jobId: id };
  }

  async depth(): Promise<Record<string, QueueDepth>> {
    const out: Record<string, QueueDepth> = {};
    for (const [id, lane] of this.lanes) out[id] = { waiting: lane.waiting ? 1 : 0, active: lane.active ? 1 : 0 };
    return out;
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
    for (const lane of this.lanes.values()) delete lane.waiting;
    await Promise.allSettled([...this.lanes.values()].map((l) => l.active?.done));
  }

  /** Starts the waiting job of a connector when none is active (one at a time per connector). */
  private pump(connectorId: string): void {
    const lane = this.lanes.get(connectorId);
    if (!lane || lane.active || !lane.waiting || !this.handler || this.stopped) return;
    const { id, job } = lane.waiting;
    delete lane.waiting;
    const handler = this.handler;
    const done = (async () => {
      await null; // `active` is set below before the handler can settle
      try {
        await handler(job, { jobId: id, attempt: 0 });
      } catch (e) {
        this.log.error({ connector: connectorId, job: id, err: (e as Error).message }, 'a job ended without finishing its run');
      } finally {
        delete lane.active;
        this.pump(connectorId);
      }
    })();
    lane.active = { id, done };
  }
}
