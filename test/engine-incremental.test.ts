// Incremental sync through the shadow, against the real Jira DC emulator, with the in-memory
// identity provider's change feed: seeding, a change applied (only that user, only that field),
// tombstones (soft-deleted, deleted, a complete read that left a user out), a manager change
// reaching the reports, an expired checkpoint falling back to a full read, a mapping that needs
// other attributes re-seeding, a changed rule projected from the shadow (no read, bounded pages), a run without changes writing nothing (shadow included), and a failed read never
// tombstoning. On SQLite and PostgreSQL.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { memoryDataset, person, type MemoryDataset } from './helpers/memory-source.ts';
import { storeKinds, type TestStore } from './helpers/stores.ts';
import { resetJira, syncHooks } from './helpers/sync-hooks.ts';
import { startJiraDcEmulator, type JiraDcEmulator } from '../emulators/jira-dc/index.ts';
import type { SyncEngine } from '../src/engine/engine.ts';
import type { ConnectorConfig } from '../src/config/schema.ts';
import type { MappingRule, SourceUser } from '../src/core/types.ts';
import { shadowReplay, type IngestBatch } from '../src/engine/ingest.ts';

process.env.TEST_JIRA_PAT = 'admin-pat';

const rules: MappingRule[] = [
  { target: 'user.username', source: '$lower($stripDomain(userPrincipalName))', flow: 'always', whenEmpty: 'keep' },
  { target: 'user.displayName', source: 'displayName', flow: 'always', whenEmpty: 'keep' },
  { target: 'user.email', source: 'mail', flow: 'always', whenEmpty: 'keep' },
  { target: 'property.department', source: 'department', flow: 'always', whenEmpty: 'clear' },
  { target: 'property.managerEmail', source: 'manager.mail', flow: 'always', whenEmpty: 'clear' },
  { target: 'property.managerUsername', source: 'manager.targetUsername', flow: 'always', whenEmpty: 'clear' },
];

const ID = {
  boss: '00000000-0000-0000-0000-0000000000b1',
  mgr: '00000000-0000-0000-0000-0000000000b2',
  ada: '00000000-0000-0000-0000-0000000000d1',
  zoe: '00000000-0000-0000-0000-0000000000d2',
  carl: '00000000-0000-0000-0000-0000000000d3',
};

/** Reports first, managers last (the manager arrives after its reports in the seeding round). */
function org(): SourceUser[] {
  const boss = person(ID.boss, 'Bea Boss', { department: 'Board' });
  const mgr = person(ID.mgr, 'Max Manager', { department: 'Engineering' }, [], { id: ID.boss, attrs: { mail: boss.attrs.mail } });
  const dev = (id: string, name: string) => person(id, name, { department: 'Engineering' }, [], { id: ID.mgr, attrs: { mail: mgr.attrs.mail } });
  return [dev(ID.ada, 'Ada Dev'), dev(ID.zoe, 'Zoe Tester'), dev(ID.carl, 'Carl Coder'), mgr, boss];
}

/** Every shadow row and the connector's state, to compare before and after a run. */
async function shadowSnapshot(t: TestStore, connectorId: string): Promise<unknown> {
  const rows = await t.store.db.selectFrom('shadow_users').selectAll().where('connector_id', '=', connectorId).orderBy('source_id').execute();
  const keys = await t.store.db.selectFrom('shadow_keys').selectAll().where('connector_id', '=', connectorId).orderBy('key_value').execute();
  const links = await t.store.db.selectFrom('links').selectAll().where('connector_id', '=', connectorId).orderBy('source_id').execute();
  return { rows, keys, links };
}

