// Deactivations are account removals (deactivation-guard.ts): a burst of SCIM PATCHes
// `active: "False"` (Entra's form) above the connector's threshold (20 users and 10% of the
// linked users by default) is quarantined with the DELETEs' safety: nobody is disabled in Jira,
// the users' other changes still go through, and an approval disables exactly those still
// inactive in the store. A few deactivations go through at once.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pushed, startScimHarness, type ScimHarness } from './harness.ts';
import { SyncEngine } from '../../src/engine/engine.ts';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const user = (n: number) => ({ schemas: [USER], userName: `worker${n}@example.com`, displayName: `Worker ${n}`, emails: [{ value: `worker${n}@example.com`, type: 'work', primary: true }], active: true });
const deactivate = { schemas: [PATCH], Operations: [{ op: 'Replace', path: 'active', value: 'False' }] };

async function thirty(h: ScimHarness): Promise<string[]> {
  const ids: string[] = [];
  for (let n = 0; n < 30; n++) {
    const r = await h.client.post('/Users', user(n));
    assert.equal(r.status, 201, JSON.stringify(r.body));
    ids.push(r.body.id);
  }
  await pushed(h);
  for (let n = 0; n < 30; n++) assert.equal(h.jira.inspect(`worker${n}`)?.active, true, `worker${n} is in Jira, active`);
  return ids;
}

async function openQuarantines(h: ScimHarness) {
  const { items } = await h.server.store.quarantines.list({ connectorId: 'scim', status: 'open' });
  const users = [];
  for (const q of items) users.push(...(await h.server.store.quarantines.users(q.id, { offset: 0, limit: 1000 })).items.map((u) => ({ ...u, quarantineId: q.id })));
  return { quarantines: items, users };
}

