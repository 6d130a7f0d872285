// End to end through the real Entra ID source, over TLS, against the Microsoft Graph emulator
// and the Jira DC emulator, on SQLite: the suite in entra-jira-suite.ts (entra-jira-pg.test.ts
// runs it on PostgreSQL), then one connector writing Jira and Confluence, and retries and races
// under load. What Jira ends up holding is checked against the directory itself (harness.ts has
// the oracle), not against what idsync says it did.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { openSqliteStore, type TestStore } from '../helpers/stores.ts';
import { SyncEngine } from '../../src/engine/engine.ts';
import { assertJiraMatchesDirectory, e2eConnector, expectedUsername, patchDirectoryUser, planOf, startEmulators, type Emulators } from './harness.ts';
import { entraJiraSuite } from './entra-jira-suite.ts';

entraJiraSuite('sqlite', openSqliteStore);

describe('Entra ID → Jira DC and Confluence DC in one connector', () => {
  let em: Emulators;
  let t: TestStore;

  before(async () => {
    em = await startEmulators({ confluence: true, users: 150 });
    t = await openSqliteStore();
  });
  after(async () => {
    await t.dispose();
    await em.close();
  });

  test('one run writes both targets and journals an item per user and target; the next run writes neither', async () => {
    const engine = new SyncEngine(t.store, { ca: em.graph.ca, fastRetries: true });
    const connector = e2eConnector(em, { confluence: true });
    const r = await engine.run({ connector, kind: 'full', trigger: 'cli' });
    assert.equal(r.run.status, 'succeeded', r.run.error ?? JSON.stringify((await t.store.runs.items(r.run.id, { operation: 'failed' })).items.slice(0, 3)));
    const users = em.graph.directory.org.users;
    const items = await planOf(t.store, r.run.id);
    for (const target of ['jira', 'confluence']) {
      const mine = items.filter((i) => i.targetId === target);
      assert.equal(mine.length, users.length, `one item per user for ${target}`);
      assert.ok(mine.every((i) => i.operation === 'created'), `${target}: everyone created`);
    }
    const someone = users.find((u) => u.userType === 'Member' && u.jobTitle)!;
    const inConfluence = em.confluence!.store.getByName(expectedUsername(someone));
    assert.ok(inConfluence, `${expectedUsername(someone)} is in Confluence`);
    assertJiraMatchesDirectory(em.jira, em.graph.directory.org);

    em.jira.resetStats();
    em.confluence!.resetStats();
    const again = await engine.run({ connector, kind: 'full', trigger: 'cli' });
    assert.equal(again.run.counts.unchanged, users.length * 2);
    assert.equal(em.jira.stats.writes, 0);
    assert.equal(em.confluence!.stats.writes, 0);
  });
});

describe('retries and races under load', () => {
  let em: Emulators;
  let t: TestStore;

  before(async () => {
    em = await startEmulators({ users: 40 });
    t = await openSqliteStore();
  });
  after(async () => {
    await t.dispose();
    await em.close();
  });

  test(
    'a write throttled a few times and then answered 502 once is still retried',
    async () => {
      const engine = new SyncEngine(t.store, { ca: em.graph.ca, fastRetries: true });
      const connector = e2eConnector(em);
      const first = await engine.run({ connector, kind: 'full', trigger: 'cli' });
      assert.equal(first.run.status, 'succeeded', first.run.error ?? '');
      const user = em.graph.directory.org.users.find((u) => u.userType === 'Member' && u.department)!;
      await patchDirectoryUser(em.graph, user.id, { department: 'Logistics' });
      const key = em.jira.inspect(expectedUsername(user))!.key;
      const path = `properties/department?userKey=${key}`;
      // Seven throttled answers (Jira asked to wait 0 s), then one transient 502, then success.
      em.jira.resetStats();
      em.jira.setFaults({
        script: [
          { method: 'PUT', path, status: 429, headers: { 'retry-after': '0' }, times: 7 },
          { method: 'PUT', path, status: 502, times: 1 },
        ],
      });
      const r = await engine.run({ connector, kind: 'full', trigger: 'cli' });
      assert.equal(em.jira.stats.faultsInjected, 8, 'every scripted answer was served');
      assert.equal(r.run.counts.failed, 0, JSON.stringify((await t.store.runs.items(r.run.id, { operation: 'failed' })).items.map((i) => i.error)));
      assert.equal(em.jira.inspect(expectedUsername(user))!.properties.department, 'Logistics');
    },
  );

  test(
    'a user still joins a group that another worker created between the add and the existence check',
    async () => {
      const engine = new SyncEngine(t.store, { ca: em.graph.ca, fastRetries: true });
      const connector = e2eConnector(em);
      await engine.run({ connector, kind: 'full', trigger: 'cli' });
      // Seen in a real run: two workers add users to a group neither has seen yet; one gets
      // Jira's 404, the other creates the group, the first then finds the group and gives up.
      // Scripted here: the add answers 404 although the group exists (created meanwhile).
      const org = em.graph.directory.org;
      const group = org.groups.find((g) => g.displayName === 'jira-users')!;
      const user = org.users.find((u) => u.userType === 'Member' && !group.members.includes(u.id))!;
      group.members.push(user.id);
      em.graph.directory.replace(org); // rebuilds the membership index
      em.jira.resetStats();
      em.jira.setFaults({
        script: [{ method: 'POST', path: 'group/user?groupname=jira-users', status: 404, body: { errorMessages: ["Group 'jira-users' does not exist."], errors: {} }, times: 1 }],
      });
      const r = await engine.run({ connector, kind: 'full', trigger: 'cli' });
      assert.equal(em.jira.stats.faultsInjected, 1, 'the scripted 404 was served');
      const failed = (await t.store.runs.items(r.run.id, { operation: 'failed' })).items;
      assert.deepEqual(failed.map((i) => `${i.label}: ${i.error}`), []);
      assert.ok(em.jira.inspect(expectedUsername(user))!.groups.includes('jira-users'), "em.jira.inspect(expectedUsername(user))!.groups.includes('jira-users')");
    },
  );
});
