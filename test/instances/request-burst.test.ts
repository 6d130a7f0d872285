// The bound on waiting single-user syncs holds under a burst: 40 requests at the same instant,
// while another process's run holds the connector, get exactly maxWaiting (20) queued and the rest
// refused with the 409 that says why — the count and the enqueue are one step (JobQueue.exclusive).
// On SQLite one process with its in-process queue; on PostgreSQL two instances (stores, pg-boss
// queues, runners) sharing one schema, the burst split between them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { Store } from '../../src/store/index.ts';
import { RunCoordinator } from '../../src/server/run-coordinator.ts';
import { LocalJobQueue } from '../../src/jobs/local-queue.ts';
import { PgBossJobQueue } from '../../src/jobs/pg-boss-queue.ts';
import { JobRunner } from '../../src/jobs/runner.ts';
import { RunTriggers } from '../../src/jobs/triggers.ts';
import type { JobQueue } from '../../src/jobs/types.ts';
import type { ConnectorConfig } from '../../src/config/schema.ts';
import { HttpError } from '../../src/server/routes.ts';
import { FakeEngine } from '../api/fakes.ts';
import { openPostgresStore, openSqliteStore, PG_URL, type TestStore } from '../helpers/stores.ts';

const quiet = { error() {}, warn() {}, info() {} };
const BURST = 40;
const MAX_WAITING = 20;
/** Long enough for the burst to be answered; the accepted ones are then refused by their wait. */
const WAIT_MS = 6_000;
const connector = { id: 'burst', source: { type: 'entra', requiredGroups: [] }, targets: [] } as unknown as ConnectorConfig;

async function postgresReachable(): Promise<boolean> {
  const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** A running run of the connector owned by a live process of another machine: the requests wait behind it. */
async function holdElsewhere(store: Store): Promise<void> {
  await store.runs.create({ id: 'held-elsewhere', connectorId: connector.id, kind: 'full', dryRun: false, reconcile: false, trigger: 'schedule', userRef: null, startedAt: new Date().toISOString() });
  await store.db.updateTable('runs').set({ owner_host: 'idsync-9', owner_pid: 4242, owner_token: 'other-instance', owner_pid_space: 'linux:another-machine:pid:[1]' }).where('id', '=', 'held-elsewhere').execute();
}

async function burst(instances: RunTriggers[]): Promise<{ queuedRefusals: string[]; waitedRefusals: number; other: string[] }> {
  const answers = await Promise.allSettled(
    Array.from({ length: BURST }, (_, i) => instances[i % instances.length]!.start({ connector, kind: 'user', userRef: `user${i}@contoso.test`, trigger: 'api' })),
  );
  const queuedRefusals: string[] = [];
  let waitedRefusals = 0;
  const other: string[] = [];
  for (const a of answers) {
    const e = a.status === 'rejected' ? (a.reason as HttpError) : undefined;
    if (e?.status === 409 && /user syncs are already waiting for it; try again when they have run/.test(e.message)) queuedRefusals.push(e.message);
    else if (e?.status === 409 && /waited 6 s for it .*was not started/.test(e.message)) waitedRefusals++;
    else other.push(a.status === 'fulfilled' ? 'answered with a result' : `${e?.status} ${e?.message}`);
  }
  return { queuedRefusals, waitedRefusals, other };
}

async function instance(store: Store, queue: JobQueue): Promise<{ triggers: RunTriggers; runner: JobRunner; queue: JobQueue }> {
  const coordinator = new RunCoordinator(new FakeEngine(store), quiet);
  const runner = new JobRunner(store, queue, coordinator, quiet);
  await runner.start();
  return { triggers: new RunTriggers(store, queue, coordinator, { waitMs: WAIT_MS, maxWaiting: MAX_WAITING }), runner, queue };
}

function check(r: Awaited<ReturnType<typeof burst>>): void {
  assert.deepEqual(r.other, [], 'every answer is one of the two refusals');
  assert.equal(r.queuedRefusals.length, BURST - MAX_WAITING, `exactly ${BURST - MAX_WAITING} refused at once for the full queue`);
  assert.equal(r.waitedRefusals, MAX_WAITING, `exactly ${MAX_WAITING} were queued (and waited their bounded wait)`);
  assert.match(r.queuedRefusals[0]!, /a full sync of connector burst is running .* and 20 user syncs are already waiting for it/, 'the refusal names the run and the queue');
}

test(`SQLite: ${BURST} user syncs at once, ${MAX_WAITING} queued, the rest refused`, { timeout: 60_000 }, async () => {
  const t: TestStore = await openSqliteStore();
  const one = await instance(t.store, new LocalJobQueue(quiet));
  try {
    await t.store.connectors.save(connector);
    await holdElsewhere(t.store);
    check(await burst([one.triggers]));
  } finally {
    one.runner.stop();
    await one.queue.stop();
    await t.dispose();
  }
});

test(`PostgreSQL: ${BURST} user syncs at once on two instances, ${MAX_WAITING} queued, the rest refused`, { timeout: 90_000, skip: !(await postgresReachable()) && `PostgreSQL is not reachable at ${PG_URL.replace(/\/\/[^@]*@/, '//')}` }, async () => {
  const t = await openPostgresStore();
  const second = await Store.open(t.options);
  const made: Array<Awaited<ReturnType<typeof instance>>> = [];
  try {
    await t.store.connectors.save(connector);
    for (const s of [t.store, second]) made.push(await instance(s, await PgBossJobQueue.open(s.db, quiet, { pollingIntervalSeconds: 0.5 })));
    await holdElsewhere(t.store);
    check(await burst(made.map((m) => m.triggers)));
  } finally {
    for (const m of made) m.runner.stop();
    await Promise.all(made.map((m) => m.queue.stop()));
    await second.close();
    await t.dispose();
  }
});
