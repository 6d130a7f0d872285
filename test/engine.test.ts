// The engine end to end against the real Jira DC emulator, with an in-memory identity provider
// the tests can edit between runs.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { memoryDataset, person } from './helpers/memory-source.ts';
import type { TestStore } from './helpers/stores.ts';
import { resetJira, syncHooks } from './helpers/sync-hooks.ts';
import { startJiraDcEmulator, type JiraDcEmulator } from '../emulators/jira-dc/index.ts';
import type { SyncEngine } from '../src/engine/engine.ts';
import type { ConnectorConfig } from '../src/config/schema.ts';
import type { MappingRule } from '../src/core/types.ts';

process.env.TEST_JIRA_PAT = 'admin-pat';

const rules: MappingRule[] = [
  { target: 'user.username', source: '$lower($stripDomain(userPrincipalName))', flow: 'always', whenEmpty: 'keep' },
  { target: 'user.displayName', source: 'displayName', flow: 'always', whenEmpty: 'keep' },
  { target: 'user.email', source: 'mail', flow: 'always', whenEmpty: 'keep' },
  { target: 'user.active', source: 'accountEnabled', flow: 'always', whenEmpty: 'keep' },
  { target: 'groups', source: 'groups', flow: 'always', whenEmpty: 'clear' },
  { target: 'property.department', source: 'department', flow: 'always', whenEmpty: 'clear' },
  { target: 'property.managerEmail', source: 'manager.mail', flow: 'always', whenEmpty: 'clear' },
  { target: 'property.managerUsername', source: 'manager.targetUsername', flow: 'always', whenEmpty: 'clear' },
];

function connector(url: string, extra: Partial<ConnectorConfig['targets'][0]> = {}): ConnectorConfig {
  return {
    id: 'test',
    source: { type: 'memory', dataset: 'org', requiredGroups: [] },
    targets: [
      { id: 'jira', type: 'jira-dc', url, auth: { type: 'pat', token: { env: 'TEST_JIRA_PAT' } }, mapping: rules, createUsers: true, createMissingGroups: true, concurrency: 4, ...extra },
    ],
  };
}

/** A small org where reports come before their managers, so manager links resolve late. */
function org() {
  const boss = person('00000000-0000-0000-0000-000000000001', 'Bea Boss', { department: 'Board' }, ['staff']);
  const mgr = person('00000000-0000-0000-0000-000000000002', 'Max Manager', { department: 'Engineering', manager: { id: boss.id, mail: boss.attrs.mail, userPrincipalName: boss.attrs.userPrincipalName, displayName: 'Bea Boss' } }, ['staff', 'eng']);
  const dev = (n: number, name: string) =>
    person(`00000000-0000-0000-0000-0000000001${String(n).padStart(2, '0')}`, name, { department: 'Engineering', manager: { id: mgr.id, mail: mgr.attrs.mail, userPrincipalName: mgr.attrs.userPrincipalName, displayName: 'Max Manager' } }, ['staff', 'eng']);
  return [dev(1, 'Ada Dev'), dev(2, 'Zoë Ünicode'), dev(3, 'Carl Coder'), mgr, boss];
}

