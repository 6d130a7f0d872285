// The job queue's contract, for both implementations: the in-process queue (SQLite) and pg-boss
// (PostgreSQL). Per connector one job runs and one waits, a third is refused; connectors are
// independent; depth counts waiting and active jobs. On pg-boss, a job whose process died is
// handed to another process after its lease, or sooner by release() once its holder stopped renewing.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { LocalJobQueue } from '../../src/jobs/local-queue.ts';
import { PgBossJobQueue, bossDatabase, bossSchemaOf } from '../../src/jobs/pg-boss-queue.ts';
import { Kysely, PostgresDialect, sql } from 'kysely';
import type { Database } from '../../src/store/schema.ts';
import { Store } from '../../src/store/index.ts';
import type { JobMeta, JobQueue, RunJob } from '../../src/jobs/types.ts';
import { openPostgresStore, PG_URL, type TestStore } from '../helpers/stores.ts';
import { spawn } from 'node:child_process';
import { JobRunner } from '../../src/jobs/runner.ts';
import { RunCoordinator } from '../../src/server/run-coordinator.ts';
import { thisProcess } from '../../src/store/run-owner.ts';
import type { EngineService } from '../../src/server/services.ts';

const quiet = { warn() {}, error() {} };

/** A handler whose jobs run until the test lets each one end, recording what ran when. */
function heldHandler() {
  const started: Array<{ job: RunJob; meta: JobMeta }> = [];
  const releases: Array<() => void> = [];
  let running = 0;
  let maxRunning = 0;
  let onStart: (() => void) | undefined;
  const handler = async (job: RunJob, meta: JobMeta) => {
    started.push({ job, meta });
    running++;
    maxRunning = Math.max(maxRunning, running);
    onStart?.();
    await new Promise<void>((r) => releases.push(r));
    running--;
  };
  /** Resolves once `n` jobs have started in all. */
  const startedCount = (n: number) =>
    new Promise<void>((resolve) => {
      const check = () => {
        if (started.length >= n) resolve();
      };
      onStart = check;
      check();
    });
  const releaseNext = () => releases.shift()?.();
  const releaseAll = () => releases.splice(0).forEach((r) => r());
  return { handler, started, startedCount, releaseNext, releaseAll, get maxRunning() { return maxRunning; } };
}

const job = (connectorId: string, slot: string): RunJob => ({ connectorId, kind: 'full', trigger: 'schedule', slot });

interface Kind {
  name: string;
  open(): Promise<JobQueue>;
}

const pgStores: TestStore[] = [];
const kinds: Kind[] = [
  { name: 'in process (SQLite)', open: async () => new LocalJobQueue(quiet) },
  {
    name: 'pg-boss (PostgreSQL)',
    async open() {
      const t = await openPostgresStore();
      pgStores.push(t);
      return PgBossJobQueue.open(t.store.db, quiet, { pollingIntervalSeconds: 0.5 });
    },
  },
];

after(async () => {
  // Each store is disposed (its schemas dropped) even when another's disposal threw.
  const disposed = await Promise.allSettled(pgStores.map((t) => t.dispose()));
  for (const d of disposed) if (d.status === 'rejected') throw d.reason;
});

for (const kind of kinds) {
  describe(`job queue: ${kind.name}`, () => {
    test('one job of a connector runs, one waits, a third is refused; another connector runs beside it', async () => {
      const q = await kind.open();
      const h = heldHandler();
      try {
        await q.start(h.handler, ['a', 'b']);
        const first = await q.enqueue(job('a', 's1'));
        assert.equal(first.queued, true, 'the first job is taken');
        await h.startedCount(1);
        const second = await q.enqueue(job('a', 's2'));
        assert.equal(second.queued, true, 'one job may wait behind the running one');
        const third = await q.enqueue(job('a', 's3'));
        assert.equal(third.queued, false, 'a second waiting job is refused');
        assert.match(third.queued ? '' : third.reason, /already waiting to start/);
        assert.deepEqual((await q.depth()).a, { waiting: 1, active: 1 });
        assert.equal((await q.enqueue(job('b', 's1'))).queued, true);
        await h.startedCount(2);
        assert.deepEqual(h.started.map((s) => [s.job.connectorId, s.job.slot]), [['a', 's1'], ['b', 's1']], 'b runs while a is busy; a waits');
        h.releaseNext(); // a/s1 ends
        await h.startedCount(3);
        assert.deepEqual(h.started[2]?.job, job('a', 's2'), 'the waiting job of a runs next');
        h.releaseNext();
        h.releaseNext();
        assert.equal(h.maxRunning, 2, 'never two jobs of one connector at once (a and b together make two)');
      } finally {
        h.releaseAll();
        await q.stop();
      }
    });
  });
}

