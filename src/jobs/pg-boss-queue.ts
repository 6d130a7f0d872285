// The job queue shared by every idsync process on one PostgreSQL store, on pg-boss 10. One
// queue per connector with the "stately" policy: at most one job active and one waiting, across
// every process (pg-boss enforces it with unique indexes), so a connector's runs never overlap
// and a schedule slot that finds a run going waits once instead of piling up.
//
// Leases: pg-boss 10 has no heartbeat of its own; a job counts as lost only after its
// expiration, which would also cut off a long run that is alive. So the expiration is long
// (JOB_EXPIRE_SECONDS, a safety net for a process that died between taking a job and claiming
// its run) and the real lease is the runs table's owner heartbeat: when another process finds a
// run dead (src/store/runs.ts), the JobRunner calls release(), which fails the job in pg-boss and
// lets its retry go to whichever process takes it next.
import PgBoss from 'pg-boss';
import { CompiledQuery, sql, type Kysely } from 'kysely';
import type { Database } from '../store/schema.ts';
import type { EnqueueResult, JobHandler, JobQueue, QueueDepth, RunJob } from './types.ts';

/** The safety-net lease of a job (pg-boss allows less than 24 h). */
export const JOB_EXPIRE_SECONDS = 23 * 3600;
/** How often a crashed run's job may be handed on before it is given up. */
export const JOB_RETRY_LIMIT = 3;

const QUEUE_PREFIX = 'idsync-run-';
export const queueName = (connectorId: string) => `${QUEUE_PREFIX}${connectorId}`;

interface Logger {
  warn(obj: unknown, msg?: string): void;
  error(obj: unknown, msg?: string): void;
}

export interface PgBossQueueOptions {
  /** Seconds between a worker's looks for a job (pg-boss default 2). */
  pollingIntervalSeconds?: number;
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

export class PgBossJobQueue implements JobQueue {
  readonly kind = 'pg-boss' as const;
  private readonly workers = new Map<string, string>();
  private handler?: JobHandler;

  private constructor(
    private readonly db: Kysely<Database>,
    private readonly schema: string,
    private readonly boss: PgBoss,
    private readonly log: Logger,
    private readonly pollingIntervalSeconds: number,
  ) {}

  /** Opens pg-boss on the store's own connection pool (no second set of credentials). */
  static async open(db: Kysely<Database>, log: Logger, opts: PgBossQueueOptions = {}): Promise<PgBossJobQueue> {
    const schema = await bossSchemaOf(db);
    const boss = new PgBoss({
      db: bossDatabase(db),
      schema,
      // Schedules are claimed per slot in the store (src/jobs/slots.ts), not by pg-boss's cron.
      schedule: false,
      expireInSeconds: JOB_EXPIRE_SECONDS,
    });
    boss.on('error', (e: Error & { queue?: string }) => {
      // Two processes reaching for a connector's next job at once: the stately index refuses the
      // second (it tries again at its next poll). Anything else is worth a line.
      if (/duplicate key|unique constraint/i.test(e.message)) return;
      log.warn({ queue: e.queue, err: e.message }, 'job queue error (pg-boss)');
    });
    // Behind the lock, the later processes find the schema made and create nothing.
    await oneAtATime(db, `idsync.pg-boss.${schema}`, () => boss.start());
    return new PgBossJobQueue(db, schema, boss, log, opts.pollingIntervalSeconds ?? 2);
  }

  async start(handler: JobHandler, connectorIds: string[]): Promise<void> {
    this.handler = handler;
    for (const id of connectorIds) await this.watch(id);
  }

  async watch(connectorId: string): Promise<void> {
    if (!this.handler || this.workers.has(connectorId)) return;
    await this.ensureQueue(connectorId);
    const handler = this.handler;
    const worker = await this.boss.work<RunJob>(
      queueName(connectorId),
      { pollingIntervalSeconds: this.pollingIntervalSeconds, batchSize: 1, includeMetadata: true },
      async ([job]) => {
        if (job) await handler(job.data, { jobId: job.id, attempt: job.retryCount });
      },
    );
    this.workers.set(connectorId, worker);
  }

  async unwatch(connectorId: string): Promise<void> {
    const worker = this.workers.get(connectorId);
    this.workers.delete(connectorId);
    if (worker) await this.boss.offWork({ id: worker });
  }

  async forget(connectorId: string): Promise<void> {
    await this.unwatch(connectorId);
    // Another process may still look for jobs of it until it reloads (src/server/app.ts): it
    // finds none, and a job it had already taken finds no connector.
    if (await this.boss.getQueue(queueName(connectorId))) await this.boss.deleteQueue(queueName(connectorId));
  }

  async enqueue(job: RunJob): Promise<EnqueueResult> {
    await this.ensureQueue(job.connectorId);
    const id = await this.boss.send(queueName(job.connectorId), job as unknown as object, { retryLimit: JOB_RETRY_LIMIT, retryDelay: 0, expireInSeconds: JOB_EXPIRE_SECONDS });
    return id ? { queued: true, jobId: id } : { queued: false, reason: `a sync of connector ${job.connectorId} is already waiting to start` };
  }

  async depth(): Promise<Record<string, QueueDepth>> {
    const out: Record<string, QueueDepth> = {};
    for (const q of await this.boss.getQueues()) {
      if (!q.name.startsWith(QUEUE_PREFIX)) continue;
      const name = q.name;
      const waiting = await this.boss.getQueueSize(name, { before: 'active' });
      const upToActive = await this.boss.getQueueSize(name, { before: 'completed' });
      out[name.slice(QUEUE_PREFIX.length)] = { waiting, active: upToActive - waiting };
    }
    return out;
  }

  async release(connectorId: string, jobId: string, reason: string): Promise<void> {
    // Fails only a job not yet finished; with retries left it waits for the next taker at once.
    await this.boss.fail(queueName(connectorId), jobId, { reason });
  }

  async stop(): Promise<void> {
    // Graceful: pg-boss waits for active handlers (the server aborts its runs first) and fails
    // the ones still active at the end, so their retries go to another process.
    await this.boss.stop({ graceful: true, wait: true, timeout: 20_000 });
  }

  private async ensureQueue(connectorId: string): Promise<void> {
    const name = queueName(connectorId);
    if (await this.boss.getQueue(name)) return;
    // One creation at a time (see oneAtATime); a process that waited finds the queue made.
    await oneAtATime(this.db, `idsync.pg-boss.${this.schema}`, async () => {
      if (await this.boss.getQueue(name)) return;
      await this.boss.createQueue(name, { name, policy: 'stately', retryLimit: JOB_RETRY_LIMIT, retryDelay: 0, expireInSeconds: JOB_EXPIRE_SECONDS });
    });
  }
}
