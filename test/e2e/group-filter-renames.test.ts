// Entra's groupFilter and group renames, end to end (the Entra source over the Graph emulator, the
// engine, the Jira DC emulator, SQLite and PostgreSQL). A group renamed so that it leaves the
// filter is gone for the connector: its members lose it in the same incremental run (subject to
// the group-removal guard). One renamed into the filter is new to it: its members, read from
// Graph, get it in the same run. No member changed, so delta re-reads nobody in either case.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { storeKinds, type TestStore } from '../helpers/stores.ts';
import type { SyncEngine } from '../../src/engine/engine.ts';
import type { SyncResult } from '../../src/engine/api.ts';
import type { ConnectorConfig } from '../../src/config/schema.ts';
import type { OrgGroup } from '../../emulators/org/types.ts';
import { e2eConnector, expectedUsername, graphControl, entraSyncHooks, type Emulators } from './harness.ts';

const USERS = 120;
const CONNECTOR = 'entra-e2e';

for (const [kind, openStore] of storeKinds) {
  describe(`groupFilter renames are followed by incremental runs (${kind} store)`, () => {
    let em: Emulators;
    let t: TestStore | undefined;
    let engine: SyncEngine;

    entraSyncHooks({ emulators: { users: USERS }, openStore, ready: (w) => ({ env: em, t, engine } = w) });

    const org = () => em.graph.directory.org;
    /** Only the department groups are the connector's. */
    const connector = (): ConnectorConfig => {
      const c = e2eConnector(em);
      return { ...c, source: { ...c.source, groupFilter: "startswith(displayName,'dept-')" } as ConnectorConfig['source'] };
    };
    const run = async (ok: SyncResult['run']['status'] = 'succeeded'): Promise<SyncResult> => {
      const r = await engine.run({ connector: connector(), kind: 'incremental', trigger: 'cli' });
      assert.equal(r.run.status, ok, `${r.run.error} ${r.run.notice}`);
      return r;
    };
    const control = (method: string, path: string, body?: unknown) => graphControl(em.graph, method, path, body);
    const named = (name: string): OrgGroup => org().groups.find((g) => g.displayName === name)!;
    const membersOf = (g: OrgGroup) => org().users.filter((u) => g.members.includes(u.id));
    const jiraGroups = (u: { userPrincipalName: string }) => em.jira.inspect(expectedUsername(u as never))!.groups;

    test('renamed out of the filter: its members leave it in Jira; renamed back in: they get it again, in the same run each', async () => {
      await run(); // the seeding round
      const g = named('dept-product');
      const members = membersOf(g);
      assert.ok(members.length >= 2 && members.length <= 20, `dept-product has ${members.length} members, under the safety threshold`);
      for (const u of members) assert.ok(jiraGroups(u).includes('dept-product'), `${u.userPrincipalName} starts in dept-product`);

      await control('PATCH', `/groups/${g.id}`, { displayName: 'team-product' });
      const out = await run();
      assert.equal(out.run.counts.read, 0, 'delta re-read nobody');
      assert.match(out.run.notice ?? '', new RegExp(`group 'dept-product' was renamed out of the connector's groupFilter: ${members.length} members lost it`));
      for (const u of members) assert.ok(!jiraGroups(u).includes('dept-product') && !jiraGroups(u).includes('team-product'), `${u.userPrincipalName}: ${jiraGroups(u).join(', ')}`);
      assert.equal((await t!.store.shadow.groups.all(CONNECTOR)).get(g.id)?.tombstone, 'not-returned', 'none of the connector\'s groups any more');

      await control('PATCH', `/groups/${g.id}`, { displayName: 'dept-product' });
      const back = await run();
      assert.equal(back.run.counts.updated, members.length, back.run.notice ?? '');
      assert.match(back.run.notice ?? '', new RegExp(`group 'dept-product' became one of the connector's groups .*: ${members.length} members got it`));
      for (const u of members) assert.ok(jiraGroups(u).includes('dept-product'), `${u.userPrincipalName} is back in dept-product`);
      assert.equal((await t!.store.shadow.groups.all(CONNECTOR)).get(g.id)?.tombstone, null);
      em.jira.resetStats();
      await run();
      assert.equal(em.jira.stats.writes, 0, 'converged');
    });

    test('a group never in the filter renamed into it: its members get it; a big one renamed out is held by the safety limit', async () => {
      await run();
      const apollo = named('project-apollo');
      const members = membersOf(apollo);
      assert.ok(members.length > 0, 'project-apollo has members');
      await control('PATCH', `/groups/${apollo.id}`, { displayName: 'dept-apollo' });
      await run();
      for (const u of members) assert.ok(jiraGroups(u).includes('dept-apollo'), `${u.userPrincipalName} got dept-apollo (created in Jira)`);

      const eng = named('dept-engineering');
      const engineers = membersOf(eng);
      assert.ok(engineers.length > 20, `dept-engineering has ${engineers.length} members`);
      await control('PATCH', `/groups/${eng.id}`, { displayName: 'engineering' });
      const held = await run('partial');
      assert.equal(held.run.quarantine?.reason, 'group-removals');
      for (const u of engineers) assert.ok(jiraGroups(u).includes('dept-engineering'), `${u.userPrincipalName} keeps dept-engineering until approved`);
    });
  });
}
