// The deletion safety holds for pushed removals as for a full read: a burst of SCIM DELETEs
// above the connector's threshold (20 users and 10% of the linked users by default) is
// quarantined, nobody disabled, until an administrator approves it; and a burst pushed in
// slices (several push runs) counts as one: once the window's cleanups pass the threshold, the
// rest is quarantined (cleanup-burst.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pushed, startScimHarness } from './harness.ts';
import { SyncEngine } from '../../src/engine/engine.ts';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const user = (n: number) => ({ schemas: [USER], userName: `leaver${n}@example.com`, displayName: `Leaver ${n}`, emails: [{ value: `leaver${n}@example.com`, type: 'work', primary: true }], active: true });

describe('SCIM: the deletion safety', () => {
  it('25 DELETEs of 30 pushed users are quarantined, nobody disabled; approved, they are disabled', async () => {
    // A batch window long enough for the 25 DELETEs to reach one push run.
    const h = await startScimHarness({ batchWindowMs: 2000 });
    try {
      const ids: string[] = [];
      for (let n = 0; n < 30; n++) {
        const r = await h.client.post('/Users', user(n));
        assert.equal(r.status, 201, JSON.stringify(r.body));
        ids.push(r.body.id);
      }
      await pushed(h);
      for (let n = 0; n < 30; n++) assert.equal(h.jira.inspect(`leaver${n}`)?.active, true, `leaver${n} is in Jira, active`);

      for (const id of ids.slice(0, 25)) assert.equal((await h.client.del(`/Users/${id}`)).status, 204);
      await pushed(h);
      for (let n = 0; n < 30; n++) assert.equal(h.jira.inspect(`leaver${n}`)?.active, true, `leaver${n} not disabled while the burst is held`);
      const { items } = await h.server.store.quarantines.list({ connectorId: 'scim', status: 'open' });
      assert.equal(items.length, 1, 'one open quarantine');
      const q = items[0]!;
      const held = await h.server.store.quarantines.users(q.id, { state: 'held', offset: 0, limit: 100 });
      assert.equal(held.items.length, 25, 'the 25 deleted users are held');
      const runs = await h.server.store.runs.list({ connectorId: 'scim', limit: 100 });
      assert.ok(runs.some((r) => r.kind === 'push' && r.quarantine?.id === q.id && r.status === 'partial'), 'the push run that held the cleanup says so');

      const stored = await h.server.store.connectors.get('scim');
      const approved = await new SyncEngine(h.server.store, { fastRetries: true }).approveQuarantine({ connector: stored!.config, quarantineId: q.id, by: 'admin', trigger: 'cli' });
      assert.equal(approved.run.status, 'succeeded', approved.run.error ?? '');
      for (let n = 0; n < 30; n++) assert.equal(h.jira.inspect(`leaver${n}`)?.active, n >= 25, `leaver${n} ${n >= 25 ? 'still active' : 'disabled once approved'}`);
    } finally {
      await h.close();
    }
  });

  it('a burst of DELETEs in slices: the first slice (under the threshold) goes through, the slice that passes it is quarantined', async () => {
    // One push run per slice (a 200 ms window can split a slice on a loaded machine; see deactivation.test.ts).
    const h = await startScimHarness({ batchWindowMs: 2000 });
    try {
      const ids: string[] = [];
      for (let n = 0; n < 30; n++) ids.push((await h.client.post('/Users', user(n))).body.id);
      await pushed(h);
      for (const id of ids.slice(0, 15)) assert.equal((await h.client.del(`/Users/${id}`)).status, 204);
      await pushed(h);
      for (let n = 0; n < 15; n++) assert.equal(h.jira.inspect(`leaver${n}`)?.active, false, `leaver${n} disabled: 15 are under the threshold of 20`);
      assert.equal((await h.server.store.quarantines.list({ connectorId: 'scim', status: 'open' })).items.length, 0, 'no quarantine yet');
      for (const id of ids.slice(15, 25)) assert.equal((await h.client.del(`/Users/${id}`)).status, 204);
      await pushed(h);
      for (let n = 15; n < 30; n++) assert.equal(h.jira.inspect(`leaver${n}`)?.active, true, `leaver${n} not disabled: the burst passed the threshold`);
      const { items } = await h.server.store.quarantines.list({ connectorId: 'scim', status: 'open' });
      assert.ok(items.length >= 1, 'the rest of the burst is quarantined');
      let held = 0;
      for (const q of items) held += (await h.server.store.quarantines.users(q.id, { state: 'held', offset: 0, limit: 100 })).items.length;
      assert.equal(held, 10, 'the 10 of the second slice are held');
    } finally {
      await h.close();
    }
  });
});
