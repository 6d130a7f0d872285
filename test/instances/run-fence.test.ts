// Fencing: a run that another process took for dead (its heartbeat went silent: the reaper marks
// it failed and its job goes to a new run) may wake up and try to go on. Its late writes to the
// journal, links, write intents and shadow (rows, checkpoint) are refused by the store, and its
// outcome does not overwrite the reaper's verdict. Writes made outside any run are not fenced.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { storeKinds } from '../helpers/stores.ts';
import { withRunFence } from '../../src/store/run-fence.ts';
import { STALE_AFTER_MS, type RunItem } from '../../src/store/runs.ts';
import type { Link } from '../../src/store/links.ts';
import type { Store } from '../../src/store/index.ts';

const link = (sourceId: string): Link => ({
  connectorId: 'c', targetId: 'jira', sourceId, targetKey: `key-${sourceId}`, targetUsername: sourceId, label: sourceId, applied: {}, managedGroups: [], missingSince: null, fingerprint: null,
});
const item = (seq: number, sourceId: string): RunItem => ({ seq, sourceId, label: sourceId, targetId: 'jira', operation: 'created', error: null, changes: [], details: null });
const refused = (e: unknown) => /run r1 no longer owns its connector/.test((e as Error).message);

async function claim(store: Store, id: string) {
  return store.runs.create({ id, connectorId: 'c', kind: 'incremental', dryRun: false, reconcile: false, trigger: 'schedule', userRef: null, startedAt: new Date().toISOString() });
}

for (const [kind, open] of storeKinds) {
  describe(`run fencing (${kind})`, () => {
    test('a run taken for dead cannot write its results afterwards', async () => {
      const t = await open();
      try {
        await t.store.connectors.save({ id: 'c', name: 'C', source: { type: 'entra', tenantId: 't', clientId: 'x' }, targets: [] } as never);
        await withRunFence(async () => {
          await claim(t.store, 'r1');
          // While it owns the connector, everything goes through.
          await t.store.links.upsertMany([link('u1')]);
          await t.store.runs.addItems('r1', [item(1, 'u1')]);
          await t.store.shadow.setState('c', { checkpoint: 'delta-1', checkpointKey: 'k' });
          // Another process's reaper finds it silent past the limit: failed, its job handed on.
          const dead = await t.store.runs.reapDead('c', Date.now() + STALE_AFTER_MS + 60_000);
          assert.deepEqual(dead.map((r) => r.id), ['r1']);
          // The stalled process wakes up and tries to go on.
          await assert.rejects(t.store.links.upsertMany([link('u2')]), refused, 'links');
          await assert.rejects(t.store.links.setMissing('c', 'jira', ['u1'], new Date().toISOString()), refused, 'missing marks');
          await assert.rejects(t.store.runs.addItems('r1', [item(2, 'u2')]), refused, 'journal');
          await assert.rejects(t.store.intents.record([{ connectorId: 'c', targetId: 'jira', sourceId: 'u3', runId: 'r1', op: 'create', targetKey: null, username: 'u3', email: null, label: 'u3', groupsAdd: [] } as never]), refused, 'write intents');
          await assert.rejects(t.store.shadow.put('c', [{ sourceId: 'u2', record: null, fingerprint: 'f', managerId: null, tombstone: 'soft', tombstoneAt: new Date().toISOString() } as never]), refused, 'shadow rows');
          await assert.rejects(t.store.shadow.setState('c', { checkpoint: 'delta-2' }), refused, 'shadow checkpoint');
          await assert.rejects(t.store.runs.update('r1', { status: 'succeeded', finishedAt: new Date().toISOString() }), refused, 'its outcome');
        });
        // Nothing of the late writes landed; the reaper's verdict stands.
        assert.equal(await t.store.links.get('c', 'jira', 'u2'), undefined);
        assert.equal((await t.store.links.get('c', 'jira', 'u1'))?.missingSince, null);
        assert.deepEqual((await t.store.runs.items('r1')).items.map((i) => i.sourceId), ['u1']);
        assert.equal((await t.store.shadow.state('c')).checkpoint, 'delta-1');
        assert.equal(await t.store.shadow.count('c'), 0);
        assert.deepEqual(await t.store.intents.outstanding('c'), []);
        assert.equal((await t.store.runs.get('r1'))?.status, 'failed');

        // The run that took the job over writes normally; so does anything outside a run (the UI).
        await withRunFence(async () => {
          await claim(t.store, 'r2');
          await t.store.links.upsertMany([link('u2')]);
          await t.store.shadow.setState('c', { checkpoint: 'delta-2' });
          await t.store.runs.update('r2', { status: 'succeeded', finishedAt: new Date().toISOString() });
        });
        await t.store.links.setMissing('c', 'jira', ['u1'], new Date().toISOString());
        assert.equal((await t.store.shadow.state('c')).checkpoint, 'delta-2');
        assert.equal((await t.store.runs.get('r2'))?.status, 'succeeded');
      } finally {
        await t.dispose();
      }
    });

    test('a run whose row another process now owns is refused too', async () => {
      const t = await open();
      try {
        await t.store.connectors.save({ id: 'c', name: 'C', source: { type: 'entra', tenantId: 't', clientId: 'x' }, targets: [] } as never);
        await withRunFence(async () => {
          await claim(t.store, 'r1');
          await t.store.db.updateTable('runs').set({ owner_token: 'another-process' }).where('id', '=', 'r1').execute();
          await assert.rejects(t.store.links.upsertMany([link('u1')]), (e: unknown) => refused(e) && /another process owns it/.test((e as Error).message));
        });
      } finally {
        await t.dispose();
      }
    });
  });
}