describe('sync engine with Jira DC', () => {
  let jira: JiraDcEmulator;
  let t: TestStore;
  let engine: SyncEngine;

  syncHooks({ start: () => startJiraDcEmulator(), reset: (j) => resetJira(j), ready: (w) => ({ env: jira, t, engine } = w) });

  test('a full sync creates users with manager references; a second sync writes nothing', async () => {
    memoryDataset('org', org());
    const first = await engine.run({ connector: connector(jira.url), kind: 'full', trigger: 'cli' });
    assert.equal(first.run.status, 'succeeded', first.run.error ?? '');
    assert.equal(first.run.counts.created, 5);
    const ada = jira.inspect('ada.dev')!;
    assert.equal(ada.displayName, 'Ada Dev');
    assert.deepEqual(ada.properties.managerUsername, 'max.manager');
    assert.deepEqual(ada.properties.managerEmail, 'max.manager@contoso.com');
    assert.deepEqual(ada.properties.department, 'Engineering');
    assert.ok(ada.groups.includes('eng'), "ada.groups.includes('eng')");
    assert.equal(jira.inspect('max.manager')!.properties.managerUsername, 'bea.boss');
    assert.equal(jira.inspect('bea.boss')!.properties.managerUsername, undefined, 'no manager: nothing written');

    jira.resetStats();
    const second = await engine.run({ connector: connector(jira.url), kind: 'full', trigger: 'cli' });
    assert.equal(second.run.status, 'succeeded');
    assert.equal(second.run.counts.unchanged, 5);
    assert.equal(second.run.counts.usersWritten, 0);
    assert.equal(second.run.counts.writes, 0, 'the old name of usersWritten');
    assert.equal(jira.stats.writes, 0, 'no write request reached Jira');
    // Who the reads returned was marked in the store for the sweep (run_seen), and went with each run.
    assert.equal(await t.store.shadow.seen.count(first.run.id) + (await t.store.shadow.seen.count(second.run.id)), 0, 'no run_seen row outlives its run');
  });

  test('managers named by e-mail on a later page than their reports: written on the first run; a key naming nobody writes no manager', async () => {
    // As Google names a manager (by e-mail): no id, only a key the shadow resolves through its aliases.
    const byMail = (u: { attrs: Record<string, unknown> }) => ({ key: 'email' as const, value: String(u.attrs.mail), attrs: {} });
    const boss = person('00000000-0000-0000-0000-000000000001', 'Bea Boss', {}, ['staff']);
    const mgr = person('00000000-0000-0000-0000-000000000002', 'Max Manager', {}, ['staff'], byMail(boss));
    const devs = [1, 2, 3, 4].map((n) => person(`00000000-0000-0000-0000-0000000001${n}0`, `Dev Number${'abcd'[n - 1]}`, {}, ['staff'], byMail(mgr)));
    const stray = person('00000000-0000-0000-0000-000000000300', 'Sam Stray', {}, ['staff'], { key: 'email', value: 'left.long.ago@contoso.com', attrs: {} });
    const all = [...devs, stray, mgr, boss];
    for (const u of all) u.keys = { email: String(u.attrs.mail) };
    memoryDataset('org', all, 2); // the manager comes two pages after its reports, its own manager after it
    const first = await engine.run({ connector: connector(jira.url), kind: 'full', trigger: 'cli' });
    assert.equal(first.run.status, 'succeeded', first.run.error ?? '');
    assert.equal(first.run.counts.created, 7);
    for (const d of devs) {
      const got = jira.inspect(String(d.attrs.userPrincipalName).split('@')[0]!)!;
      assert.equal(got.properties.managerEmail, 'max.manager@contoso.com', `${d.attrs.displayName}: manager e-mail on the first run`);
      assert.equal(got.properties.managerUsername, 'max.manager', `${d.attrs.displayName}: manager's username on the first run`);
    }
    assert.equal(jira.inspect('max.manager')!.properties.managerUsername, 'bea.boss', 'a chain of late managers resolves');
    const strayGot = jira.inspect('sam.stray');
    assert.ok(strayGot, 'a manager key naming nobody does not hold the user back');
    assert.equal(strayGot.properties.managerUsername, undefined, 'no manager written for a key naming nobody');
    jira.resetStats();
    const second = await engine.run({ connector: connector(jira.url), kind: 'full', trigger: 'cli' });
    assert.equal(second.run.status, 'succeeded', second.run.error ?? '');
    assert.equal(second.run.counts.unchanged, 7);
    assert.equal(jira.stats.writes, 0, 'the second run writes nothing');
  });

  test('a dry run writes nothing and plans exactly what the real run then does', async () => {
    memoryDataset('org', org());
    const dry = await engine.run({ connector: connector(jira.url), kind: 'full', trigger: 'cli', dryRun: true });
    assert.equal(jira.stats.writes, 0);
    assert.equal(jira.inspect('ada.dev'), undefined);
    assert.equal(await t.store.links.count('test'), 0);
    const real = await engine.run({ connector: connector(jira.url), kind: 'full', trigger: 'cli' });
    const plan = async (id: string) =>
      (await t.store.runs.items(id, { limit: 100 })).items.map((i) => ({ id: i.sourceId, op: i.operation, changes: i.changes.map((c) => [c.field, c.after]) }));
    assert.deepEqual(await plan(dry.run.id), await plan(real.run.id));
    assert.equal(dry.run.counts.created, 5);
  });

  test('a change in the source updates only the changed field, before → after', async () => {
    const users = org();
    memoryDataset('org', users);
    await engine.run({ connector: connector(jira.url), kind: 'full', trigger: 'cli' });
    users[0]!.attrs.department = 'Research';
    jira.resetStats();
    const r = await engine.run({ connector: connector(jira.url), kind: 'full', trigger: 'cli' });
    assert.equal(r.run.counts.updated, 1);
    assert.equal(jira.stats.writes, 1);
    const item = (await t.store.runs.items(r.run.id, { operation: 'updated' })).items[0]!;
    assert.deepEqual(item.changes, [{ field: 'property.department', before: 'Engineering', after: 'Research' }]);
    assert.equal(jira.inspect('ada.dev')!.properties.department, 'Research');
  });

  test('a source failure part-way fails the run and marks nobody missing', async () => {
    const ds = memoryDataset('org', org(), 2);
    await engine.run({ connector: connector(jira.url), kind: 'full', trigger: 'cli' });
    ds.failAfterPages = 1;
    const r = await engine.run({ connector: connector(jira.url), kind: 'full', trigger: 'cli' });
    assert.equal(r.run.status, 'failed');
    assert.match(r.run.error ?? '', /injected failure/);
    assert.equal(r.run.counts.missing, 0);
    const links = await t.store.links.getMany('test', 'jira', org().map((u) => u.id));
    assert.ok([...links.values()].every((l) => l.missingSince === null), '[...links.values()].every((l) => l.missingSince === null)');
  });

  test('a user the source no longer returns is disabled (the default cleanup), and re-enabled when back', async () => {
    const users = org();
    const ds = memoryDataset('org', users);
    await engine.run({ connector: connector(jira.url), kind: 'full', trigger: 'cli' });
    ds.users = users.filter((u) => u.attrs.displayName !== 'Carl Coder');
    const r = await engine.run({ connector: connector(jira.url), kind: 'full', trigger: 'cli' });
    assert.equal(r.run.status, 'succeeded', r.run.error ?? '');
    assert.equal(r.run.counts.disabled, 1);
    assert.equal(r.run.counts.missing, 0, 'disabled, not merely reported');
    assert.equal(jira.inspect('carl.coder')!.active, false, 'deactivated in Jira');
    const item = (await t.store.runs.items(r.run.id, { operation: 'disabled' })).items[0]!;
    assert.match(item.label ?? '', /Carl Coder/);
    assert.deepEqual(item.changes, [{ field: 'user.active', before: true, after: false }], 'before → after');
    // Another run: already done, reported once more as missing, nothing written.
    jira.resetStats();
    const again = await engine.run({ connector: connector(jira.url), kind: 'full', trigger: 'cli' });
    assert.equal(again.run.counts.disabled ?? 0, 0);
    assert.equal(again.run.counts.missing, 1);
    assert.equal(jira.stats.writes, 0);
    // Back again: re-enabled.
    ds.users = users;
    const back = await engine.run({ connector: connector(jira.url), kind: 'full', trigger: 'cli' });
    assert.equal(back.run.counts.missing, 0);
    assert.equal(jira.inspect('carl.coder')!.active, true, 're-enabled');
    const link = await t.store.links.get('test', 'jira', users.find((u) => u.attrs.displayName === 'Carl Coder')!.id);
    assert.equal(link?.cleanup ?? null, null, 'the cleanup state is gone once the user is back in step');
    assert.equal(link?.missingSince, null);
  });

  test('groups: idsync removes only memberships it added; manual ones stay', async () => {
    const users = org();
    memoryDataset('org', users);
    await engine.run({ connector: connector(jira.url), kind: 'full', trigger: 'cli' });
    // An admin adds Ada to a group by hand.
    jira.store.ensureGroup('hand-picked');
    jira.store.addMember('hand-picked', jira.inspect('ada.dev')!.key);
    users[0]!.groups = ['staff'];
    const r = await engine.run({ connector: connector(jira.url), kind: 'full', trigger: 'cli', reconcile: true });
    assert.equal(r.run.status, 'succeeded', r.run.error ?? '');
    const groups = jira.inspect('ada.dev')!.groups;
    assert.ok(!groups.includes('eng'), 'eng removed: idsync had added it');
    assert.ok(groups.includes('hand-picked'), 'manual membership stays');
  });

  test('reconcile repairs a value changed by hand in Jira; the snapshot-based sync does not see it', async () => {
    memoryDataset('org', org());
    await engine.run({ connector: connector(jira.url), kind: 'full', trigger: 'cli' });
    jira.store.setProperty(jira.inspect('ada.dev')!.key, 'department', JSON.stringify('Hacked'));
    const plain = await engine.run({ connector: connector(jira.url), kind: 'full', trigger: 'cli' });
    assert.equal(plain.run.counts.updated, 0);
    const rec = await engine.run({ connector: connector(jira.url), kind: 'full', trigger: 'cli', reconcile: true });
    assert.equal(rec.run.counts.updated, 1);
    assert.equal(jira.inspect('ada.dev')!.properties.department, 'Engineering');
  });

  test('a 40,000-character property value fails only that user', async () => {
    const users = org();
    users[1]!.attrs.department = 'x'.repeat(40_000);
    memoryDataset('org', users);
    const r = await engine.run({ connector: connector(jira.url), kind: 'full', trigger: 'cli' });
    assert.equal(r.run.status, 'partial');
    assert.equal(r.run.counts.failed, 1);
    assert.equal(r.run.counts.created, 4);
    const failed = (await t.store.runs.items(r.run.id, { operation: 'failed' })).items[0]!;
    assert.match(failed.error ?? '', /property\.department.*32,?768/);
    assert.equal(failed.label, 'Zoë Ünicode <zo.nicode@contoso.com>');
    const zoe = jira.inspect('zo.nicode')!;
    assert.equal(zoe.displayName, 'Zoë Ünicode', 'the account was still created');
    assert.equal(zoe.properties.department, undefined);
    assert.equal(zoe.properties.managerEmail, 'max.manager@contoso.com', 'other fields still applied');
  });

  test('a user whose mapping yields no e-mail fails with the reason in a dry run and in the real run alike, and nothing is sent', async () => {
    const users = org();
    users[2]!.attrs.mail = null; // Carl Coder: Jira DC needs an e-mail to create a user
    memoryDataset('org', users);
    const dry = await engine.run({ connector: connector(jira.url), kind: 'full', trigger: 'cli', dryRun: true });
    const real = await engine.run({ connector: connector(jira.url), kind: 'full', trigger: 'cli' });
    for (const r of [dry, real]) {
      assert.equal(r.run.counts.failed, 1, `${r.run.dryRun ? 'dry' : 'real'} run: the user without e-mail fails`);
      assert.equal(r.run.counts.created, 4, `${r.run.dryRun ? 'dry' : 'real'} run: the others are created`);
      const failed = (await t.store.runs.items(r.run.id, { operation: 'failed' })).items[0]!;
      assert.match(failed.label ?? '', /Carl Coder/);
      assert.match(failed.error ?? '', /gives user\.email no value.*jira-dc needs user\.username, user\.displayName, user\.email/);
    }
    const plan = async (id: string) =>
      (await t.store.runs.items(id, { limit: 100 })).items.map((i) => ({ id: i.sourceId, op: i.operation, error: i.error, changes: i.changes.map((c) => [c.field, c.after]) })).sort((a, b) => `${a.id}`.localeCompare(`${b.id}`));
    assert.deepEqual(await plan(dry.run.id), await plan(real.run.id), 'the simulation is the exact plan');
    assert.equal(jira.inspect('carl.coder'), undefined, 'no create was sent');
    assert.equal(jira.stats.byRoute['POST /rest/api/:id/user'] ?? 0, 4, 'four creates reached Jira, not five');
  });

  test('single-user sync by UPN, and by the Atlassian username of a linked user', async () => {
    memoryDataset('org', org());
    const r = await engine.run({ connector: connector(jira.url), kind: 'user', userRef: 'max.manager@contoso.com', trigger: 'cli' });
    assert.equal(r.run.status, 'succeeded', r.run.error ?? '');
    assert.equal(r.user?.found, true);
    assert.equal(r.user?.targets[0]?.operation, 'created');
    assert.equal(r.user?.mapped.jira?.['property.department'], 'Engineering');
    // The manager (Bea) is not synced yet: the reference stays empty rather than waiting forever.
    assert.equal(jira.inspect('max.manager')!.properties.managerUsername, undefined);
    const again = await engine.run({ connector: connector(jira.url), kind: 'user', userRef: 'max.manager', trigger: 'cli' });
    assert.equal(again.user?.targets[0]?.matched, 'link');
    assert.equal(again.user?.targets[0]?.operation, 'unchanged');
    const none = await engine.run({ connector: connector(jira.url), kind: 'user', userRef: 'nobody@contoso.com', trigger: 'cli' });
    assert.equal(none.run.status, 'failed');
    assert.match(none.run.error ?? '', /no user "nobody@contoso.com"/);
  });

  test('a mapping change re-maps everyone although the directory did not change', async () => {
    memoryDataset('org', org());
    await engine.run({ connector: connector(jira.url), kind: 'full', trigger: 'cli' });
    const more = connector(jira.url, { mapping: [...rules, { target: 'property.displayNameCopy', source: 'displayName', flow: 'always', whenEmpty: 'keep' }] });
    const r = await engine.run({ connector: more, kind: 'full', trigger: 'cli' });
    assert.equal(r.run.counts.updated, 5);
    assert.equal(jira.inspect('carl.coder')!.properties.displayNameCopy, 'Carl Coder');
    const again = await engine.run({ connector: more, kind: 'full', trigger: 'cli' });
    assert.equal(again.run.counts.unchanged, 5);
  });

  test('a user that failed is tried again in full on the next run, although its record did not change', async () => {
    const users = org();
    users[1]!.attrs.department = 'x'.repeat(40_000);
    memoryDataset('org', users);
    await engine.run({ connector: connector(jira.url), kind: 'full', trigger: 'cli' });
    const second = await engine.run({ connector: connector(jira.url), kind: 'full', trigger: 'cli' });
    assert.equal(second.run.counts.failed, 1, 'not taken for unchanged');
    assert.equal(second.run.counts.unchanged, 4);
  });

  test('a full sync lists what it changed and who failed; its unchanged users are counted, not listed; a single-user run lists its user', async () => {
    const users = org();
    memoryDataset('org', users);
    const first = await engine.run({ connector: connector(jira.url), kind: 'full', trigger: 'cli' });
    assert.equal((await t.store.runs.items(first.run.id)).total, 5, 'every created user is listed');
    assert.equal(first.run.counts.unchangedUnlisted, undefined, 'nothing unchanged, nothing left out');

    users[0]!.attrs.department = 'Research'; // Ada: changed
    users[1]!.attrs.department = 'x'.repeat(40_000); // Zoë: fails
    memoryDataset('org', users);
    const second = await engine.run({ connector: connector(jira.url), kind: 'full', trigger: 'cli' });
    assert.deepEqual([second.run.counts.updated, second.run.counts.failed, second.run.counts.unchanged], [1, 1, 3]);
    assert.equal(second.run.counts.unchangedUnlisted, 3, 'the unchanged users are counted as not listed');
    assert.equal(second.run.counts.targets?.jira?.unchangedUnlisted, 3, 'per target too');
    const { items, total } = await t.store.runs.items(second.run.id);
    assert.equal(total, 2);
    assert.deepEqual(items.map((i) => [i.label?.split(' <')[0], i.operation]).sort(), [['Ada Dev', 'updated'], ['Zoë Ünicode', 'failed']]);
    assert.deepEqual(items.find((i) => i.operation === 'updated')!.changes.map((c) => [c.field, c.before, c.after]), [['property.department', 'Engineering', 'Research']], 'from → to');
    assert.match(items.find((i) => i.operation === 'failed')!.error ?? '', /property\.department/);
    assert.equal((await t.store.runs.items(second.run.id, { operation: 'unchanged' })).total, 0, 'no unchanged item is claimed');

    // One user asked for is listed whatever its outcome: its run's answer is its item.
    const one = await engine.run({ connector: connector(jira.url), kind: 'user', userRef: 'carl.coder', trigger: 'cli' });
    assert.equal(one.user?.targets[0]?.operation, 'unchanged');
    // (Zoë, left pending by her failure, is projected again by any run, this one too.)
    assert.deepEqual((await t.store.runs.items(one.run.id, { search: 'carl' })).items.map((i) => i.operation), ['unchanged']);
    assert.equal(one.run.counts.unchangedUnlisted, undefined);
  });

  test('runs of one connector never overlap', async () => {
    memoryDataset('org', org());
    const a = engine.run({ connector: connector(jira.url), kind: 'full', trigger: 'cli' });
    await assert.rejects(engine.run({ connector: connector(jira.url), kind: 'full', trigger: 'cli' }), /already running/);
    assert.equal((await a).run.status, 'succeeded');
  });
});
