// Deactivations through the mapping (user.active true → false) are account removals for the
// deletion safety in every run kind (src/engine/deactivation-guard.ts): here an incremental run,
// a full run whose deactivations and cleanups pass the threshold only together (counted once, in
// one quarantine), and a single-user sync that passes it with the deactivations of the last
// hour. The memory source and the Jira DC emulator; threshold 2 users and 10%.
import { describe, test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { memoryDataset, person } from './helpers/memory-source.ts';
import { openSqliteStore, type TestStore } from './helpers/stores.ts';
import { startJiraDcEmulator, type JiraDcEmulator } from '../emulators/jira-dc/index.ts';
import { SyncEngine } from '../src/engine/engine.ts';
import type { ConnectorConfig } from '../src/config/schema.ts';
import type { MappingRule } from '../src/core/types.ts';

process.env.TEST_JIRA_PAT = 'admin-pat';

const rules: MappingRule[] = [
  { target: 'user.username', source: '$lower($stripDomain(userPrincipalName))', flow: 'always', whenEmpty: 'keep' },
  { target: 'user.displayName', source: 'displayName', flow: 'always', whenEmpty: 'keep' },
  { target: 'user.email', source: 'mail', flow: 'always', whenEmpty: 'keep' },
  { target: 'user.active', source: 'accountEnabled', flow: 'always', whenEmpty: 'keep' },
];
const NAMES = ['Ada Dev', 'Bea Boss', 'Carl Coder', 'Dana Ops', 'Eve Admin', 'Finn Fix'];
const login = (n: string) => n.toLowerCase().replace(/[^a-z]+/g, '.');

function connector(url: string): ConnectorConfig {
  return {
    id: 'de',
    source: { type: 'memory', dataset: 'deactivation', requiredGroups: [] },
    targets: [{ id: 'jira', type: 'jira-dc', url, auth: { type: 'pat', token: { env: 'TEST_JIRA_PAT' } }, mapping: rules, createUsers: true, createMissingGroups: true, concurrency: 4 }],
    safety: { maxUsers: 2, maxPercent: 10 },
  };
}

describe('deactivations count against the deletion safety in every run kind', () => {
  let jira: JiraDcEmulator;
  let t: TestStore;
  let engine: SyncEngine;

  before(async () => {
    jira = await startJiraDcEmulator({});
  });
  after(async () => {
    await t?.dispose();
    await jira.close();
  });
  beforeEach(async () => {
    await fetch(`${jira.url}/_emulator/reset`, { method: 'POST' });
    if (t) await t.dispose();
    t = await openSqliteStore();
    engine = new SyncEngine(t.store, { fastRetries: true });
  });
  const active = (n: string) => jira.inspect(login(n))?.active;

  test('incremental: 3 of 6 deactivated by the feed are held, nobody disabled', async () => {
    const ds = memoryDataset('deactivation', NAMES.map((n, i) => person(`u-${i}`, n)));
    const c = connector(jira.url);
    const seeded = await engine.run({ connector: c, kind: 'incremental', trigger: 'cli' });
    assert.equal(seeded.run.status, 'succeeded', seeded.run.error ?? '');
    for (const i of [0, 1, 2]) ds.edit(`u-${i}`, { accountEnabled: false });
    const r = await engine.run({ connector: c, kind: 'incremental', trigger: 'cli' });
    assert.equal(r.run.status, 'partial', r.run.error ?? '');
    assert.equal(r.run.counts.quarantined, 3, '3 held');
    for (const n of NAMES) assert.equal(active(n), true, `${n} still active`);
    const held = (await t.store.quarantines.users(r.run.quarantine!.id, { offset: 0, limit: 10 })).items;
    assert.deepEqual(held.map((u) => u.sourceId).sort(), ['u-0', 'u-1', 'u-2'], 'the three deactivated');
  });

  test('full: 2 leavers and 1 deactivation are each under the threshold, together over it: one quarantine with both', async () => {
    const ds = memoryDataset('deactivation', NAMES.map((n, i) => person(`u-${i}`, n)));
    const c = connector(jira.url);
    assert.equal((await engine.run({ connector: c, kind: 'full', trigger: 'cli' })).run.status, 'succeeded');
    ds.users = ds.users.filter((u) => u.id !== 'u-0' && u.id !== 'u-1');
    ds.edit('u-2', { accountEnabled: false, displayName: 'Carl Renamed' });
    const r = await engine.run({ connector: c, kind: 'full', trigger: 'cli' });
    assert.equal(r.run.status, 'partial', r.run.error ?? '');
    assert.match(r.run.quarantine?.message ?? '', /3 of the 6 users linked in target 'jira' \(2 cleanups and 1 deactivation in this run\)/, r.run.quarantine?.message);
    const held = (await t.store.quarantines.users(r.run.quarantine!.id, { offset: 0, limit: 10 })).items;
    assert.deepEqual(held.map((u) => `${u.sourceId}:${u.reason}`).sort(), ['u-0:deleted', 'u-1:deleted', 'u-2:deactivated'], 'both kinds held together');
    for (const n of NAMES) assert.equal(active(n), true, `${n} still active`);
    assert.equal(jira.inspect('carl.coder')?.displayName, 'Carl Renamed', 'the held user was renamed all the same');
  });

  test('single-user sync: the third deactivation within the hour passes the threshold and is held', async () => {
    const ds = memoryDataset('deactivation', NAMES.map((n, i) => person(`u-${i}`, n)));
    const c = connector(jira.url);
    assert.equal((await engine.run({ connector: c, kind: 'full', trigger: 'cli' })).run.status, 'succeeded');
    ds.edit('u-0', { accountEnabled: false });
    ds.edit('u-1', { accountEnabled: false });
    const two = await engine.run({ connector: c, kind: 'full', trigger: 'cli' });
    assert.equal(two.run.status, 'succeeded', two.run.error ?? '');
    assert.equal(two.run.counts.deactivated, 2, 'two deactivations written, under the threshold');
    assert.equal(active('Ada Dev'), false, 'Ada disabled');
    ds.edit('u-2', { accountEnabled: false });
    const one = await engine.run({ connector: c, kind: 'user', userRef: 'u-2', trigger: 'cli' });
    assert.equal(one.run.status, 'partial', one.run.error ?? '');
    assert.match(one.run.quarantine?.message ?? '', /3 of the 6 users linked .*1 deactivation in this run, 2 by the connector's runs of the last 60 minutes/, one.run.quarantine?.message);
    assert.equal(active('Carl Coder'), true, 'Carl still active');
    assert.equal(one.user?.targets[0]?.operation, 'quarantined', "the user's report says held");
  });

  test('removals held by an open quarantine of the hour count: the next slice is held too, and no longer once approved', async () => {
    const ds = memoryDataset('deactivation', NAMES.map((n, i) => person(`u-${i}`, n)));
    const c = connector(jira.url);
    assert.equal((await engine.run({ connector: c, kind: 'full', trigger: 'cli' })).run.status, 'succeeded');
    for (const i of [0, 1, 2]) ds.edit(`u-${i}`, { accountEnabled: false });
    const first = await engine.run({ connector: c, kind: 'full', trigger: 'cli' });
    assert.equal(first.run.status, 'partial', first.run.error ?? '');
    assert.equal(first.run.counts.quarantined, 3, 'the burst of 3 held');
    // One more a few minutes later: alone under the threshold (2), with the 3 held over it.
    ds.edit('u-3', { accountEnabled: false });
    const second = await engine.run({ connector: c, kind: 'full', trigger: 'cli' });
    assert.equal(second.run.status, 'partial', second.run.error ?? '');
    assert.match(second.run.quarantine?.message ?? '', /4 of the 6 users linked in target 'jira' \(1 deactivation in this run, 3 held by its open quarantines of the last 60 minutes\)/, second.run.quarantine?.message);
    assert.equal(active('Dana Ops'), true, 'the next slice is held, not written');
    // Approved (an administrator accepted them): done by the approval runs, which do not count.
    for (const q of [first.run.quarantine!.id, second.run.quarantine!.id]) assert.equal((await engine.approveQuarantine({ connector: c, quarantineId: q, by: 'admin', trigger: 'cli' })).run.status, 'succeeded');
    assert.deepEqual(NAMES.slice(0, 4).map(active), [false, false, false, false], 'the four approved removals done');
    ds.edit('u-4', { accountEnabled: false });
    const third = await engine.run({ connector: c, kind: 'full', trigger: 'cli' });
    assert.equal(third.run.status, 'succeeded', third.run.quarantine?.message ?? third.run.error ?? '');
    assert.equal(active('Eve Admin'), false, 'a single removal after the approval goes through');
  });
});