for (const [kind, open] of storeKinds) {
  describe(`incremental sync through the shadow on ${kind}`, () => {
    let jira: JiraDcEmulator;
    let t: TestStore;
    let engine: SyncEngine;
    let ds: MemoryDataset;
    const dataset = `inc-${kind}`;
    const connector = (mapping: MappingRule[] = rules): ConnectorConfig => ({
      id: 'inc',
      source: { type: 'memory', dataset, requiredGroups: [] },
      // These tests are about the shadow and its tombstones: cleanup action keep reports gone users
      // missing and leaves their accounts (test/engine-cleanup.test.ts covers the cleanup itself).
      targets: [{ id: 'jira', type: 'jira-dc', url: jira.url, auth: { type: 'pat', token: { env: 'TEST_JIRA_PAT' } }, mapping, createUsers: true, createMissingGroups: true, concurrency: 2, cleanup: { action: 'keep', removeGroups: false, keepGroups: [], protected: { users: [], groups: [] } } }] as ConnectorConfig['targets'],
    });
    const incremental = (mapping?: MappingRule[]) => engine.run({ connector: connector(mapping), kind: 'incremental', trigger: 'cli' });
    const full = () => engine.run({ connector: connector(), kind: 'full', trigger: 'cli' });

    syncHooks({
      start: () => startJiraDcEmulator(),
      reset: (j) => resetJira(j),
      openStore: open,
      ready(w) {
        ({ env: jira, t, engine } = w);
        ds = memoryDataset(dataset, org(), 2);
      },
    });

    test('the first incremental run seeds the checkpoint; the next one reads nothing and writes nothing, shadow included', async () => {
      const seed = await incremental();
      assert.equal(seed.run.status, 'succeeded', seed.run.error ?? '');
      assert.deepEqual(ds.changeCalls, [null], 'a seeding round from no checkpoint');
      assert.equal(seed.run.counts.created, 5);
      assert.equal(jira.inspect('ada.dev')!.properties.managerEmail, 'max.manager@contoso.com');
      assert.equal(jira.inspect('ada.dev')!.properties.managerUsername, 'max.manager', 'the manager arrived after its reports and still resolved');
      const state = await t.store.shadow.state('inc');
      assert.equal(state.checkpoint, 'log:0');
      assert.ok(state.completeReadAt, 'a complete seeding round is a complete read');
      assert.equal(await t.store.shadow.count('inc', { live: true }), 5);
      assert.equal(await t.store.shadow.count('inc', { pending: true }), 0, 'everything applied: nothing pending');

      const before = await shadowSnapshot(t, 'inc');
      jira.resetStats();
      const again = await incremental();
      assert.equal(again.run.status, 'succeeded', again.run.error ?? '');
      assert.deepEqual(ds.changeCalls, [null, 'log:0']);
      assert.equal(again.run.counts.read, 0);
      assert.equal(again.run.counts.usersWritten, 0);
      assert.equal(jira.stats.writes, 0);
      assert.deepEqual(await shadowSnapshot(t, 'inc'), before, 'no shadow row, key or link written');
    });

    test('a full run without changes writes nothing to the shadow or the links', async () => {
      assert.equal((await full()).run.status, 'succeeded');
      const before = await shadowSnapshot(t, 'inc');
      const r = await full();
      assert.equal(r.run.counts.unchanged, 5);
      assert.equal(r.run.counts.usersWritten, 0);
      assert.deepEqual(await shadowSnapshot(t, 'inc'), before);
    });

    test('a change is applied: only that user is read and written, only the field that changed', async () => {
      await incremental();
      ds.edit(ID.ada, { department: 'Research' });
      jira.resetStats();
      const r = await incremental();
      assert.equal(r.run.status, 'succeeded', r.run.error ?? '');
      assert.equal(r.run.counts.read, 1);
      assert.equal(r.run.counts.updated, 1);
      assert.equal(r.run.counts.usersWritten, 1);
      const { items } = await t.store.runs.items(r.run.id);
      assert.deepEqual(items.map((i) => [i.sourceId, i.operation]), [[ID.ada, 'updated']]);
      assert.deepEqual(items[0]!.changes.map((c) => c.field), ['property.department']);
      assert.equal(jira.inspect('ada.dev')!.properties.department, 'Research');
      assert.equal(jira.inspect('zoe.tester')!.properties.department, 'Engineering');
      assert.equal((await t.store.shadow.state('inc')).checkpoint, 'log:1');
    });

    test('soft-deleted and deleted users get tombstones, are journaled missing with the reason, and clear it when back', async () => {
      await incremental();
      ds.remove(ID.carl, 'soft-deleted');
      ds.remove(ID.zoe, 'deleted');
      const r = await incremental();
      assert.equal(r.run.status, 'succeeded', r.run.error ?? '');
      assert.equal(r.run.counts.missing, 2);
      const { items } = await t.store.runs.items(r.run.id, { operation: 'missing' });
      const reasons = Object.fromEntries(items.map((i) => [i.sourceId, i.details?.reason]));
      assert.deepEqual(reasons, { [ID.carl]: 'soft-deleted', [ID.zoe]: 'deleted' });
      assert.match(items.find((i) => i.sourceId === ID.carl)!.error ?? '', /still restorable/);
      const shadow = await t.store.shadow.getMany('inc', [ID.carl, ID.zoe]);
      assert.equal(shadow.get(ID.carl)!.tombstone, 'soft-deleted');
      assert.equal(shadow.get(ID.zoe)!.tombstone, 'deleted');
      assert.ok(shadow.get(ID.carl)!.record, 'the last record is kept with the tombstone');
      const links = await t.store.links.getMany('inc', 'jira', [ID.carl, ID.zoe]);
      assert.ok(links.get(ID.carl)!.missingSince && links.get(ID.zoe)!.missingSince, 'links marked missing');
      assert.equal(jira.inspect('carl.coder')!.active, true, 'cleanup action keep: the account is left as it is');

      // The same removals again (a re-read feed) are no change: nothing written, nothing journaled.
      const quiet = await incremental();
      assert.equal(quiet.run.counts.missing, 0);

      // Restored: the tombstone and the link's missing mark go.
      ds.upsert(org().find((u) => u.id === ID.carl)!);
      const back = await incremental();
      assert.equal(back.run.status, 'succeeded', back.run.error ?? '');
      assert.equal((await t.store.shadow.getMany('inc', [ID.carl])).get(ID.carl)!.tombstone, null);
      assert.equal((await t.store.links.get('inc', 'jira', ID.carl))!.missingSince, null);
    });

    test('a complete full read tombstones who it left out as not-returned; a failed read tombstones nobody', async () => {
      await full();
      ds.users = ds.users.filter((u) => u.id !== ID.carl);
      ds.failAfterPages = 1;
      const failed = await full();
      assert.equal(failed.run.status, 'failed');
      assert.equal(await t.store.shadow.count('inc', { live: true }), 5, 'a failed read tombstones nobody');
      const failedDelta = await incremental();
      assert.equal(failedDelta.run.status, 'failed');
      assert.equal(await t.store.shadow.count('inc', { live: true }), 5, 'a failed seeding round tombstones nobody');
      ds.failAfterPages = undefined;
      const r = await full();
      assert.equal(r.run.counts.missing, 1);
      assert.equal((await t.store.shadow.getMany('inc', [ID.carl])).get(ID.carl)!.tombstone, 'not-returned');
    });

    test("a manager's change arriving by delta updates the reports' manager values", async () => {
      await incremental();
      ds.edit(ID.mgr, { mail: 'max.m@contoso.com' });
      const r = await incremental();
      assert.equal(r.run.status, 'succeeded', r.run.error ?? '');
      assert.equal(r.run.counts.read, 1, 'only the manager came by the feed');
      assert.equal(r.run.counts.updated, 4, 'the manager and its three reports');
      for (const name of ['ada.dev', 'zoe.tester', 'carl.coder']) assert.equal(jira.inspect(name)!.properties.managerEmail, 'max.m@contoso.com', name);
      assert.equal(jira.inspect('max.manager')!.emailAddress, 'max.m@contoso.com');
    });

    test("a deleted manager is no manager any more: the reports' manager values are cleared", async () => {
      await incremental();
      ds.remove(ID.mgr, 'soft-deleted');
      const r = await incremental();
      assert.equal(r.run.status, 'succeeded', r.run.error ?? '');
      assert.equal(r.run.counts.missing, 1, 'the manager');
      assert.equal(r.run.counts.updated, 3, 'its three reports');
      for (const name of ['ada.dev', 'zoe.tester', 'carl.coder']) {
        assert.equal(jira.inspect(name)!.properties.managerEmail, undefined, name);
        assert.equal(jira.inspect(name)!.properties.managerUsername, undefined, name);
      }
    });

    test('an expired checkpoint falls back to a full read by itself, and the run says so', async () => {
      await incremental();
      ds.edit(ID.ada, { department: 'Research' });
      ds.expireCheckpoints = true;
      const r = await incremental();
      assert.equal(r.run.status, 'succeeded', r.run.error ?? '');
      assert.match(r.run.notice ?? '', /no longer accepts the checkpoint.*read in full/);
      assert.equal((await t.store.runs.get(r.run.id))!.notice, r.run.notice, 'the notice is stored with the run');
      assert.deepEqual(ds.changeCalls.slice(1), ['log:0', null]);
      assert.equal(r.run.counts.updated, 1);
      assert.equal(r.run.counts.unchanged, 4);
      assert.equal(jira.inspect('ada.dev')!.properties.department, 'Research');
      ds.expireCheckpoints = false;
      assert.equal((await t.store.shadow.state('inc')).checkpoint, 'log:1', 'the new checkpoint');
      const next = await incremental();
      assert.equal(next.run.notice, null);
      assert.deepEqual(ds.changeCalls.slice(-1), ['log:1']);
    });

    test('a mapping that needs other attributes does not continue the old checkpoint', async () => {
      await incremental();
      const more = [...rules, { target: 'property.title', source: 'jobTitle', flow: 'always', whenEmpty: 'clear' } as MappingRule];
      ds.users.find((u) => u.id === ID.ada)!.attrs.jobTitle = 'Engineer'; // not logged: only a new read sees it
      const r = await incremental(more);
      assert.equal(r.run.status, 'succeeded', r.run.error ?? '');
      assert.match(r.run.notice ?? '', /mapping changed/);
      assert.deepEqual(ds.changeCalls, [null, null], 'seeded again');
      assert.equal(jira.inspect('ada.dev')!.properties.title, 'Engineer');
    });

    test("a rule's expression changed: everyone is projected from the shadow in bounded pages, the feed continues from its checkpoint, a tombstoned user is left alone", async () => {
      await incremental();
      ds.remove(ID.carl, 'deleted');
      await incremental();
      const calls = ds.changeCalls.length;
      const upper = rules.map((r) => (r.target === 'property.department' ? { ...r, source: '$upper(department)' } : r));
      const r = await incremental(upper);
      assert.equal(r.run.status, 'succeeded', r.run.error ?? '');
      assert.match(r.run.notice ?? '', /mapping changed: 4 users projected from the shadow, no directory read/);
      assert.deepEqual(ds.changeCalls.slice(calls), ['log:1'], 'no seeding round: the feed goes on from the checkpoint');
      assert.equal(r.run.counts.read, 0);
      assert.equal(r.run.counts.updated, 4);
      assert.equal(jira.inspect('ada.dev')!.properties.department, 'ENGINEERING');
      assert.equal(jira.inspect('bea.boss')!.properties.department, 'BOARD');
      assert.equal(jira.inspect('max.manager')!.properties.managerEmail, 'bea.boss@contoso.com', 'managers resolve through the shadow as before');
      assert.equal(jira.inspect('carl.coder')!.properties.department, 'Engineering', 'the deleted user is not projected');
      const again = await incremental(upper);
      assert.equal(again.run.notice, null);
      assert.equal(again.run.counts.usersWritten, 0);

      // The replay itself: pages of the size asked, live records only, never complete, no checkpoint.
      const batches: IngestBatch[] = [];
      const counted = { users: 0 };
      for await (const b of shadowReplay(t.store.shadow, 'inc', counted, undefined, 3)) batches.push(b);
      assert.deepEqual(batches.map((b) => b.users.length), [3, 1]);
      assert.deepEqual(batches.flatMap((b) => b.users.map((u) => u.id)).sort(), [ID.boss, ID.mgr, ID.ada, ID.zoe].sort());
      assert.ok(batches.every((b) => b.replayed && !b.complete && b.checkpoint === undefined && b.removed.length === 0), 'replayed batches: not complete, no checkpoint, no removals');
      assert.equal(counted.users, 4);
    });

    test('a manager referenced by another key (an LDAP DN) is resolved through the alias keys', async () => {
      const users = org();
      const mgr = users.find((u) => u.id === ID.mgr)!;
      mgr.keys = { dn: 'CN=Max Manager,OU=Staff,DC=contoso,DC=com' };
      const ada = users.find((u) => u.id === ID.ada)!;
      ada.manager = { key: 'dn', value: 'cn=max manager,ou=staff,dc=contoso,dc=com' }; // no attrs: only the shadow knows the manager
      ds = memoryDataset(dataset, users, 2);
      await full(); // the manager is read after Ada: its keys are in the shadow from the end of this read on
      ds.edit(ID.ada, { department: 'Research' });
      const r = await incremental();
      assert.equal(r.run.status, 'succeeded', r.run.error ?? '');
      assert.equal(jira.inspect('ada.dev')!.properties.managerEmail, 'max.manager@contoso.com');
      assert.equal(jira.inspect('ada.dev')!.properties.managerUsername, 'max.manager');
      assert.equal((await t.store.shadow.getMany('inc', [ID.ada])).get(ID.ada)!.managerId, ID.mgr, 'the resolved id is kept with the report');
    });

    test('a simulated incremental run plans the change and writes nothing: not Jira, not the shadow, not the checkpoint', async () => {
      await incremental();
      ds.edit(ID.ada, { department: 'Research' });
      const before = await shadowSnapshot(t, 'inc');
      jira.resetStats();
      const sim = await engine.run({ connector: connector(), kind: 'incremental', trigger: 'cli', dryRun: true });
      assert.equal(sim.run.status, 'succeeded', sim.run.error ?? '');
      assert.equal(sim.run.counts.updated, 1, 'the plan is the real one');
      assert.equal(jira.stats.writes, 0);
      assert.deepEqual(await shadowSnapshot(t, 'inc'), before);
      assert.equal((await t.store.shadow.state('inc')).checkpoint, 'log:0');
      const real = await incremental();
      assert.equal(real.run.counts.updated, 1, 'the real run still finds the change');
    });

    test('an incremental run of a source without a change feed is refused', async () => {
      ds.noChangeFeed = true;
      const r = await incremental();
      assert.equal(r.run.status, 'failed');
      assert.match(r.run.error ?? '', /no change feed.*cannot be synced incrementally/);
    });
  });
}
