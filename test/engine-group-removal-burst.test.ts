// The group-removal safety limit over a burst of runs (group-removal-guard.ts, cleanup-burst.ts),
// against the Jira DC emulator on SQLite and PostgreSQL: a mass removal from one group that
// arrives in incremental slices, each under the threshold, is written until the members removed
// from that group in the last hour pass it, then held; another group is judged on its own; an
// approval's removals and runs older than the window do not count.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ACCOUNT_MAPPING, memoryDataset, person, type MemoryDataset } from './helpers/memory-source.ts';
import { storeKinds, type TestStore } from './helpers/stores.ts';
import { resetJira, syncHooks } from './helpers/sync-hooks.ts';
import { startJiraDcEmulator, type JiraDcEmulator } from '../emulators/jira-dc/index.ts';
import type { SyncEngine } from '../src/engine/engine.ts';
import type { SyncResult } from '../src/engine/api.ts';
import type { ConnectorConfig } from '../src/config/schema.ts';

process.env.TEST_JIRA_PAT = 'admin-pat';

const BIG = 'jira-software-users';
const OTHER = 'confluence-users';

const connector = (url: string): ConnectorConfig => ({
  id: 'co',
  source: { type: 'memory', dataset: 'group-burst', requiredGroups: [] },
  targets: [
    {
      id: 'jira',
      type: 'jira-dc',
      url,
      auth: { type: 'pat', token: { env: 'TEST_JIRA_PAT' } },
      mapping: [...ACCOUNT_MAPPING, { target: 'groups', source: 'groups', flow: 'always', whenEmpty: 'clear' }],
      createUsers: true,
      createMissingGroups: true,
      concurrency: 4,
    },
  ],
  // More than 5 members AND more than 10 % of a group's managed members.
  safety: { maxUsers: 5, maxPercent: 10 },
});

/** 40 users, each in both groups. */
const org = () => Array.from({ length: 40 }, (_, i) => person(`u-${i}`, `User N${String.fromCharCode(97 + (i % 26))}${String.fromCharCode(97 + Math.floor(i / 26))}`, {}, [BIG, OTHER]));

for (const [kind, openStore] of storeKinds) {
  describe(`group-membership removals in slices count over the burst window (${kind} store)`, () => {
    let jira: JiraDcEmulator;
    let t: TestStore;
    let engine: SyncEngine;

    syncHooks({
      start: () => startJiraDcEmulator({ groups: [BIG, OTHER] }),
      reset: (j) => resetJira(j),
      openStore,
      ready: (w) => ({ env: jira, t, engine } = w),
    });

    const run = (): Promise<SyncResult> => engine.run({ connector: connector(jira.url), kind: 'incremental', trigger: 'cli' });
    const loginOf = (ds: MemoryDataset, id: string) => (ds.users.find((u) => u.id === id)!.attrs.userPrincipalName as string).split('@')[0]!;
    const inJira = (ds: MemoryDataset, id: string, group: string) => jira.inspect(loginOf(ds, id))!.groups.includes(group);
    /** Takes users `from`..`to` (exclusive) out of `group` in the directory. */
    const leave = (ds: MemoryDataset, group: string, from: number, to: number) => {
      for (let i = from; i < to; i++) {
        const u = ds.users.find((x) => x.id === `u-${i}`)!;
        ds.upsert({ ...u, groups: (u.groups ?? []).filter((g) => g !== group) });
      }
    };
    const written = async (r: SyncResult, what: string) => {
      assert.equal(r.run.status, 'succeeded', `${what}: ${r.run.error ?? ''} ${r.run.notice ?? ''}`);
      assert.equal(r.run.quarantine ?? null, null, `${what}: nothing held`);
    };

    test('slices under the threshold are written until the hour passes it; another group, an approval and old runs count apart', async () => {
      const ds = memoryDataset('group-burst', org());
      await written(await run(), 'the seeding run');

      // Slice 1: 3 of the 40 leave BIG (3 ≤ 5): written, and counted in the run's counts.
      leave(ds, BIG, 0, 3);
      const s1 = await run();
      await written(s1, 'slice 1');
      assert.deepEqual({ ...s1.run.counts.targets?.jira?.groupsRemoved }, { [BIG]: 3 }); // the counts are keyed without a prototype (journal.ts)
      for (let i = 0; i < 3; i++) assert.ok(!inJira(ds, `u-${i}`, BIG), `u-${i} left ${BIG}`);

      // Slice 2: 3 more; alone under the threshold, with slice 1 6 of 40 (> 5 and > 10 %): held.
      leave(ds, BIG, 3, 6);
      const s2 = await run();
      assert.equal(s2.run.status, 'partial', s2.run.error ?? '');
      assert.equal(s2.run.quarantine?.reason, 'group-removals');
      assert.match(s2.run.notice ?? '', new RegExp(`'${BIG}' \\(6 of 40: 3 in this run, 3 by the connector's runs of the last 60 minutes\\)`));
      for (let i = 3; i < 6; i++) assert.ok(inJira(ds, `u-${i}`, BIG), `u-${i} keeps ${BIG} while held`);
      assert.equal(s2.run.counts.targets?.jira?.groupsRemoved, undefined, 'a held removal is not counted as removed');

      // Another group is judged on its own: 3 leave OTHER, nothing of BIG's burst counts for it.
      leave(ds, OTHER, 10, 13);
      const s3 = await run();
      await written(s3, 'the other group');
      assert.deepEqual({ ...s3.run.counts.targets?.jira?.groupsRemoved }, { [OTHER]: 3 });
      for (let i = 10; i < 13; i++) assert.ok(!inJira(ds, `u-${i}`, OTHER), `u-${i} left ${OTHER}`);

      // The approval removes the 3 held; being an administrator's decision, they do not count: 3 + 2 ≤ 5.
      const approved = await engine.approveQuarantine({ connector: connector(jira.url), quarantineId: s2.run.quarantine!.id, by: 'admin', trigger: 'cli' });
      assert.equal(approved.run.status, 'succeeded', approved.run.error ?? '');
      for (let i = 3; i < 6; i++) assert.ok(!inJira(ds, `u-${i}`, BIG), `u-${i} left ${BIG} on approval`);
      leave(ds, BIG, 6, 8);
      await written(await run(), 'after the approval');
      for (let i = 6; i < 8; i++) assert.ok(!inJira(ds, `u-${i}`, BIG), `u-${i} left ${BIG}`);

      // Within the hour 3 + 2 removed by runs: 1 more would be written, 3 more (8 of 35) held.
      // Runs older than the window do not count: the earlier runs moved back two hours, 3 are written.
      await t.store.db.updateTable('runs').set({ started_at: new Date(Date.now() - 2 * 60 * 60 * 1000).toISOString() }).execute();
      leave(ds, BIG, 8, 11);
      const late = await run();
      await written(late, 'after the window');
      assert.deepEqual({ ...late.run.counts.targets?.jira?.groupsRemoved }, { [BIG]: 3 });
      for (let i = 8; i < 11; i++) assert.ok(!inJira(ds, `u-${i}`, BIG), `u-${i} left ${BIG}`);

      // And that run counts for the next slice: 3 + 3 of 32 is over, held.
      leave(ds, BIG, 11, 14);
      const again = await run();
      assert.equal(again.run.status, 'partial', again.run.notice ?? '');
      assert.match(again.run.notice ?? '', new RegExp(`'${BIG}' \\(6 of 32: 3 in this run, 3 by the connector's runs`));
    });
  });
}
