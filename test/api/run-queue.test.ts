// Triggers and the run queue: every trigger is a job (src/jobs/triggers.ts). 202 means the run is
// claimed (a connector held by another idsync process is refused with 409 at the trigger, never
// 202 and then "already running"); full syncs are refused while a run is in progress;
// single-user syncs queue, first come first served, with a bounded wait and a bounded queue.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Store } from '../../src/store/index.ts';
import { RunCoordinator } from '../../src/server/run-coordinator.ts';
import { LocalJobQueue } from '../../src/jobs/local-queue.ts';
import { JobRunner } from '../../src/jobs/runner.ts';
import { RunTriggers } from '../../src/jobs/triggers.ts';
import { HttpError } from '../../src/server/routes.ts';
import type { ConnectorConfig } from '../../src/config/schema.ts';
import { FakeEngine, newConnectorInput } from './fakes.ts';
import { harness, STORE_KINDS, type Harness } from './helpers.ts';

const quietLog = { error() {} };

for (const kind of STORE_KINDS) {
  describe(`sync triggers on ${kind}`, () => {
    let h: Harness;
    before(async () => {
      h = await harness({ store: kind });
      const created = await h.admin.post('/api/v1/connectors', { config: newConnectorInput() });
      assert.equal(created.status, 201, created.text);
    });
    after(async () => {
      await h.dispose();
    });

    test('two quick full-sync triggers: 202 for a claimed run, then 409 naming it', async () => {
      h.engine.hold();
      const answers = await Promise.all([h.admin.post('/api/v1/connectors/contoso/sync', { kind: 'full' }), h.admin.post('/api/v1/connectors/contoso/sync', { kind: 'full' })]);
      assert.deepEqual(answers.map((a) => a.status).sort(), [202, 409]);
      const refused = answers.find((a) => a.status === 409)!;
      assert.match(refused.body.error, /a full sync of connector contoso is running since .* \(started by ui\)/);
      const running = (await h.store.runs.list({ connectorId: 'contoso' })).filter((r) => r.status === 'running');
      assert.equal(running.length, 1, 'the 202 stands for a run claimed in the store');
      h.engine.release();
      await h.server.runs.stopAll();
      const runs = await h.store.runs.list({ connectorId: 'contoso' });
      assert.deepEqual(runs.map((r) => r.status), ['partial'], 'one run, and it ran: no run failed "already running"');
    });

    test('an incremental-sync trigger starts an incremental run (not a single-user sync without a user)', async () => {
      const calls = h.engine.calls.length;
      const res = await h.admin.post('/api/v1/connectors/contoso/sync', { kind: 'incremental' });
      assert.equal(res.status, 202, res.text);
      assert.equal(res.body.active?.kind, 'incremental');
      await h.server.runs.stopAll();
      const req = h.engine.calls[calls];
      assert.equal(req?.kind, 'incremental');
      assert.equal(req?.userRef, undefined);
    });

    test('a connector held by another idsync process: 409 at the trigger, and nothing is started', async () => {
      const before = (await h.store.runs.list({ connectorId: 'contoso' })).length;
      await h.store.runs.create({ id: 'elsewhere-1', connectorId: 'contoso', kind: 'full', dryRun: false, reconcile: false, trigger: 'schedule', userRef: null, startedAt: new Date().toISOString() });
      // Recorded as run by a live process of another instance (its heartbeat is fresh).
      await h.store.db.updateTable('runs').set({ owner_host: 'idsync-2', owner_pid: 4242, owner_token: 'other-instance', owner_pid_space: 'linux:another-machine:pid:[1]' }).where('id', '=', 'elsewhere-1').execute();
      try {
        const res = await h.admin.post('/api/v1/connectors/contoso/sync', { kind: 'full' });
        assert.equal(res.status, 409, res.text);
        assert.match(res.body.error, /already running \(run elsewhere-1, started .* by pid 4242 on host idsync-2\)/);
        const runs = await h.store.runs.list({ connectorId: 'contoso' });
        assert.equal(runs.length, before + 1, 'no run was journaled for the refused trigger');
        const activity = (await h.admin.get('/api/v1/connectors/contoso/activity')).body;
        assert.equal(activity.active, undefined, 'nothing runs here');
        assert.notEqual(activity.last?.error?.includes('already running'), true, 'no failed run is reported for a trigger that was refused');
      } finally {
        await h.store.runs.update('elsewhere-1', { status: 'failed', finishedAt: new Date().toISOString() });
      }
    });

    test('deleting a connector whose run belongs to another idsync process: 409 naming that run', async () => {
      await h.store.runs.create({ id: 'elsewhere-2', connectorId: 'contoso', kind: 'full', dryRun: false, reconcile: false, trigger: 'schedule', userRef: null, startedAt: new Date().toISOString() });
      await h.store.db.updateTable('runs').set({ owner_host: 'idsync-3', owner_pid: 4343, owner_token: 'third-instance', owner_pid_space: 'linux:another-machine:pid:[1]' }).where('id', '=', 'elsewhere-2').execute();
      try {
        const res = await h.admin.del('/api/v1/connectors/contoso');
        assert.equal(res.status, 409, res.text);
        assert.match(res.body.error, /a run of this connector is in progress \(run elsewhere-2, full, started .* by pid 4343 on host idsync-3\)/);
        assert.ok(await h.store.connectors.get('contoso'), 'the connector is still there');
      } finally {
        await h.store.runs.update('elsewhere-2', { status: 'failed', finishedAt: new Date().toISOString() });
      }
    });

    test(`a user sync during a full sync waits and answers with its own result; both are jobs of the ${kind === 'postgres' ? 'pg-boss' : 'in-process'} queue`, async () => {
      assert.equal(h.server.jobs.queue.kind, kind === 'postgres' ? 'pg-boss' : 'in-process');
      h.engine.hold();
      const full = await h.admin.post('/api/v1/connectors/contoso/sync', { kind: 'full' });
      assert.equal(full.status, 202, full.text);
      await h.engine.started;
      const pending = h.admin.post('/api/v1/connectors/contoso/sync', { kind: 'user', userRef: 'adele@contoso.test' });
      let queued = 0;
      for (let i = 0; i < 500 && queued < 1; i++) {
        queued = (await h.admin.get('/api/v1/connectors/contoso/activity')).body.queued ?? 0;
        if (queued < 1) await new Promise((r) => setTimeout(r, 10));
      }
      assert.equal(queued, 1, 'the user sync waits for its turn');
      h.engine.release();
      const answer = await pending;
      assert.equal(answer.status, 200, answer.text);
      assert.equal(answer.body.run.kind, 'user');
      assert.equal(answer.body.run.status, 'succeeded');
      assert.equal(answer.body.user?.found, true, "the answer is the user sync's own report");
      const fullRun = (await h.store.runs.get(full.body.active.runId))!;
      assert.ok(answer.body.run.startedAt >= fullRun.finishedAt!, 'it ran after the full sync');
      const rows = await h.store.db.selectFrom('runs').select(['id', 'job_id']).where('id', 'in', [fullRun.id, answer.body.run.id]).execute();
      assert.equal(rows.length, 2);
      assert.ok(rows.every((r) => r.job_id), 'both ran as jobs of the queue (their runs carry the job id)');
      assert.notEqual(rows[0]!.job_id, rows[1]!.job_id);
      await h.server.runs.stopAll();
    });

    test('five parallel single-user syncs of one connector all succeed, one after the other', async () => {
      h.engine.maxRunning = 0;
      const calls = h.engine.calls.length;
      h.engine.hold(); // the first one holds the connector until the other four are queued
      const pending = Array.from({ length: 5 }, () => h.admin.post('/api/v1/connectors/contoso/sync', { kind: 'user', userRef: 'adele@contoso.test' }));
      await h.engine.started;
      let queued = 0;
      for (let i = 0; i < 500 && queued < 4; i++) {
        queued = (await h.admin.get('/api/v1/connectors/contoso/activity')).body.queued ?? 0;
        if (queued < 4) await new Promise((r) => setTimeout(r, 10));
      }
      assert.equal(queued, 4, 'four wait while the first runs');
      h.engine.release();
      const answers = await Promise.all(pending);
      assert.deepEqual(answers.map((a) => a.status), [200, 200, 200, 200, 200], answers.map((a) => a.text).join('\n'));
      assert.ok(answers.every((a) => a.body.run.status === 'succeeded'), 'every user sync ran to its end');
      assert.equal(h.engine.calls.length - calls, 5);
      assert.equal(h.engine.maxRunning, 1, 'never two at once');
    });
  });
}

