// Incremental slots with two schedulers (two instances) on one PostgreSQL store: every slot of
// the interval is enqueued by exactly one of them, only for a source type with a change feed,
// and nothing for a connector whose incremental sync is off.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AuthRepo } from '../../src/store/auth.ts';
import { Scheduler } from '../../src/server/scheduler.ts';
import { SlotClaims } from '../../src/jobs/slots.ts';
import type { EnqueueResult, JobQueue, RunJob } from '../../src/jobs/types.ts';
import type { ConnectorConfig } from '../../src/config/schema.ts';
import { openPostgresStore } from '../helpers/stores.ts';

const quiet = { info() {}, warn() {} };

/** A queue that records what it is given, and tells when `n` jobs came in across all. */
function recordingQueues(n: number) {
  const got: Array<{ by: string; job: RunJob }> = [];
  let done!: () => void;
  const enough = new Promise<void>((r) => (done = r));
  const make = (by: string): JobQueue => ({
    kind: 'in-process',
    async start() {},
    async watch() {},
    async unwatch() {},
    async forget() {},
    async enqueue(job): Promise<EnqueueResult> {
      got.push({ by, job });
      if (got.length >= n) done();
      return { queued: true, connectorId: job.connectorId, lane: 'runs', jobId: `${by}-${got.length}` };
    },
    exclusive: (_id, _lane, fn) => fn(),
    async depth() {
      return {};
    },
    async laneDepth() {
      return { waiting: 0, active: 0 };
    },
    async state() {
      return { state: 'gone' };
    },
    async cancel() {
      return false;
    },
    async release() {},
    async stop() {},
  });
  return { got, enough, make };
}

const connector = (id: string, incremental: string | false): ConnectorConfig => ({
  id,
  source: { type: 'entra', requiredGroups: [] },
  targets: [],
  // A cron slot far away: only the interval fires during the test.
  schedule: { cron: '0 0 1 1 *', timezone: 'UTC', enabled: true, incremental },
});

test('two instances, an incremental sync every 10 s: each slot is enqueued once, by one of them', { timeout: 60_000 }, async () => {
  const t = await openPostgresStore();
  const schedulers: Scheduler[] = [];
  try {
    await t.store.connectors.save(connector('delta', '10s'));
    await t.store.connectors.save(connector('off', false));
    const marks = new AuthRepo(t.store.db);
    for (const id of ['delta', 'off']) await marks.markSlot(id, new Date().toISOString());
    const queues = recordingQueues(2);
    for (const by of ['one', 'two']) {
      const s = new Scheduler(t.store, marks, queues.make(by), quiet, () => new Date(), async (type) => type === 'entra');
      schedulers.push(s);
      await s.start();
    }
    assert.ok(schedulers[0]!.nextIncremental('delta'), 'the next incremental slot is known');
    assert.equal(schedulers[0]!.nextIncremental('off'), undefined, 'no interval where it is off');
    await queues.enough;
    for (const s of schedulers) s.stop();
    const slots = queues.got.map((g) => g.job.slot);
    assert.equal(new Set(slots).size, slots.length, `no slot enqueued twice: ${JSON.stringify(queues.got)}`);
    assert.ok(queues.got.every((g) => g.job.connectorId === 'delta' && g.job.kind === 'incremental' && g.job.trigger === 'schedule'), 'only the connector with an interval');
    for (const slot of slots) assert.equal(new Date(slot!).getTime() % 10_000, 0, `slot ${slot} is on the 10 s grid`);
    const claimed = (await new SlotClaims(t.store.db).list('delta', 'incremental')).map((c) => c.slot);
    assert.deepEqual(claimed.slice(0, slots.length), slots, 'every enqueued slot is the one claimed in the store');
  } finally {
    for (const s of schedulers) s.stop();
    await t.dispose();
  }
});
