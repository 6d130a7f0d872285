// The scheduler: a run missed while idsync was down runs once at start (not once per missed
// slot), schedules are described in words with their next runs, and a slot during a run is skipped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Store } from '../../src/store/index.ts';
import { AuthRepo } from '../../src/store/auth.ts';
import { RunCoordinator } from '../../src/server/run-coordinator.ts';
import { Scheduler } from '../../src/server/scheduler.ts';
import { LocalJobQueue } from '../../src/jobs/local-queue.ts';
import { JobRunner } from '../../src/jobs/runner.ts';
import { RunTriggers } from '../../src/jobs/triggers.ts';
import { SlotClaims } from '../../src/jobs/slots.ts';
import { describeSchedule, missedSlot } from '../../src/server/schedule.ts';
import { FakeEngine } from './fakes.ts';
import type { ConnectorConfig } from '../../src/config/schema.ts';

type Log = { info(o: unknown, m?: string): void; warn(o: unknown, m?: string): void; error(o: unknown, m?: string): void };
const quietLog: Log = { info() {}, warn() {}, error() {} };

/** The server's wiring on SQLite: scheduler and triggers -> in-process job queue -> runner -> coordinator. */
async function scheduling(store: Store, engine: FakeEngine, log: Log) {
  const marks = new AuthRepo(store.db);
  const coordinator = new RunCoordinator(engine, log);
  const queue = new LocalJobQueue(log);
  const runner = new JobRunner(store, queue, coordinator, log);
  await runner.start();
  const runs = new RunTriggers(store, queue, coordinator);
  const scheduler = new Scheduler(store, marks, queue, log);
  return { marks, runs, queue, runner, scheduler };
}

const connector = (id: string, cron: string): ConnectorConfig => ({
  id,
  source: { type: 'entra', requiredGroups: [] },
  targets: [{ id: 'jira', type: 'jira-dc', mapping: [], createUsers: true, createMissingGroups: false, concurrency: 8 }],
  schedule: { cron, timezone: 'Europe/Berlin', enabled: true, incremental: false },
});

test('a connector that missed many hourly slots while down runs exactly once at start', async () => {
  const s2 = await Store.open({ databaseUrl: ':memory:' });
  try {
    const engine = new FakeEngine(s2);
    await s2.connectors.save(connector('hourly', '0 * * * *'));
    await s2.connectors.save(connector('yearly', '0 0 1 1 *'));
    const { marks, runs, queue, scheduler } = await scheduling(s2, engine, quietLog);
    const threeDaysAgo = new Date(Date.now() - 3 * 86_400_000).toISOString();
    await marks.markSlot('hourly', threeDaysAgo);
    await marks.markSlot('yearly', new Date().toISOString());
    await scheduler.start();
    await queue.idle();
    assert.deepEqual(engine.calls.map((c) => [c.connector.id, c.trigger]), [['hourly', 'schedule']]);
    assert.ok(new Date((await marks.lastSlot('hourly'))!).getTime() > Date.now() - 60_000, 'the catch-up is remembered as done');
    // A second start (e.g. a quick restart) does not run it again.
    await scheduler.start();
    await queue.idle();
    assert.equal(engine.calls.length, 1);
    assert.deepEqual((await new SlotClaims(s2.db).list('hourly')).map((s) => s.kind), ['full'], 'one slot claimed: the first one missed');
    assert.ok(scheduler.nextRun('hourly'), "scheduler.nextRun('hourly')");
    assert.ok(scheduler.nextRun('yearly'), "scheduler.nextRun('yearly')");
    scheduler.stop();
    await runs.stopAll();
  } finally {
    await s2.close();
  }
});

test('schedules are described in words with the next three runs in their time zone', () => {
  const d = describeSchedule('0 2 * * 1-5', 'Europe/Berlin', new Date('2026-11-27T12:00:00Z'));
  assert.equal(d.valid, true);
  assert.match(d.text!, /02:00.*Monday through Friday.*Europe\/Berlin/);
  assert.deepEqual(d.next, ['2026-11-30T01:00:00.000Z', '2026-12-01T01:00:00.000Z', '2026-12-02T01:00:00.000Z']);
  assert.equal(describeSchedule('0 2 * * *', 'Mars/Olympus').valid, false);
  assert.match(describeSchedule('99 * * * *', 'UTC').error!, /minute/);
});

test('missedSlot finds the first slot after the last run only when it has passed', () => {
  const now = new Date('2026-11-27T12:30:00Z');
  assert.equal(missedSlot('0 * * * *', 'UTC', new Date('2026-11-27T12:00:00Z'), now), undefined);
  assert.equal(missedSlot('0 * * * *', 'UTC', new Date('2026-11-27T10:00:00Z'), now)?.toISOString(), '2026-11-27T11:00:00.000Z');
});

test('a slot during a single-user sync waits its turn; a slot during a full sync is skipped', async () => {
  const s2 = await Store.open({ databaseUrl: ':memory:' });
  try {
    const engine = new FakeEngine(s2);
    const c = connector('busy', '0 * * * *');
    await s2.connectors.save(c);
    const warnings: string[] = [];
    const log = { ...quietLog, warn: (_o: unknown, msg?: string) => void warnings.push(String(msg)) };
    const { marks, runs, queue, scheduler } = await scheduling(s2, engine, log);
    await marks.markSlot('busy', threeDaysAgo());
    engine.hold();
    const user = runs.start({ connector: c, kind: 'user', userRef: 'adele@contoso.test', trigger: 'api' });
    await engine.started;
    const starting = scheduler.start(); // the missed slot fires now, behind the user sync
    for (let i = 0; i < 500 && !(await runs.activity('busy')).queued; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal((await runs.activity('busy')).queued, 1, 'the scheduled sync waits behind the user sync');
    engine.release();
    await user;
    await starting;
    await queue.idle();
    assert.deepEqual(engine.calls.map((r) => [r.kind, r.trigger]), [['user', 'api'], ['full', 'schedule']]);
    assert.deepEqual(warnings, []);

    // A full sync in progress: the slot is skipped, with a warning.
    engine.hold();
    await runs.startInBackground({ connector: c, kind: 'full', trigger: 'api' });
    await marks.markSlot('busy', new Date(Date.now() - 2 * 86_400_000).toISOString()); // another missed slot
    await scheduler.start();
    // The API's full sync is a job too (the one active); the slot queued none behind it.
    assert.deepEqual((await queue.depth()).busy, { waiting: 0, active: 1 }, 'only the full sync in progress');
    assert.equal(engine.calls.filter((r) => r.trigger === 'schedule').length, 1, 'no second scheduled run');
    assert.match(warnings[0] ?? '', /scheduled full sync skipped: a full sync of connector busy is running since/);
    engine.release();
    await queue.idle();
    assert.equal(engine.calls.filter((r) => r.trigger === 'schedule').length, 1, 'still no second scheduled run once the full sync ended');
    await runs.stopAll();
    scheduler.stop();
  } finally {
    await s2.close();
  }
});

function threeDaysAgo(): string {
  return new Date(Date.now() - 3 * 86_400_000).toISOString();
}
