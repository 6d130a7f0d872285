// The benchmark's --seed-direct (bench/seed-direct.ts) must leave exactly what an initial sync
// leaves, or the no-change and incremental figures measured on it at 1M users mean nothing. The
// same tenant is synced by the engine into one Jira emulator and seeded directly into another;
// shadow rows, links and the Jira accounts are compared user by user, and a no-change sync on the
// seeded store must find every user unchanged and write nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSuite } from '../emulators/launch.ts';
import { startJiraDcEmulator } from '../emulators/jira-dc/index.ts';
import { inspectUser } from '../emulators/jira-dc/control.ts';
import { openSqliteStore } from './helpers/stores.ts';
import { SyncEngine } from '../src/engine/engine.ts';
import { demoConnector, demoSecrets } from '../src/cli/demo.ts';
import { seedDirect } from '../bench/seed-direct.ts';
import type { Store } from '../src/store/index.ts';

test('--seed-direct leaves the shadow, the links and Jira as the initial sync does', { timeout: 180_000 }, async () => {
  const suite = await startSuite({ users: 400 });
  const seededJira = await startJiraDcEmulator({});
  const synced = await openSqliteStore();
  const seeded = await openSqliteStore();
  try {
    const infoA = { ...suite.info, confluence: undefined };
    const infoB = { ...infoA, jira: { ...infoA.jira, url: seededJira.url } };
    const connA = demoConnector(infoA);
    const connB = demoConnector(infoB);
    await synced.store.connectors.save(connA, { secrets: demoSecrets(infoA) });
    await seeded.store.connectors.save(connB, { secrets: demoSecrets(infoB) });
    const ctx = { ca: suite.info.graph.ca };

    const initial = await new SyncEngine(synced.store, ctx).run({ connector: connA, kind: 'full', trigger: 'cli' });
    assert.equal(initial.run.status, 'succeeded', `the initial sync succeeds (${initial.run.error})`);
    const result = await seedDirect(seeded.store, connB, ctx, seededJira.url);
    assert.equal(result.linked, initial.run.counts.created, 'seeding links as many users as the initial sync created');

    const ids = suite.graph.directory.org.users.map((u) => u.id);
    const shadowA = await synced.store.shadow.getMany(connA.id, ids);
    const shadowB = await seeded.store.shadow.getMany(connB.id, ids);
    assert.equal(shadowB.size, shadowA.size, 'as many shadow rows');
    for (const [id, a] of shadowA) assert.deepEqual(shadowB.get(id), { ...a, tombstoneAt: shadowB.get(id)?.tombstoneAt ?? null }, `shadow row of ${id} as the initial sync left it`);

    const groupsOf = async (store: Store, c: string) => [...(await store.shadow.groups.all(c)).values()].map(({ updatedAt: _u, ...g }) => g).sort((x, y) => (x.groupId < y.groupId ? -1 : 1));
    assert.deepEqual(await groupsOf(seeded.store, connB.id), await groupsOf(synced.store, connA.id), 'the same groups in the shadow');

    const linksA = await synced.store.links.getMany(connA.id, 'jira', ids);
    const linksB = await seeded.store.links.getMany(connB.id, 'jira', ids);
    assert.equal(linksB.size, linksA.size, 'as many links');
    let compared = 0;
    for (const [id, a] of linksA) {
      const b = linksB.get(id);
      assert.ok(b, `user ${id} is linked by the seeding too`);
      const { targetKey: _ka, ...restA } = a;
      const { targetKey: _kb, ...restB } = b;
      assert.deepEqual(restB, restA, `link of ${id} (applied values, managed groups, fingerprint, label) as the initial sync left it`);
      const accountA = inspectUser(suite.jira.store, suite.jira.store.getByKey(a.targetKey)!);
      const accountB = inspectUser(seededJira.store, seededJira.store.getByKey(b.targetKey)!);
      assert.deepEqual({ ...accountB, key: '', groups: [...accountB.groups].sort() }, { ...accountA, key: '', groups: [...accountA.groups].sort() }, `Jira account of ${a.targetUsername} as the initial sync created it`);
      compared++;
    }
    assert.ok(compared > 300, `most of the 400 users are compared (${compared})`);

    // A no-change sync on the seeded state: every user known unchanged, nothing written.
    const again = await new SyncEngine(seeded.store, ctx).run({ connector: connB, kind: 'full', trigger: 'cli' });
    assert.equal(again.run.status, 'succeeded', `the no-change sync succeeds (${again.run.error})`);
    assert.equal(again.run.counts.unchanged, linksB.size, 'every seeded user is unchanged');
    assert.equal(again.run.counts.writes, 0, 'nothing is written');
    assert.equal(await pendingOf(seeded.store, connB.id), await pendingOf(synced.store, connA.id), 'as many rows pending as after the initial sync');
  } finally {
    await synced.dispose();
    await seeded.dispose();
    await seededJira.close();
    await suite.close();
  }
});

async function pendingOf(store: Store, connectorId: string): Promise<number> {
  return store.shadow.count(connectorId, { pending: true });
}
