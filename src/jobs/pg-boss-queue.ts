// The job queue shared by every idsync process on one PostgreSQL store, on pg-boss 10. Two
// queues per connector (its lanes, see types.ts): `idsync-run-<id>` with the "stately" policy, at
// most one job active and one waiting across every process (pg-boss enforces it with unique
// indexes), so a connector's full runs never overlap and a schedule slot that finds a run going
// waits once instead of piling up; and `idsync-ask-<id>` (standard policy) for the requests
// someone waits for (single-user syncs, approvals), any number waiting. A finished job's output
// (JobOutput: its run, its result or why it was refused) is stored by pg-boss with the job, so
// the API call that enqueued it reads its answer whichever process did the job.
//
// Leases: pg-boss 10 has no heartbeat of its own; a job counts as lost after its expiration. So
// the expiration is short (JOB_LEASE_SECONDS) and the worker holding a job renews it every
// LEASE_RENEW_MS for as long as its handler runs, straight in pg-boss's job table (renew()). A
// process that dies (SIGKILL, power) or stalls stops renewing; pg-boss's maintenance, every
// MAINTENANCE_SECONDS on one of the processes, fails the expired job and its retry goes to
// whichever process takes it next: within about a minute, also when the process died between
// taking the job and claiming its run (no run to find dead then). A run a stalled process took
// up again after that is fenced (src/store/run-fence.ts): its late writes are refused. Besides,
// when another process finds a job's run dead (the runs table's owner heartbeat,
// src/store/runs.ts), release() lets the job expire at the next maintenance, if its holder has
// stopped renewing it.
import PgBoss from 'pg-boss';
import { CompiledQuery, sql, type Kysely } from 'kysely';
import type { Database } from '../store/schema.ts';
import { KeyedMutex } from './one-at-a-time.ts';
import { laneOf, type EnqueueResult, type JobHandler, type JobLane, type JobOutput, type JobQueue, type JobRef, type JobState, type QueueDepth, type RunJob } from './types.ts';

/** A job's lease: how long a taken job stays with its process without being renewed. */
export const JOB_LEASE_SECONDS = 45;
/** How often the process running a job renews its lease (a few renewals fit in one lease). */
export const LEASE_RENEW_MS = 5_000;
/** How often pg-boss fails expired jobs (one process does it per interval). */
export const MAINTENANCE_SECONDS = 10;
/** How often a crashed run's job may be handed on before it is given up. */
export const JOB_RETRY_LIMIT = 3;

const QUEUE_PREFIX = 'idsync-run-';
const REQUEST_PREFIX = 'idsync-ask-';
const LANES: JobLane[] = ['runs', 'requests'];
export const queueName = (connectorId: string, lane: JobLane = 'runs') => `${lane === 'runs' ? QUEUE_PREFIX : REQUEST_PREFIX}${connectorId}`;

interface Logger {
  warn(obj: unknown, msg?: string): void;
  error(obj: unknown, msg?: string): void;
}

export interface PgBossQueueOptions {
  /** Seconds between a worker's looks for a job (pg-boss default 2). */
  pollingIntervalSeconds?: number;
  /** The lease, its renewal and pg-boss's maintenance (tests shorten them); defaults above. */
  leaseSeconds?: number;
  renewMs?: number;
  maintenanceSeconds?: number;
}

/**
 * pg-boss's schema: beside the store's own (`<schema>_boss`, `idsync_boss` for `public`), so
 * stores in separate schemas (tests) have separate queues, and pg-boss's tables never mix with
 * the store's migrations.
 */
export async function bossSchemaOf(db: Kysely<Database>): Promise<string> {
  const { rows } = await sql<{ s: string }>`SELECT current_schema() AS s`.execute(db);
  const store = rows[0]?.s ?? 'public';
  return store === 'public' ? 'idsync_boss' : `${store}_boss`;
}