/** Process "dies" in this test: it stops renewing its jobs' leases and stops looking for jobs (its handler is left hanging). */
async function die(q: PgBossJobQueue, connectorId: string): Promise<void> {
  q.renew = async () => true;
  await q.unwatch(connectorId);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('job queue: pg-boss hands the job of a dead process to another', () => {
  test('a job whose process stopped renewing its lease is taken by another process once the lease ran out, as its next attempt', async () => {
    const t = await openPostgresStore();
    pgStores.push(t);
    const lease = { pollingIntervalSeconds: 0.5, leaseSeconds: 5, renewMs: 1000, maintenanceSeconds: 1 };
    const a = await PgBossJobQueue.open(t.store.db, quiet, lease);
    const b = await PgBossJobQueue.open(t.store.db, quiet, lease);
    const ha = heldHandler();
    const hb = heldHandler();
    try {
      await a.start(ha.handler, ['c']);
      await b.start(hb.handler, ['c']);
      const queued = await a.enqueue(job('c', 'slot-1'));
      assert.ok(queued.queued, 'queued');
      await Promise.race([ha.startedCount(1), hb.startedCount(1)]);
      const [holder, holderH, other, otherH] = ha.started.length ? [a, ha, b, hb] : [b, hb, a, ha];
      // Alive, it keeps the job past its lease: renewals extend it.
      await sleep(7000);
      assert.equal(otherH.started.length, 0, 'a live holder keeps its job beyond one lease');
      await die(holder, 'c');
      await otherH.startedCount(1);
      assert.equal(otherH.started[0]?.meta.jobId, queued.jobId, 'the same job');
      assert.equal(otherH.started[0]?.meta.attempt, 1, 'as its second attempt');
      assert.deepEqual(otherH.started[0]?.job, job('c', 'slot-1'));
      assert.equal(holderH.started.length, 1);
      void other;
    } finally {
      ha.releaseAll();
      hb.releaseAll();
      await a.stop();
      await b.stop();
    }
  });

  test('release() hands on a job whose holder stopped renewing before its lease ran out, and leaves a live holder alone', async () => {
    const t = await openPostgresStore();
    pgStores.push(t);
    const lease = { pollingIntervalSeconds: 0.5, leaseSeconds: 60, renewMs: 1000, maintenanceSeconds: 1 };
    const a = await PgBossJobQueue.open(t.store.db, quiet, lease);
    const b = await PgBossJobQueue.open(t.store.db, quiet, lease);
    const ha = heldHandler();
    const hb = heldHandler();
    try {
      await a.start(ha.handler, ['c']);
      const queued = await a.enqueue(job('c', 'slot-1'));
      assert.ok(queued.queued, 'queued');
      await ha.startedCount(1);
      await b.start(hb.handler, ['c']);
      await sleep(2500);
      await b.release('c', queued.jobId, 'its run looked dead');
      await sleep(3000);
      assert.equal(hb.started.length, 0, 'A still renews its lease: the job stays with it');
      assert.deepEqual((await b.depth()).c, { waiting: 0, active: 1 });
      await die(a, 'c');
      await sleep(2500); // two renewals missed
      await b.release('c', queued.jobId, 'its run died');
      const released = Date.now();
      await hb.startedCount(1);
      assert.ok(Date.now() - released < 10_000, 'taken over long before the 60 s lease');
      assert.equal(hb.started[0]?.meta.jobId, queued.jobId, 'the same job');
      assert.equal(hb.started[0]?.meta.attempt, 1, 'as its second attempt');
    } finally {
      ha.releaseAll();
      hb.releaseAll();
      await a.stop();
      await b.stop();
    }
  });
});

describe('job queue: a restart hands on the job of the run its killed predecessor left', () => {
  test('JobRunner.reap marks the dead run failed and its job is taken again by the new process', async () => {
    const t = await openPostgresStore();
    pgStores.push(t);
    const before = await PgBossJobQueue.open(t.store.db, quiet, { pollingIntervalSeconds: 0.5, renewMs: 500, maintenanceSeconds: 1 });
    const ha = heldHandler();
    const hb = heldHandler();
    let after: PgBossJobQueue | undefined;
    try {
      await before.start(ha.handler, ['d']);
      const queued = await before.enqueue(job('d', 'slot-1'));
      assert.ok(queued.queued, 'queued');
      await ha.startedCount(1);
      await die(before, 'd'); // the process "is killed": its job stays active in pg-boss, unrenewed
      // Its run, claimed by a process of this machine that has ended since.
      const gone = spawn(process.execPath, ['-e', '']);
      const pid = await new Promise<number>((r) => gone.once('exit', () => r(gone.pid!)));
      await t.store.runs.create({ id: 'killed-run', connectorId: 'd', kind: 'full', dryRun: false, reconcile: false, trigger: 'schedule', userRef: null, startedAt: new Date().toISOString() });
      await t.store.runs.setJob('killed-run', queued.jobId);
      await t.store.db.updateTable('runs').set({ owner_pid: pid, owner_token: 'the-killed-process', owner_pid_space: thisProcess().pidSpace, owner_start_ticks: null }).where('id', '=', 'killed-run').execute();

      await sleep(1500); // its last renewal is two renewals old
      after = await PgBossJobQueue.open(t.store.db, quiet, { pollingIntervalSeconds: 0.5, renewMs: 500, maintenanceSeconds: 1 });
      const runner = new JobRunner(t.store, after, new RunCoordinator({} as EngineService, quiet), { info() {}, ...quiet });
      assert.equal(await runner.reap(), 1, 'one dead run');
      assert.match((await t.store.runs.get('killed-run'))?.error ?? '', new RegExp(`the process that ran it \\(pid ${pid} .*\\) is gone`));
      await after.start(hb.handler, ['d']);
      await hb.startedCount(1);
      assert.equal(hb.started[0]?.meta.jobId, queued.jobId, 'the killed run\'s job runs again');
      assert.equal(hb.started[0]?.meta.attempt, 1);
      assert.equal(await runner.reap(), 0, 'nothing more to reap');
    } finally {
      ha.releaseAll();
      hb.releaseAll();
      await before.stop();
      await after?.stop();
    }
  });
});

describe("job queue: pg-boss's database adapter", () => {
  test('a pg-boss transaction that fails part-way leaves its connection out of the transaction, for the next query', async () => {
    // One connection, so the query after the failure surely gets the one the failure ran on.
    const pool = new pg.Pool({ connectionString: PG_URL, max: 1 });
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    try {
      const boss = bossDatabase(db);
      const before = await boss.executeSql('SELECT pg_backend_pid() AS pid');
      // As pg-boss creates its schema when another process did so first: a statement of the
      // transaction fails with "already exists", which pg-boss takes for that race and ignores.
      await assert.rejects(boss.executeSql('BEGIN; CREATE TEMP TABLE boss_race (id int); CREATE TEMP TABLE boss_race (id int); COMMIT;'), /already exists/);
      const { rows } = await sql<{ pid: number; tx: string | null }>`SELECT pg_backend_pid() AS pid, pg_current_xact_id_if_assigned()::text AS tx`.execute(db);
      assert.equal(rows[0]!.pid, (before.rows[0] as { pid: number }).pid, 'the same connection');
      assert.equal(rows[0]!.tx, null, 'no transaction left open on it');
      const left = (await boss.executeSql("SELECT to_regclass('pg_temp.boss_race')::text AS t")).rows[0] as { t: string | null };
      assert.equal(left.t, null, 'the failed transaction was rolled back');
    } finally {
      await db.destroy();
    }
  });
});

describe('job queue: pg-boss started by several processes at once', () => {
  test('three queues opened together on a store without pg-boss schema all start, their stores go on working, and they create a queue together', async () => {
    const first = await openPostgresStore();
    // Three stores on one schema, each with its pool, as three idsync processes have.
    const stores = [first.store];
    const queues: PgBossJobQueue[] = [];
    try {
      for (let n = 0; n < 2; n++) stores.push(await Store.open(first.options));
      const opened = await Promise.allSettled(stores.map((s) => PgBossJobQueue.open(s.db, quiet)));
      for (const o of opened) if (o.status === 'fulfilled') queues.push(o.value);
      assert.deepEqual(opened.map((o) => (o.status === 'rejected' ? String(o.reason) : 'started')), ['started', 'started', 'started']);
      // What a start-up does next (JobRunner.reap, failInterrupted), on each store's pool.
      for (const s of stores) assert.equal(await s.runs.failInterrupted('test'), 0);
      // A connector's first jobs, sent by all three at once: each creates its queue first.
      const sent = await Promise.allSettled(queues.map((q) => q.enqueue(job('together', 'slot-1'))));
      assert.deepEqual(sent.map((o) => (o.status === 'rejected' ? String(o.reason) : 'sent')), ['sent', 'sent', 'sent']);
      assert.equal(sent.filter((o) => o.status === 'fulfilled' && o.value.queued).length, 1, 'stately: one job waits, the others are refused');
    } finally {
      await Promise.all(queues.map((q) => q.stop()));
      for (const s of stores.slice(1)) await s.close();
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS "${first.pgSchema}_boss" CASCADE`);
      await c.end();
      await first.dispose();
    }
  });
});
