// The job queue for a store: pg-boss on PostgreSQL (several idsync processes), in process on
// SQLite (one). Everything above it (scheduler, runner, routes) is the same code either way.
import type { Store } from '../store/index.ts';
import { LocalJobQueue } from './local-queue.ts';
import { JOB_LEASE_SECONDS, LEASE_RENEW_MS, PgBossJobQueue, type PgBossQueueOptions } from './pg-boss-queue.ts';
import type { JobQueue } from './types.ts';

export type { EnqueueResult, JobHandler, JobMeta, JobQueue, QueueDepth, RunJob } from './types.ts';
export { JobRunner } from './runner.ts';

export async function openJobQueue(store: Store, log: { warn(obj: unknown, msg?: string): void; error(obj: unknown, msg?: string): void }): Promise<JobQueue> {
  return store.dialect === 'postgres' ? PgBossJobQueue.open(store.db, log, jobTimingsFromEnv()) : new LocalJobQueue(log);
}

/**
 * The shared queue's lease, renewal, maintenance and polling intervals, when the environment
 * sets them (IDSYNC_JOB_LEASE_SECONDS, IDSYNC_JOB_RENEW_MS, IDSYNC_JOB_MAINTENANCE_SECONDS,
 * IDSYNC_JOB_POLL_SECONDS); unset: the defaults in pg-boss-queue.ts. For tests that wait on a
 * lease running out; a deployment has no reason to change them. A value that is not a positive
 * number, or a renewal not shorter than the lease (another instance would take a live job), is
 * refused at start rather than ignored.
 */
export function jobTimingsFromEnv(env: NodeJS.ProcessEnv = process.env): PgBossQueueOptions {
  const positive = (name: string): number | undefined => {
    const v = env[name];
    if (v === undefined || v.trim() === '') return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, not "${v}"; unset it to use the default`);
    return n;
  };
  const opts: PgBossQueueOptions = {
    leaseSeconds: positive('IDSYNC_JOB_LEASE_SECONDS'),
    renewMs: positive('IDSYNC_JOB_RENEW_MS'),
    maintenanceSeconds: positive('IDSYNC_JOB_MAINTENANCE_SECONDS'),
    pollingIntervalSeconds: positive('IDSYNC_JOB_POLL_SECONDS'),
  };
  const lease = opts.leaseSeconds ?? JOB_LEASE_SECONDS;
  const renew = opts.renewMs ?? LEASE_RENEW_MS;
  if (renew >= lease * 1000) throw new Error(`IDSYNC_JOB_RENEW_MS (${renew}) must be shorter than the lease (${lease * 1000} ms): a lease renewed too late lets another instance take a live job`);
  return Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) as PgBossQueueOptions;
}