/**
 * pg-boss's database: its SQL on the store's pool, each call on one connection. A call may be a
 * whole transaction in one string (pg-boss's `BEGIN; …; COMMIT;` for creating its schema or a
 * queue). When a statement in it fails, PostgreSQL skips the rest, COMMIT included, and leaves
 * the session in the aborted transaction; pg-boss expects such failures (another process
 * creating the same schema or queue first: "already exists") and goes on. Without the ROLLBACK
 * the connection would go back to the pool that way, and the next queries that got it, whoever
 * made them, would fail with "current transaction is aborted" (seen: `idsync serve` failing its
 * start-up after three processes created pg-boss's schema at once).
 */
export function bossDatabase(db: Kysely<Database>): { executeSql(text: string, values?: unknown[]): Promise<{ rows: unknown[] }> } {
  return {
    executeSql: (text, values) =>
      db.connection().execute(async (conn) => {
        try {
          return { rows: [...(await conn.executeQuery(CompiledQuery.raw(text, values ?? []))).rows] };
        } catch (e) {
          // Outside a transaction this is a mere warning; inside one it ends the aborted one.
          await conn.executeQuery(CompiledQuery.raw('ROLLBACK')).catch(() => undefined);
          throw e;
        }
      }),
  };
}

/**
 * Runs `fn` while holding a session advisory lock named `key`, so the processes sharing a
 * database do it one at a time. Used around what pg-boss does not make safe against itself:
 *
 * - start() creates (or migrates) its schema when it finds none; processes starting together all
 *   find none, and pg-boss's own lock in its creating transaction does not save the later ones:
 *   they fail on what the first created, with "already exists" (which pg-boss ignores) or a
 *   duplicate key in pg_namespace (which it does not: the process cannot start).
 * - createQueue() of one queue by two processes at once deadlocks in PostgreSQL (create_queue()
 *   inserts the queue row, then attaches its partition, which waits for the other's insert).
 */
