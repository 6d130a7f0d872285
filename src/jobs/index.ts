// The job queue for a store: pg-boss on PostgreSQL (several idsync processes), in process on
// SQLite (one). Everything above it (scheduler, runner, routes) is the same code either way.
import type { Store } from '../store/index.ts';
import { LocalJobQueue } from './local-queue.ts';
import { PgBossJobQueue, type PgBossQueueOptions } from './pg-boss-queue.ts';
import type { JobQueue } from './types.ts';

export type { EnqueueResult, JobHandler, JobMeta, JobQueue, QueueDepth, RunJob } from './types.ts';
export { JobRunner } from './runner.ts';

export async function openJobQueue(store: Store, log: { warn(obj: unknown, msg?: string): void; error(obj: unknown, msg?: string): void }): Promise<JobQueue> {
  return store.dialect === 'postgres' ? PgBossJobQueue.open(store.db, log, jobTimingsFromEnv()) : new LocalJobQueue(log);
}

/**
 * The shared queue's lease, renewal, maintenance and polling intervals, when the environment
 * sets them (IDSYNC_JOB_LEASE_SECONDS, IDSYNC_JOB_RENEW_MS, IDSYNC_JOB_MAINTENANCE_SECONDS,
 * IDSYNC_JOB_POLL_SECONDS); unset or not a positive number: the defaults in pg-boss-queue.ts.
 * For tests that wait on a lease running out; a deployment has no reason to change them.
 */
export function jobTimingsFromEnv(env: NodeJS.ProcessEnv = process.env): PgBossQueueOptions {
  const positive = (name: string): number | undefined => {
    const v = env[name];
    if (v === undefined || v.trim() === '') return undefined;
    const n = Number(v);
    return Number.isFinite(n) && n > 0 ? n : undefined;
  };
  const opts: PgBossQueueOptions = {
    leaseSeconds: positive('IDSYNC_JOB_LEASE_SECONDS'),
    renewMs: positive('IDSYNC_JOB_RENEW_MS'),
    maintenanceSeconds: positive('IDSYNC_JOB_MAINTENANCE_SECONDS'),
    pollingIntervalSeconds: positive('IDSYNC_JOB_POLL_SECONDS'),
  };
  return Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) as PgBossQueueOptions;
}
