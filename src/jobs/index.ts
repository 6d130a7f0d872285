// The job queue for a store: pg-boss on PostgreSQL (several idsync processes), in process on
// SQLite (one). Everything above it (scheduler, runner, routes) is the same code either way.
import type { Store } from '../store/index.ts';
import { LocalJobQueue } from './local-queue.ts';
import { PgBossJobQueue } from './pg-boss-queue.ts';
import type { JobQueue } from './types.ts';

export type { EnqueueResult, JobHandler, JobMeta, JobQueue, QueueDepth, RunJob } from './types.ts';
export { JobRunner } from './runner.ts';

export async function openJobQueue(store: Store, log: { warn(obj: unknown, msg?: string): void; error(obj: unknown, msg?: string): void }): Promise<JobQueue> {
  return store.dialect === 'postgres' ? PgBossJobQueue.open(store.db, log) : new LocalJobQueue(log);
}