async function oneAtATime<T>(db: Kysely<Database>, key: string, fn: () => Promise<T>): Promise<T> {
  // A connection of its own holds the lock; pg-boss's statements take others from the pool.
  return db.connection().execute(async (conn) => {
    await conn.executeQuery(CompiledQuery.raw('SELECT pg_advisory_lock(hashtextextended($1, 0))', [key]));
    try {
      return await fn();
    } finally {
      await conn.executeQuery(CompiledQuery.raw('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [key]));
    }
  });
}

/** This process's look for jobs of one connector (a loop of fetches, not pg-boss's work(): see runJob). */
interface Worker {
  stopped: boolean;
  timer?: NodeJS.Timeout;
  active?: Promise<void>;
  /** Looks now (a job was just enqueued here), unless a look is under way. */
  poke?: () => void;
}

export class PgBossJobQueue implements JobQueue {
  readonly kind = 'pg-boss' as const;
  private readonly workers = new Map<string, Worker>();
  private readonly locks = new KeyedMutex();
  private stopping = false;
  private handler?: JobHandler;

  private constructor(
    private readonly db: Kysely<Database>,
    private readonly schema: string,
    private readonly boss: PgBoss,
    private readonly log: Logger,
    private readonly pollingIntervalSeconds: number,
    private readonly leaseSeconds: number,
    private readonly renewMs: number,
  ) {}

  /** Opens pg-boss on the store's own connection pool (no second set of credentials). */
  static async open(db: Kysely<Database>, log: Logger, opts: PgBossQueueOptions = {}): Promise<PgBossJobQueue> {
    const schema = await bossSchemaOf(db);
    const boss = new PgBoss({
      db: bossDatabase(db),
      schema,
      // Schedules are claimed per slot in the store (src/jobs/slots.ts), not by pg-boss's cron.
      schedule: false,
      expireInSeconds: opts.leaseSeconds ?? JOB_LEASE_SECONDS,
      maintenanceIntervalSeconds: opts.maintenanceSeconds ?? MAINTENANCE_SECONDS,
    });
    boss.on('error', (e: Error & { queue?: string }) => {
      // Two processes reaching for a connector's next job at once: the stately index refuses the
      // second (it tries again at its next poll). Anything else is worth a line.
      if (/duplicate key|unique constraint/i.test(e.message)) return;
      log.warn({ queue: e.queue, err: e.message }, 'job queue error (pg-boss)');
    });
    // Behind the lock, the later processes find the schema made and create nothing.
    await oneAtATime(db, `idsync.pg-boss.${schema}`, () => boss.start());
    return new PgBossJobQueue(db, schema, boss, log, opts.pollingIntervalSeconds ?? 2, opts.leaseSeconds ?? JOB_LEASE_SECONDS, opts.renewMs ?? LEASE_RENEW_MS);
  }

  async start(handler: JobHandler, connectorIds: string[]): Promise<void> {
    this.handler = handler;
    for (const id of connectorIds) await this.watch(id);
  }

  async watch(connectorId: string): Promise<void> {
    for (const lane of LANES) await this.watchLane(connectorId, lane);
  }

  private async watchLane(connectorId: string, lane: JobLane): Promise<void> {
    const name = queueName(connectorId, lane);
    if (!this.handler || this.stopping || this.workers.has(name)) return;
    await this.ensureQueue(connectorId, lane);
    if (this.workers.has(name)) return;
    const w: Worker = { stopped: false };
    this.workers.set(name, w);
    let looking = false;
    const look = async (): Promise<void> => {
      if (w.stopped || looking) return;
      looking = true;
      clearTimeout(w.timer);
      let took = false;
      try {
        const [job] = await this.boss.fetch<RunJob>(name, { batchSize: 1, includeMetadata: true });
        if (job) {
          took = true;
          w.active = this.runJob(connectorId, lane, job.id, job.retryCount, job.data);
          await w.active;
          w.active = undefined;
        }
      } catch (e) {
        // Two processes reaching for a connector's next job at once: the stately index refuses
        // the second (it looks again at its next poll). Anything else is worth a line.
        if (!/duplicate key|unique constraint/i.test((e as Error).message)) this.log.warn({ queue: name, err: (e as Error).message }, 'job queue error (pg-boss)');
      }
      looking = false;
      if (!w.stopped) {
        w.timer = setTimeout(() => void look(), took ? 0 : this.pollingIntervalSeconds * 1000);
        w.timer.unref();
      }
    };
    w.poke = () => void look();
    w.timer = setTimeout(() => void look(), 0);
    w.timer.unref();
  }

  /**
   * Runs one taken job, renewing its lease meanwhile, then completes it, or fails it (its retry
   * goes to the next taker) when the handler threw. A job whose lease ran out while it ran has
   * been handed on: it is another process's now, and is left alone.
   */
  private async runJob(connectorId: string, lane: JobLane, jobId: string, attempt: number, data: RunJob): Promise<void> {
    const name = queueName(connectorId, lane);
    let lost = false;
    const lease = setInterval(() => {
      this.renew(connectorId, jobId, attempt, lane).then(
        (held) => {
          if (!held && !lost) this.log.warn({ connector: connectorId, job: jobId }, "this process lost its job (its lease ran out): another process may take it over, and this run's writes are refused once it does");
          lost ||= !held;
        },
        (e) => this.log.warn({ connector: connectorId, job: jobId, err: (e as Error).message }, 'renewing the job lease failed; trying again shortly'),
      );
    }, this.renewMs);
    lease.unref();
    let failure: Error | undefined;
    let output: JobOutput | void = undefined;
    try {
      output = await this.handler!(data, { jobId, attempt });
    } catch (e) {
      failure = e as Error;
    } finally {
      clearInterval(lease);
    }
    // The last look: still ours? (The job id stays the same from one attempt to the next.)
    if (lost || !(await this.renew(connectorId, jobId, attempt, lane))) return;
    if (failure) await this.boss.fail(name, jobId, { message: failure.message });
    else await this.boss.complete(name, jobId, (output ?? {}) as object);
  }

  async unwatch(connectorId: string): Promise<void> {
    for (const lane of LANES) {
      const name = queueName(connectorId, lane);
      const w = this.workers.get(name);
      this.workers.delete(name);
      if (!w) continue;
      w.stopped = true;
      clearTimeout(w.timer);
    }
  }

  async forget(connectorId: string): Promise<void> {
    await this.unwatch(connectorId);
    // Another process may still look for jobs of it until it reloads (src/server/app.ts): it
    // finds none, and a job it had already taken finds no connector.
    for (const lane of LANES) {
      const name = queueName(connectorId, lane);
      if (!(await this.boss.getQueue(name))) continue;
      // Its ended jobs first: pg-boss's delete_queue() drops the queue row before the jobs'
      // partition, and outside a transaction the jobs' foreign key refuses that.
      await sql`DELETE FROM ${sql.table(`${this.schema}.job`)} WHERE name = ${name}`.execute(this.db);
      await this.boss.deleteQueue(name);
    }
  }

  async enqueue(job: RunJob): Promise<EnqueueResult> {
    const lane = laneOf(job);
    await this.ensureQueue(job.connectorId, lane);
    const name = queueName(job.connectorId, lane);
    const id = await this.boss.send(name, job as unknown as object, { retryLimit: JOB_RETRY_LIMIT, retryDelay: 0, expireInSeconds: this.leaseSeconds });
    // This process looks at once (another may take it first); without it a trigger would wait
    // for the next poll of every process before its run even started.
    if (id) this.workers.get(name)?.poke?.();
    return id ? { queued: true, connectorId: job.connectorId, lane, jobId: id } : { queued: false, reason: `a sync of connector ${job.connectorId} is already waiting to start` };
  }

  /** This process's callers one by one (see KeyedMutex), then a session advisory lock per lane for the other processes. */
  exclusive<T>(connectorId: string, lane: JobLane, fn: () => Promise<T>): Promise<T> {
    const name = queueName(connectorId, lane);
    return this.locks.run(name, () => oneAtATime(this.db, `idsync.lane.${this.schema}.${name}`, fn));
  }

  async depth(): Promise<Record<string, QueueDepth>> {
    const out: Record<string, QueueDepth> = {};
    for (const q of await this.boss.getQueues()) {
      const prefix = [QUEUE_PREFIX, REQUEST_PREFIX].find((p) => q.name.startsWith(p));
      if (!prefix) continue;
      const d = await this.sizes(q.name);
      const o = (out[q.name.slice(prefix.length)] ??= { waiting: 0, active: 0 });
      o.waiting += d.waiting;
      o.active += d.active;
    }
    return out;
  }

  async laneDepth(connectorId: string, lane: JobLane): Promise<QueueDepth> {
    const name = queueName(connectorId, lane);
    return (await this.boss.getQueue(name)) ? this.sizes(name) : { waiting: 0, active: 0 };
  }

  private async sizes(name: string): Promise<QueueDepth> {
    const waiting = await this.boss.getQueueSize(name, { before: 'active' });
    const upToActive = await this.boss.getQueueSize(name, { before: 'completed' });
    return { waiting, active: upToActive - waiting };
  }

  async state(ref: JobRef): Promise<JobState> {
    const job = await this.boss.getJobById<RunJob>(queueName(ref.connectorId, ref.lane), ref.jobId, { includeArchive: true }).catch(() => null);
    if (!job) return { state: 'gone' };
    const output = (job.output ?? undefined) as JobOutput | { message?: string } | undefined;
    switch (job.state) {
      case 'created':
      case 'retry':
        return { state: 'waiting' };
      case 'active':
        return { state: 'active' };
      case 'completed':
        return { state: 'completed', output: (output ?? {}) as JobOutput };
      default:
        return { state: job.state, ...(output && 'message' in output && output.message ? { error: String(output.message) } : {}) };
    }
  }

  async cancel(ref: JobRef, taken = false): Promise<boolean> {
    // A job still waiting (pg-boss's cancel() would take an active one too), or, when `taken`,
    // an active one as well: its holder finds it no longer active and does not complete it.
    const states = taken ? ['created', 'retry', 'active'] : ['created', 'retry'];
    const res = await sql`
      UPDATE ${sql.table(`${this.schema}.job`)} SET state = 'cancelled', completed_on = now()
      WHERE name = ${queueName(ref.connectorId, ref.lane)} AND id = ${ref.jobId}::uuid AND state::text IN (${sql.join(states)})`.execute(this.db);
    return Number(res.numAffectedRows ?? 0) > 0;
  }

  /**
   * Extends the lease of an active job this process holds (its attempt) to JOB_LEASE_SECONDS
   * from now. False when that attempt is no longer active (it expired and was handed on, or the
   * job was deleted). pg-boss's own work() cannot be used for this: it gives up on a handler
   * after the job's expiration as it was when taken, renewed or not.
   */
  async renew(connectorId: string, jobId: string, attempt: number, lane: JobLane = 'runs'): Promise<boolean> {
    const res = await sql`
      UPDATE ${sql.table(`${this.schema}.job`)} SET expire_in = (now() - started_on) + make_interval(secs => ${this.leaseSeconds})
      WHERE name = ${queueName(connectorId, lane)} AND id = ${jobId}::uuid AND state = 'active' AND retry_count = ${attempt}`.execute(this.db);
    return Number(res.numAffectedRows ?? 0) > 0;
  }

  async release(connectorId: string, jobId: string, _reason: string): Promise<void> {
    // The job's run died, but its job id stays the same from one attempt to the next: a later
    // attempt, taken by another process, may hold it now. So the job is only made to expire
    // when nobody renewed its lease for two renewals (its holder is gone too); pg-boss's next
    // maintenance then hands it to the next attempt. A live holder keeps it.
    await sql`
      UPDATE ${sql.table(`${this.schema}.job`)} SET expire_in = (now() - started_on) - interval '1 second'
      WHERE name IN (${queueName(connectorId, 'runs')}, ${queueName(connectorId, 'requests')}) AND id = ${jobId}::uuid AND state = 'active'
        AND started_on + expire_in < now() + make_interval(secs => ${this.leaseSeconds - (2 * this.renewMs) / 1000})`.execute(this.db);
  }

  async stop(): Promise<void> {
    // No more looks; the jobs in hand end first (the server has aborted their runs, and a job
    // stopped that way fails, so its retry goes to another process), then pg-boss stops.
    this.stopping = true;
    const active = [...this.workers.values()].map((w) => w.active);
    for (const w of this.workers.values()) {
      w.stopped = true;
      clearTimeout(w.timer);
    }
    this.workers.clear();
    await Promise.race([Promise.allSettled(active), new Promise((r) => setTimeout(r, 20_000).unref())]);
    await this.boss.stop({ graceful: true, wait: true, timeout: 20_000 });
  }

  private async ensureQueue(connectorId: string, lane: JobLane): Promise<void> {
    const name = queueName(connectorId, lane);
    if (await this.boss.getQueue(name)) return;
    // One creation at a time (see oneAtATime); a process that waited finds the queue made.
    await oneAtATime(this.db, `idsync.pg-boss.${this.schema}`, async () => {
      if (await this.boss.getQueue(name)) return;
      await this.boss.createQueue(name, { name, policy: lane === 'runs' ? 'stately' : 'standard', retryLimit: JOB_RETRY_LIMIT, retryDelay: 0, expireInSeconds: this.leaseSeconds });
    });
  }
}