describe('SCIM: deactivations and the deletion safety', () => {
  it('25 of 30 deactivated in one push: quarantined, nobody disabled, other changes written; approved, exactly those are disabled', async () => {
    const h = await startScimHarness({ batchWindowMs: 2000 });
    try {
      const ids = await thirty(h);
      // Entra's disable: active as the string "False"; worker0 is renamed in the same PATCH.
      for (const [n, id] of ids.slice(0, 25).entries()) {
        const ops = n === 0 ? [...deactivate.Operations, { op: 'Replace', path: 'displayName', value: 'Worker Zero' }] : deactivate.Operations;
        const r = await h.client.patch(`/Users/${id}`, { schemas: [PATCH], Operations: ops });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.equal(r.body.active, false, 'the SCIM resource is inactive');
      }
      await pushed(h);
      for (let n = 0; n < 30; n++) assert.equal(h.jira.inspect(`worker${n}`)?.active, true, `worker${n} still active in Jira while the burst is held`);
      assert.equal(h.jira.inspect('worker0')?.displayName, 'Worker Zero', "the held user's other change was written");

      const { quarantines, users } = await openQuarantines(h);
      assert.equal(quarantines.length, 1, 'one open quarantine');
      const q = quarantines[0]!;
      assert.equal(users.length, 25, 'the 25 deactivated users are held');
      assert.ok(users.every((u) => u.reason === 'deactivated' && u.planned === 'deactivate' && u.state === 'held'), 'held as deactivations');
      assert.match(q.message, /25 of the 30 users linked in target 'jira' \(25 deactivations in this run\)/, q.message);

      const runs = await h.server.store.runs.list({ connectorId: 'scim', limit: 100 });
      const holding = runs.find((r) => r.quarantine?.id === q.id);
      assert.ok(holding && holding.kind === 'push' && holding.status === 'partial', 'the push run that held them ends partial');
      assert.match(holding!.notice ?? '', /account removals quarantined/, holding!.notice ?? '');
      assert.equal(holding!.counts.quarantined, 25, 'journaled quarantined');
      assert.equal(holding!.counts.deactivated ?? 0, 0, 'nobody counted deactivated');
      const items = await h.server.store.runs.items(holding!.id, { operation: 'quarantined', limit: 100, offset: 0 });
      assert.equal(items.total, 25, '25 quarantined items');
      const zero = items.items.find((i) => i.label?.includes('Worker Zero'));
      assert.ok(zero && zero.changes.some((c) => c.field === 'user.displayName'), "worker0's item shows the change written");
      assert.ok(items.items.every((i) => !i.changes.some((c) => c.field === 'user.active')), 'no item claims user.active written');
      const link = await h.server.store.links.get('scim', 'jira', ids[3]!);
      assert.equal(link?.applied['user.active'], true, 'the link still says active, as Jira has it');

      // A later push of a held user (a rename) does not quarantine it again and still leaves it active.
      assert.equal((await h.client.patch(`/Users/${ids[1]}`, { schemas: [PATCH], Operations: [{ op: 'Replace', path: 'displayName', value: 'Worker One' }] })).status, 200);
      await pushed(h);
      assert.equal(h.jira.inspect('worker1')?.displayName, 'Worker One', 'the rename is written');
      assert.equal(h.jira.inspect('worker1')?.active, true, 'worker1 still active');
      assert.equal((await openQuarantines(h)).quarantines.length, 1, 'no second quarantine');

      // worker2 is active again before the approval: skipped, said so.
      assert.equal((await h.client.patch(`/Users/${ids[2]}`, { schemas: [PATCH], Operations: [{ op: 'Replace', path: 'active', value: 'True' }] })).status, 200);
      await pushed(h);
      const stored = await h.server.store.connectors.get('scim');
      const approved = await new SyncEngine(h.server.store, { fastRetries: true }).approveQuarantine({ connector: stored!.config, quarantineId: q.id, by: 'admin', trigger: 'cli' });
      assert.equal(approved.run.status, 'succeeded', approved.run.error ?? '');
      assert.equal(approved.run.kind, 'cleanup', 'approved in a run of kind cleanup');
      assert.deepEqual(approved.skipped.map((s) => s.sourceId), [ids[2]], 'worker2 skipped');
      assert.match(approved.skipped[0]!.note, /active again/, approved.skipped[0]!.note);
      for (let n = 0; n < 30; n++) assert.equal(h.jira.inspect(`worker${n}`)?.active, !(n < 25 && n !== 2), `worker${n} ${n < 25 && n !== 2 ? 'disabled once approved' : 'still active'}`);
      assert.equal(approved.quarantine.status, 'approved', 'the quarantine is closed');
      assert.equal((await h.server.store.links.get('scim', 'jira', ids[3]!))?.applied['user.active'], false, 'the link says inactive once Jira confirmed it');

      // The next push of an approved user writes nothing more (its deactivation is in the snapshot).
      assert.equal((await h.client.patch(`/Users/${ids[4]}`, { schemas: [PATCH], Operations: [{ op: 'Replace', path: 'displayName', value: 'Worker Four' }] })).status, 200);
      await pushed(h);
      assert.equal(h.jira.inspect('worker4')?.displayName, 'Worker Four', 'renamed');
      assert.equal(h.jira.inspect('worker4')?.active, false, 'still inactive');
      assert.equal((await openQuarantines(h)).quarantines.length, 0, 'nothing held any more');
    } finally {
      await h.close();
    }
  });

  it('a burst of deactivations in slices: the slice under the threshold is written, the one that passes it is held; rejected, they stay active', async () => {
    // Each slice must land in one push run: with the default 200 ms window a loaded machine can
    // split the 10 PATCHes of the second slice, and the first 5 of them (15 + 5 = 20, not more
    // than the threshold) are then rightly written. 2 s holds a slice together.
    const h = await startScimHarness({ batchWindowMs: 2000 });
    try {
      const ids = await thirty(h);
      for (const id of ids.slice(0, 15)) assert.equal((await h.client.patch(`/Users/${id}`, deactivate)).status, 200);
      await pushed(h);
      for (let n = 0; n < 15; n++) assert.equal(h.jira.inspect(`worker${n}`)?.active, false, `worker${n} disabled: 15 are under the threshold of 20`);
      assert.equal((await openQuarantines(h)).quarantines.length, 0, 'no quarantine yet');
      const runs = await h.server.store.runs.list({ connectorId: 'scim', limit: 100 });
      assert.equal(runs.filter((r) => r.kind === 'push').reduce((n, r) => n + (r.counts.deactivated ?? 0), 0), 15, 'the push runs counted 15 deactivations');

      for (const id of ids.slice(15, 25)) assert.equal((await h.client.patch(`/Users/${id}`, deactivate)).status, 200);
      await pushed(h);
      for (let n = 15; n < 30; n++) assert.equal(h.jira.inspect(`worker${n}`)?.active, true, `worker${n} not disabled: the burst passed the threshold`);
      const { quarantines, users } = await openQuarantines(h);
      assert.ok(quarantines.length >= 1, 'the rest of the burst is quarantined');
      assert.deepEqual(users.map((u) => u.sourceId).sort(), ids.slice(15, 25).sort(), 'the 10 of the second slice are held');

      for (const q of quarantines) await h.server.store.quarantines.reject(q.id, 'admin');
      // A full sync after the rejection neither disables them nor holds them again.
      const stored = await h.server.store.connectors.get('scim');
      const full = await new SyncEngine(h.server.store, { fastRetries: true }).run({ connector: stored!.config, kind: 'full', trigger: 'cli' });
      assert.notEqual(full.run.status, 'failed', full.run.error ?? '');
      for (let n = 15; n < 30; n++) assert.equal(h.jira.inspect(`worker${n}`)?.active, true, `worker${n} still active after the rejection`);
      assert.equal((await openQuarantines(h)).quarantines.length, 0, 'not quarantined again');
    } finally {
      await h.close();
    }
  });

  it('2 of 30 deactivated: written at once, no quarantine', async () => {
    const h = await startScimHarness();
    try {
      const ids = await thirty(h);
      for (const id of ids.slice(0, 2)) assert.equal((await h.client.patch(`/Users/${id}`, deactivate)).status, 200);
      await pushed(h);
      for (let n = 0; n < 30; n++) assert.equal(h.jira.inspect(`worker${n}`)?.active, n >= 2, `worker${n} ${n < 2 ? 'disabled' : 'active'}`);
      assert.equal((await openQuarantines(h)).quarantines.length, 0, 'no quarantine');
      const runs = await h.server.store.runs.list({ connectorId: 'scim', limit: 100 });
      assert.ok(runs.every((r) => r.status === 'succeeded'), `every run succeeded: ${runs.map((r) => r.status).join(', ')}`);
    } finally {
      await h.close();
    }
  });

  it('simulate: a held burst is shown, no quarantine stored, nothing disabled', async () => {
    const h = await startScimHarness({ batchWindowMs: 2000 });
    try {
      const ids = await thirty(h);
      for (const id of ids.slice(0, 25)) assert.equal((await h.client.patch(`/Users/${id}`, deactivate)).status, 200);
      const stored = await h.server.store.connectors.get('scim');
      const sim = await new SyncEngine(h.server.store, { fastRetries: true }).run({ connector: stored!.config, kind: 'full', trigger: 'cli', dryRun: true });
      assert.equal(sim.run.status, 'partial', sim.run.error ?? '');
      assert.match(sim.run.notice ?? '', /simulated: no quarantine stored/, sim.run.notice ?? '');
      assert.equal(sim.run.counts.quarantined, 25, '25 shown held');
      assert.equal((await h.server.store.quarantines.list({ connectorId: 'scim' })).total, 0, 'no quarantine stored');
      for (let n = 0; n < 30; n++) assert.equal(h.jira.inspect(`worker${n}`)?.active, true, `worker${n} untouched by the simulation`);
      await pushed(h);
    } finally {
      await h.close();
    }
  });
});