describe('the single-user sync queue', () => {
  let store: Store;
  const connector = { id: 'q', source: { type: 'entra', requiredGroups: [] }, targets: [] } as unknown as ConnectorConfig;
  const full = { connector, kind: 'full' as const, trigger: 'api' as const };
  const user = (ref: string) => ({ connector, kind: 'user' as const, userRef: ref, trigger: 'api' as const });
  before(async () => {
    store = await Store.open({ databaseUrl: ':memory:' });
    // A job reads its connector fresh from the store when it starts.
    await store.connectors.save(connector);
    await store.connectors.save({ ...connector, id: 'q2' });
  });
  after(async () => {
    await store.close();
  });
  /** The server's path on SQLite (triggers -> in-process queue -> runner -> coordinator) with the given queue policy. */
  async function triggers(engine: FakeEngine, policy: { waitMs: number; maxWaiting: number }) {
    const queue = new LocalJobQueue(quietLog);
    const coordinator = new RunCoordinator(engine, quietLog);
    const runner = new JobRunner(store, queue, coordinator, { ...quietLog, info() {}, warn() {} });
    await runner.start();
    return { runs: new RunTriggers(store, queue, coordinator, policy), runner, queue };
  }
  /** Triggers with the given queue policy, and a full sync of `q` held open through them. */
  async function fullSyncHeld(policy: { waitMs: number; maxWaiting: number }) {
    const engine = new FakeEngine(store);
    const t = await triggers(engine, policy);
    engine.hold();
    await t.runs.startInBackground(full);
    return { engine, ...t };
  }

  test('a user sync waits behind a full sync and runs when it ends; a full sync behind a user sync is refused', async () => {
    const { engine, runs, runner } = await fullSyncHeld({ waitMs: 60_000, maxWaiting: 5 });
    const waiting = runs.start(user('adele@contoso.test'));
    for (let i = 0; i < 200 && !(await runs.activity('q')).queued; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal((await runs.activity('q')).queued, 1);
    engine.release();
    const done = await waiting;
    assert.equal(done.run.kind, 'user');
    assert.equal(done.run.status, 'succeeded');
    engine.hold();
    const userRun = runs.start(user('megan@contoso.test'));
    await engine.started;
    await assert.rejects(runs.startInBackground(full), (e: HttpError) => e.status === 409 && /a sync of user megan@contoso.test of connector q is running .*a full sync or simulation is not queued/.test(e.message));
    engine.release();
    await userRun;
    await runs.stopAll();
    runner.stop();
  });

  test('a job waiting on the queue keeps its connector busy (what deleting it is refused for), with no run anywhere', async () => {
    // A queue nobody takes jobs from yet: the job only waits (as on an instance whose workers are all busy).
    const queue = new LocalJobQueue(quietLog);
    const runs = new RunTriggers(store, queue, new RunCoordinator(new FakeEngine(store), quietLog));
    assert.equal(await runs.busy('q'), undefined, 'idle at first');
    const queued = await queue.enqueue({ connectorId: 'q', kind: 'full', trigger: 'schedule', slot: '2026-12-01T10:00:00.000Z' });
    assert.equal(queued.queued, true);
    assert.equal(await store.runs.active('q'), undefined, 'no run in the runs table');
    assert.match((await runs.busy('q')) ?? '', /1 job\(s\) are waiting to start/);
    await runs.forget('q');
    assert.equal(await runs.busy('q'), undefined, 'the deleted connector\'s waiting job is dropped');
  });

  test('the wait and the queue are bounded, with a 409 that says why; shutdown turns the waiting away', async () => {
    const { engine, runs, runner } = await fullSyncHeld({ waitMs: 200, maxWaiting: 1 });
    const first = runs.start(user('adele@contoso.test'));
    first.catch(() => undefined); // asserted below
    for (let i = 0; i < 200 && !(await runs.activity('q')).queued; i++) await new Promise((r) => setTimeout(r, 5));
    await assert.rejects(runs.start(user('megan@contoso.test')), (e: HttpError) => e.status === 409 && /1 user syncs are already waiting/.test(e.message));
    await assert.rejects(first, (e: HttpError) => e.status === 409 && /a full sync of connector q is running .*this user sync waited 0.2 s for it .*try again when it has finished/.test(e.message));
    assert.equal((await runs.activity('q')).queued, undefined, 'the refused user sync left the queue');
    const late = await triggers(engine, { waitMs: 60_000, maxWaiting: 1 });
    await late.runs.startInBackground({ ...full, connector: { ...connector, id: 'q2' } });
    const turnedAway = late.runs.start({ ...user('adele@contoso.test'), connector: { ...connector, id: 'q2' } });
    for (let i = 0; i < 200 && !(await late.runs.activity('q2')).queued; i++) await new Promise((r) => setTimeout(r, 10));
    const stopping = late.runs.stopAll();
    await assert.rejects(turnedAway, (e: HttpError) => e.status === 503);
    engine.release();
    await stopping;
    await late.queue.idle();
    await runs.stopAll();
    runner.stop();
    late.runner.stop();
    assert.deepEqual(engine.calls.filter((c) => c.kind === 'user').map((c) => [c.connector.id, c.userRef]), [], 'no refused user sync reached the engine');
  });
});
