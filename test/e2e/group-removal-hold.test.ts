// The safety limit on group-membership removals, end to end: the real Entra ID source over the
// Graph emulator, the engine, the Jira DC emulator, on SQLite and PostgreSQL. A big group deleted
// (or renamed out of the mapped set) in Entra would take every member out of the Jira group in
// one incremental run; over the connector's safety threshold those removals are held in a
// quarantine (group-removal-guard.ts), the rest of the run goes on, later runs (incremental and
// full) do not remove them again, an approval removes them, and a group that comes back drops them.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { storeKinds, type TestStore } from '../helpers/stores.ts';
import type { SyncEngine } from '../../src/engine/engine.ts';
import type { SyncResult } from '../../src/engine/api.ts';
import type { OrgGroup } from '../../emulators/org/types.ts';
import { assertJiraMatchesDirectory, e2eConnector, expectedUsername, graphControl, patchDirectoryUser, entraSyncHooks, type Emulators } from './harness.ts';

const USERS = 120;

for (const [kind, openStore] of storeKinds) {
  describe(`group-membership removals over the safety threshold are held (${kind} store)`, () => {
    let em: Emulators;
    let t: TestStore | undefined;
    let engine: SyncEngine;

    entraSyncHooks({ emulators: { users: USERS }, openStore, ready: (w) => ({ env: em, t, engine } = w) });

    const org = () => em.graph.directory.org;
    const run = (kind: 'incremental' | 'full'): Promise<SyncResult> => engine.run({ connector: e2eConnector(em), kind, trigger: 'cli' });
    const control = (method: string, path: string, body?: unknown) => graphControl(em.graph, method, path, body);
    /** jira-users: 84 of the 120 seeded users, kept in Jira by the mapping. */
    const bigGroup = (): OrgGroup => org().groups.find((g) => g.displayName === 'jira-users')!;
    const membersOf = (g: OrgGroup) => org().users.filter((u) => g.members.includes(u.id));
    const inJira = (username: string, group: string) => em.jira.inspect(username)!.groups.includes(group);

    test('a big group deleted in Entra: the removals are held, the rest of the run is written, approval removes them', async () => {
      assert.equal((await run('incremental')).run.status, 'succeeded'); // the seeding round
      const g = bigGroup();
      const members = membersOf(g);
      assert.ok(members.length > 20, `jira-users has ${members.length} members`);
      // In the same run, another change: it must still be written.
      const other = org().users.find((u) => !g.members.includes(u.id))!;
      await patchDirectoryUser(em.graph, other.id, { jobTitle: 'Held-run title' });
      await control('DELETE', `/groups/${g.id}`);

      const r = await run('incremental');
      assert.equal(r.run.status, 'partial', r.run.error ?? '');
      assert.match(r.run.notice ?? '', /group membership removals quarantined: .*the run would remove 'jira-users' \(\d+ of \d+\) managed members in target 'jira'/);
      assert.match(r.run.notice ?? '', /idsync quarantine approve q-[\w-]+ --all/, 'the result says how to approve');
      assert.equal(r.run.quarantine?.reason, 'group-removals');
      for (const u of members) assert.ok(inJira(expectedUsername(u), 'jira-users'), `${u.userPrincipalName} keeps jira-users in Jira`);
      assert.equal(em.jira.inspect(expectedUsername(other))!.properties.jobTitle, 'Held-run title', 'the other change of the run was written');
      const qid = r.run.quarantine!.id;
      const held = await t!.store.quarantines.users(qid, { limit: 1000 });
      assert.equal(held.total, members.length, 'one held row per member');
      assert.deepEqual(new Set(held.items.map((u) => u.sourceId)), new Set(members.map((u) => u.id)));
      for (const u of held.items) assert.deepEqual([u.planned, u.reason, u.groups, u.state], ['removeGroups', 'group-removal', ['jira-users'], 'held']);
      const items = (await t!.store.runs.items(r.run.id, { operation: 'quarantined', limit: 1000 })).items;
      assert.equal(items.length, members.length, 'each member journaled quarantined');
      assert.match(items[0]!.error ?? '', /held back \(group-removals\).*kept: jira-users/);

      // Neither the next incremental nor a full run derives the held removals again.
      em.jira.resetStats();
      const again = await run('incremental');
      assert.equal(again.run.status, 'succeeded', again.run.notice ?? '');
      assert.equal(em.jira.stats.writes, 0);
      const full = await run('full');
      assert.equal(full.run.status, 'succeeded', `${full.run.error} ${full.run.notice}`);
      assert.equal(full.run.quarantine, null, 'no second quarantine');
      assert.equal(em.jira.stats.writes, 0, 'the full run removed nobody');
      for (const u of members) assert.ok(inJira(expectedUsername(u), 'jira-users'), `${u.userPrincipalName} still in jira-users after the full run`);
      assert.equal((await t!.store.quarantines.list({ status: 'open' })).total, 1);

      // Approval: each member re-checked in Entra, then removed from jira-users.
      const approved = await engine.approveQuarantine({ connector: e2eConnector(em), quarantineId: qid, by: 'admin', trigger: 'cli' });
      assert.equal(approved.run.status, 'succeeded', approved.run.error ?? '');
      assert.equal(approved.quarantine.status, 'approved');
      assert.equal(approved.run.counts.updated, members.length);
      for (const u of members) assert.ok(!inJira(expectedUsername(u), 'jira-users'), `${u.userPrincipalName} left jira-users`);
      assertJiraMatchesDirectory(em.jira, org());
      em.jira.resetStats();
      assert.equal((await run('full')).run.status, 'succeeded');
      assert.equal(em.jira.stats.writes, 0, 'converged: nothing left to write');
    });

    test('a big group renamed out of the mapped set and back: held, then dropped without an approval', async () => {
      await run('incremental');
      const g = bigGroup();
      const members = membersOf(g);
      await control('PATCH', `/groups/${g.id}`, { displayName: 'jira-users-retired' });
      const r = await run('incremental');
      assert.equal(r.run.status, 'partial');
      const qid = r.run.quarantine!.id;
      for (const u of members) assert.ok(inJira(expectedUsername(u), 'jira-users'), `${u.userPrincipalName} keeps jira-users while the rename is held`);

      await control('PATCH', `/groups/${g.id}`, { displayName: 'jira-users' });
      em.jira.resetStats();
      const back = await run('incremental');
      assert.equal(back.run.status, 'succeeded', back.run.notice ?? '');
      assert.equal(em.jira.stats.writes, 0, 'nobody ever left jira-users');
      const q = await t!.store.quarantines.get(qid);
      assert.deepEqual([q?.status, q?.held], ['rejected', 0], 'the quarantine closed: nothing left to hold');
      assert.equal((await t!.store.quarantines.users(qid, { state: 'skipped' })).total, members.length);
      assertJiraMatchesDirectory(em.jira, org());
    });

    test('a simulation shows the hold and stores nothing', async () => {
      await run('incremental');
      await control('DELETE', `/groups/${bigGroup().id}`);
      const r = await engine.run({ connector: e2eConnector(em), kind: 'incremental', trigger: 'cli', dryRun: true });
      assert.equal(r.run.status, 'partial');
      assert.match(r.run.notice ?? '', /simulated: no quarantine stored/);
      assert.equal((await t!.store.quarantines.list({})).total, 0);
    });
  });
}
