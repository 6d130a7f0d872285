// Groups in the shadow end to end: the real Entra ID source over the Graph emulator, the engine,
// the Jira DC emulator, on SQLite and PostgreSQL. A group renamed (or deleted) in Entra with no
// member change re-reads nobody through delta; its members must still follow in the same
// incremental run (engine/group-ingest.ts). Full reads record the groups they list, write
// nothing when nothing changed, and tombstone a group only after a complete read.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { storeKinds, type TestStore } from '../helpers/stores.ts';
import type { SyncEngine } from '../../src/engine/engine.ts';
import type { SyncResult } from '../../src/engine/api.ts';
import type { OrgGroup } from '../../emulators/org/types.ts';
import { assertJiraMatchesDirectory, e2eConnector, graphControl, expectedUsername, planOf, entraSyncHooks, type Emulators } from './harness.ts';

const USERS = 120;
const CONNECTOR = 'entra-e2e';

for (const [kind, openStore] of storeKinds) {
  describe(`group renames and deletions reach Jira (${kind} store)`, () => {
    let em: Emulators;
    let t: TestStore | undefined;
    let engine: SyncEngine;

    entraSyncHooks({ emulators: { users: USERS }, openStore, ready: (w) => ({ env: em, t, engine } = w) });

    const org = () => em.graph.directory.org;
    const groups = () => t!.store.shadow.groups;
    const run = async (kind: 'incremental' | 'full', ok = true): Promise<SyncResult> => {
      const r = await engine.run({ connector: e2eConnector(em), kind, trigger: 'cli' });
      if (ok) assert.equal(r.run.status, 'succeeded', r.run.error ?? '');
      return r;
    };
    /** The emulator's control API, over TLS like the Graph endpoints. */
    const control = (method: string, path: string, body?: unknown) => graphControl(em.graph, method, path, body);
    /** A department group (kept in Jira by the mapping) with a few members: 2 to 20, under the safety threshold on removals (group-removal-hold.test.ts covers a big one). */
    const deptGroup = (): OrgGroup => {
      const g = org().groups.find((x) => x.displayName.startsWith('dept-') && x.members.filter((m) => org().users.some((u) => u.id === m)).length >= 2 && x.members.length <= 20);
      assert.ok(g, 'the seeded org has a department group with members');
      return g;
    };
    const membersOf = (g: OrgGroup) => org().users.filter((u) => g.members.includes(u.id));

    test('a group renamed in Entra: one incremental run moves its members to the new group in Jira, per user in the result', async () => {
      await run('incremental'); // the seeding round: everyone, and the group list
      const g = deptGroup();
      const oldName = g.displayName;
      const newName = `${oldName}-renamed`;
      assert.equal((await groups().all(CONNECTOR)).get(g.id)?.name, oldName, 'the seeding round recorded the group');
      assert.equal(await groups().count(CONNECTOR, { live: true }), org().groups.length, 'every group of the tenant (no groupFilter)');
      const members = membersOf(g);
      for (const u of members) assert.ok(em.jira.inspect(expectedUsername(u))!.groups.includes(oldName), `${u.userPrincipalName} starts in ${oldName}`);

      await control('PATCH', `/groups/${g.id}`, { displayName: newName });
      em.jira.resetStats();
      const r = await run('incremental');
      assert.equal(r.run.counts.read, 0, 'delta re-read nobody: no member changed');
      assert.equal(r.run.counts.updated, members.length, r.run.notice ?? '');
      const items = await planOf(t!.store, r.run.id);
      assert.deepEqual(
        items.map((i) => [i.sourceId, i.operation, i.changes.map((c) => [c.field, c.add, c.remove])]).sort(),
        members.map((u) => [u.id, 'updated', [['groups', [newName], [oldName]]]]).sort(),
        'each member: the new group added, the old one removed',
      );
      for (const u of members) {
        const inJira = em.jira.inspect(expectedUsername(u))!.groups;
        assert.ok(inJira.includes(newName) && !inJira.includes(oldName), `${u.userPrincipalName}: ${inJira.join(', ')}`);
      }
      assertJiraMatchesDirectory(em.jira, org());
      assert.match(r.run.notice ?? '', new RegExp(`group '${oldName}' was renamed '${newName}'.*${members.length} members`));
      assert.equal((await groups().all(CONNECTOR)).get(g.id)?.name, newName, 'the shadow holds the new name');
      assert.equal(await t!.store.shadow.count(CONNECTOR, { pending: true }), 0, 'nothing left pending');

      // Converged: the next round changes nothing and writes nothing.
      em.jira.resetStats();
      const again = await run('incremental');
      assert.equal(again.run.counts.usersWritten, 0);
      assert.equal(em.jira.stats.writes, 0);
    });

    test('a group deleted in Entra: its members leave it in Jira in the same incremental run', async () => {
      await run('incremental');
      const g = deptGroup();
      const members = membersOf(g);
      await control('DELETE', `/groups/${g.id}`);
      const r = await run('incremental');
      for (const u of members) assert.ok(!em.jira.inspect(expectedUsername(u))!.groups.includes(g.displayName), `${u.userPrincipalName} left ${g.displayName}`);
      assertJiraMatchesDirectory(em.jira, org());
      const row = (await groups().all(CONNECTOR)).get(g.id);
      assert.deepEqual([row?.tombstone, row?.name], ['deleted', g.displayName], `tombstoned (${r.run.notice})`);
    });

    test('full syncs: no change writes no group row; a complete read without a group tombstones it, a short read does not', async () => {
      await run('full');
      const before = await groups().all(CONNECTOR);
      assert.equal(before.size, org().groups.length);
      await new Promise((r) => setTimeout(r, 10));
      await run('full');
      assert.deepEqual(await groups().all(CONNECTOR), before, 'a no-change full sync rewrote no group row');

      // Gone from the tenant with no delta in between: only the listing can tell. A group the
      // mapping does not keep in Jira, so no membership removal meets the read guard's threshold.
      const g = org().groups.find((x) => !x.displayName.startsWith('dept-') && x.displayName !== 'jira-users');
      assert.ok(g, 'the seeded org has a group the Jira mapping leaves out');
      em.graph.directory.deleteGroup(g.id);
      em.graph.setFaults({ script: [{ pattern: '^/v1\\.0/users\\?', answer: 'empty-page' }] });
      const short = await run('full', false);
      em.graph.setFaults({ script: [] });
      assert.equal(short.run.status, 'failed', 'the short read is refused');
      assert.equal((await groups().all(CONNECTOR)).get(g.id)?.tombstone, null, 'no tombstone after a short read');

      await run('full');
      const row = (await groups().all(CONNECTOR)).get(g.id);
      assert.equal(row?.tombstone, 'not-returned', 'the complete read tombstoned the group it no longer listed');
      assert.ok(row?.tombstoneAt, 'with the time it was tombstoned');
      assert.equal(await groups().count(CONNECTOR, { live: true }), org().groups.length);
    });
  });
}
