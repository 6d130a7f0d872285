// Deactivations read from Entra ID are account removals too (deactivation-guard.ts): a full
// sync that finds most of the directory turned `accountEnabled = false` quarantines the
// deactivations instead of disabling everyone in Jira; a later full sync does not hold them
// again; an approval disables exactly the users still disabled in the directory. SQLite and
// PostgreSQL.
import { describe, test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { storeKinds, type TestStore } from '../helpers/stores.ts';
import { SyncEngine } from '../../src/engine/engine.ts';
import { e2eConnector, expectedUsername, patchDirectoryUser, startEmulators, type Emulators } from './harness.ts';

const USERS = 60;

for (const [kind, openStore] of storeKinds) {
  describe(`Entra ID full sync: a burst of disabled users is quarantined (${kind} store)`, () => {
    let em: Emulators;
    let t: TestStore | undefined;
    let engine: SyncEngine;

    before(async () => {
      em = await startEmulators({ users: USERS });
    });
    after(async () => {
      await t?.dispose();
      await em.close();
    });
    beforeEach(async () => {
      await em.reset();
      await t?.dispose();
      t = await openStore();
      engine = new SyncEngine(t.store, { ca: em.graph.ca, fastRetries: true });
    });

    test('most users disabled in the directory: held, Jira unchanged; approved, exactly those still disabled are deactivated', async () => {
      const connector = e2eConnector(em);
      const first = await engine.run({ connector, kind: 'full', trigger: 'cli' });
      assert.equal(first.run.status, 'succeeded', first.run.error ?? '');
      const org = em.graph.directory.org;
      const active = org.users.filter((u) => u.accountEnabled && em.jira.inspect(expectedUsername(u))?.active === true);
      assert.ok(active.length >= 40, `at least 40 active users in Jira (${active.length})`);
      const leaving = active.slice(0, 35);
      for (const u of leaving) await patchDirectoryUser(em.graph, u.id, { accountEnabled: false });

      const held = await engine.run({ connector, kind: 'full', trigger: 'cli' });
      assert.equal(held.run.status, 'partial', held.run.error ?? '');
      assert.ok(held.run.quarantine, 'the run stored a quarantine');
      assert.match(held.run.quarantine!.message, /35 deactivations in this run/, held.run.quarantine!.message);
      assert.equal(held.run.counts.quarantined, 35, '35 journaled quarantined');
      for (const u of active) assert.equal(em.jira.inspect(expectedUsername(u))?.active, true, `${expectedUsername(u)} still active in Jira`);
      const users = (await t!.store.quarantines.users(held.run.quarantine!.id, { offset: 0, limit: 100 })).items;
      assert.deepEqual(users.map((u) => u.sourceId).sort(), leaving.map((u) => u.id).sort(), 'exactly the disabled users are held');

      // The next full sync: the held users are neither written nor held again.
      const again = await engine.run({ connector, kind: 'full', trigger: 'cli' });
      assert.notEqual(again.run.status, 'failed', again.run.error ?? '');
      assert.equal(again.run.quarantine ?? null, null, 'no second quarantine');
      assert.equal((await t!.store.quarantines.list({ status: 'open' })).total, 1, 'one open quarantine');
      for (const u of leaving) assert.equal(em.jira.inspect(expectedUsername(u))?.active, true, `${expectedUsername(u)} still active`);

      // One is enabled again before the approval: skipped.
      await patchDirectoryUser(em.graph, leaving[0]!.id, { accountEnabled: true });
      const approved = await engine.approveQuarantine({ connector, quarantineId: held.run.quarantine!.id, by: 'admin', trigger: 'cli' });
      assert.equal(approved.run.status, 'succeeded', approved.run.error ?? '');
      assert.deepEqual(approved.skipped.map((s) => s.sourceId), [leaving[0]!.id], 'the user enabled again is skipped');
      for (const [i, u] of leaving.entries()) assert.equal(em.jira.inspect(expectedUsername(u))?.active, i === 0, `${expectedUsername(u)} ${i === 0 ? 'active' : 'deactivated'}`);
      for (const u of active.slice(35)) assert.equal(em.jira.inspect(expectedUsername(u))?.active, true, `${expectedUsername(u)} untouched`);

      // In step: the next full sync changes nothing of them.
      const after = await engine.run({ connector, kind: 'full', trigger: 'cli' });
      assert.equal(after.run.status, 'succeeded', after.run.error ?? '');
      assert.equal(after.run.counts.deactivated ?? 0, 0, 'nothing more to deactivate');
    });
  });
}
