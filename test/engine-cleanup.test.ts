// Cleanup of leavers (issue 10) end to end against the Jira DC emulator: the default disable,
// quarantine of an empty read, of a filter that puts everyone out of scope and of a cleanup over
// the threshold (nothing disabled), approval (a selection, then all) and rejection, removal of
// idsync's memberships with a manual one surviving, anonymise and return, delete after N days on
// the right day (injected clock), protected users, and a dry run that shows the cleanup.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { memoryDataset, person } from './helpers/memory-source.ts';
import type { TestStore } from './helpers/stores.ts';
import { resetJira, syncHooks } from './helpers/sync-hooks.ts';
import { startJiraDcEmulator, type JiraDcEmulator } from '../emulators/jira-dc/index.ts';
import { SyncEngine } from '../src/engine/engine.ts';
import type { QuarantineNotice } from '../src/engine/quarantine.ts';
import type { ConnectorConfig } from '../src/config/schema.ts';
import type { CleanupConfig } from '../src/config/cleanup-schema.ts';
import type { MappingRule, SourceUser } from '../src/core/types.ts';

process.env.TEST_JIRA_PAT = 'admin-pat';

const rules: MappingRule[] = [
  { target: 'user.username', source: '$lower($stripDomain(userPrincipalName))', flow: 'always', whenEmpty: 'keep' },
  { target: 'user.displayName', source: 'displayName', flow: 'always', whenEmpty: 'keep' },
  { target: 'user.email', source: 'mail', flow: 'always', whenEmpty: 'keep' },
  { target: 'groups', source: 'groups', flow: 'always', whenEmpty: 'clear' },
];

type CleanupIn = Partial<Omit<CleanupConfig, 'protected'>> & { protected?: Partial<CleanupConfig['protected']> };

function connector(url: string, cleanup?: CleanupIn, opts: { requiredGroups?: string[]; safety?: ConnectorConfig['safety'] } = {}): ConnectorConfig {
  const c: CleanupConfig | undefined = cleanup ? { removeGroups: false, keepGroups: [], ...cleanup, protected: { users: [], groups: [], ...cleanup.protected } } : undefined;
  return {
    id: 'co',
    source: { type: 'memory', dataset: 'cleanup', requiredGroups: opts.requiredGroups ?? [] },
    targets: [{ id: 'jira', type: 'jira-dc', url, auth: { type: 'pat', token: { env: 'TEST_JIRA_PAT' } }, mapping: rules, createUsers: true, createMissingGroups: true, concurrency: 4, ...(c ? { cleanup: c } : {}) }],
    ...(opts.safety ? { safety: opts.safety } : {}),
  };
}

function org(): SourceUser[] {
  return [
    person('u-1', 'Ada Dev', {}, ['staff', 'eng']),
    person('u-2', 'Bea Boss', {}, ['staff']),
    person('u-3', 'Carl Coder', {}, ['staff', 'eng']),
    person('u-4', 'Dana Ops', {}, ['staff']),
    person('u-5', 'Eve Admin', {}, ['staff']),
  ];
}

describe('cleanup of users the identity provider no longer gives', () => {
  let jira: JiraDcEmulator;
  let t: TestStore;
  let clock: Date;
  let notices: QuarantineNotice[];
  let engine: SyncEngine;

  syncHooks({
    start: () => startJiraDcEmulator({ groups: ['staff', 'eng', 'manual'] }),
    reset: (j) => resetJira(j),
    deps: { now: () => clock, onQuarantine: (n) => void notices.push(n) },
    ready(w) {
      ({ env: jira, t, engine } = w);
      clock = new Date('2026-03-01T09:00:00Z');
      notices = [];
    },
  });

  const activeUsers = () => ['ada.dev', 'bea.boss', 'carl.coder', 'dana.ops', 'eve.admin'].filter((n) => jira.inspect(n)?.active).length;

  async function seed(c: ConnectorConfig, users = org()) {
    const ds = memoryDataset('cleanup', users);
    const r = await engine.run({ connector: c, kind: 'full', trigger: 'cli' });
    assert.equal(r.run.status, 'succeeded', r.run.error ?? '');
    assert.equal(r.run.counts.created, users.length);
    return ds;
  }

  test('an empty source quarantines: nothing is disabled, the run says why, a second empty read adds no quarantine', async () => {
    const c = connector(jira.url);
    const ds = await seed(c);
    ds.users = [];
    const r = await engine.run({ connector: c, kind: 'full', trigger: 'cli' });
    assert.equal(r.run.status, 'partial', 'work held back');
    assert.equal(activeUsers(), 5, 'nobody disabled');
    assert.equal(r.run.counts.disabled ?? 0, 0);
    assert.equal(r.run.counts.missing, 0, 'nobody reported missing either');
    assert.equal(r.run.counts.quarantined, 5);
    assert.ok(r.run.quarantine, 'the run carries the quarantine summary');
    assert.equal(r.run.quarantine.reason, 'empty-read');
    assert.equal(r.run.quarantine.affected, 5);
    assert.match(r.run.notice ?? '', /cleanup quarantined: the source's answer is not trusted: it returned 0 users/);
    const stored = await t.store.runs.get(r.run.id);
    assert.deepEqual(stored?.quarantine, r.run.quarantine, 'stored on the run');
    const users = await t.store.quarantines.users(r.run.quarantine.id);
    assert.equal(users.total, 5);
    assert.deepEqual(new Set(users.items.map((u) => u.planned)), new Set(['disable']));
    assert.ok(users.items.every((u) => u.state === 'held' && u.reason === 'deleted' && u.targetId === 'jira' && u.targetKey && u.label), `every affected user is held with its reason, target and key: ${JSON.stringify(users.items)}`);
    assert.equal(notices.length, 1, 'the hook heard of it');
    assert.equal(notices[0]!.id, r.run.quarantine.id);
    assert.equal(notices[0]!.connectorId, 'co');

    const again = await engine.run({ connector: c, kind: 'full', trigger: 'cli' });
    assert.equal(again.run.quarantine ?? null, null, 'the same users are not quarantined twice');
    assert.equal((await t.store.quarantines.list({ connectorId: 'co' })).total, 1);
    assert.equal(activeUsers(), 5);
    assert.match(again.run.notice ?? '', /already held in an open quarantine/);
    assert.equal(notices.length, 1);
  });

  test('a filter change that puts 100% of users out of scope quarantines with nothing disabled', async () => {
    await seed(connector(jira.url));
    const narrowed = connector(jira.url, undefined, { requiredGroups: ['nobody-is-in-this-group'] });
    const r = await engine.run({ connector: narrowed, kind: 'full', trigger: 'cli' });
    assert.equal(activeUsers(), 5, 'nobody disabled');
    assert.equal(r.run.quarantine?.affected, 5);
    const users = await t.store.quarantines.users(r.run.quarantine!.id);
    assert.ok(users.items.every((u) => u.reason === 'outOfScope'), 'the reason is out of scope');
  });

  test('a cleanup over the threshold quarantines; approving a selection and then all acts, re-checking each user', async () => {
    const c = connector(jira.url, undefined, { safety: { maxUsers: 1, maxPercent: 10 } });
    const ds = await seed(c);
    const all = org();
    // The change feed's tombstones: Carl, Dana and Eve deleted in the provider.
    assert.equal((await engine.run({ connector: c, kind: 'incremental', trigger: 'cli' })).run.status, 'succeeded', 'the feed is seeded');
    for (const id of ['u-3', 'u-4', 'u-5']) ds.remove(id, 'deleted');
    const r = await engine.run({ connector: c, kind: 'incremental', trigger: 'cli' });
    assert.equal(r.run.quarantine?.reason, 'threshold');
    assert.equal(r.run.quarantine?.affected, 3);
    assert.match(r.run.quarantine!.message, /the cleanup would change 3 of the 5 users linked in target 'jira'/);
    assert.equal(activeUsers(), 5);
    const qid = r.run.quarantine!.id;

    // A later full run leaves the held users alone: no second quarantine, nothing written.
    jira.resetStats();
    const later = await engine.run({ connector: c, kind: 'full', trigger: 'cli' });
    assert.equal(later.run.quarantine ?? null, null);
    assert.match(later.run.notice ?? '', /already held in an open quarantine/);
    assert.equal(jira.stats.writes, 0);
    assert.equal((await t.store.quarantines.list({ connectorId: 'co' })).total, 1);

    // Dana comes back before the approval: approving her is skipped, and said.
    ds.upsert(all[3]!);
    const sel = await engine.approveQuarantine({ connector: c, quarantineId: qid, sourceIds: ['u-3', 'u-4'], by: 'admin', trigger: 'cli' });
    assert.equal(sel.run.kind, 'cleanup');
    assert.equal(sel.run.status, 'succeeded', sel.run.error ?? '');
    assert.equal(sel.run.counts.disabled, 1);
    assert.deepEqual(sel.skipped.map((s) => s.sourceId), ['u-4']);
    assert.match(sel.skipped[0]!.note, /back in the identity provider/);
    assert.equal(jira.inspect('carl.coder')!.active, false, 'Carl disabled');
    assert.equal(jira.inspect('dana.ops')!.active, true, 'Dana untouched');
    assert.equal(jira.inspect('eve.admin')!.active, true, 'Eve not selected');
    assert.equal(sel.quarantine.status, 'open', 'Eve is still held');
    assert.equal(sel.quarantine.held, 1);
    const item = (await t.store.runs.items(sel.run.id, { operation: 'disabled' })).items[0]!;
    assert.deepEqual(item.changes, [{ field: 'user.active', before: true, after: false }]);

    const rest = await engine.approveQuarantine({ connector: c, quarantineId: qid, by: 'admin', trigger: 'cli' });
    assert.equal(rest.run.counts.disabled, 1);
    assert.equal(jira.inspect('eve.admin')!.active, false);
    assert.equal(rest.quarantine.status, 'approved');
    await assert.rejects(engine.approveQuarantine({ connector: c, quarantineId: qid, trigger: 'cli' }), /already approved/);
  });

  test('rejecting a quarantine closes it and changes nothing', async () => {
    const c = connector(jira.url);
    const ds = await seed(c);
    ds.users = [];
    const r = await engine.run({ connector: c, kind: 'full', trigger: 'cli' });
    const q = await t.store.quarantines.reject(r.run.quarantine!.id, 'admin');
    assert.equal(q.status, 'rejected');
    assert.equal(q.held, 0);
    assert.equal(activeUsers(), 5);
    await assert.rejects(engine.approveQuarantine({ connector: c, quarantineId: q.id, trigger: 'cli' }), /already rejected/);
  });

  test('removeGroups takes away the memberships idsync added, except keepGroups; a manual membership survives', async () => {
    const c = connector(jira.url, { removeGroups: true, keepGroups: ['st*'] });
    const ds = await seed(c);
    const add = await fetch(`${jira.url}/rest/api/2/group/user?groupname=manual`, { method: 'POST', headers: { authorization: 'Bearer admin-pat', 'content-type': 'application/json' }, body: JSON.stringify({ name: 'ada.dev' }) });
    assert.equal(add.status, 201, 'a membership added by hand in Jira');
    ds.users = org().filter((u) => u.id !== 'u-1');
    const r = await engine.run({ connector: c, kind: 'full', trigger: 'cli' });
    assert.equal(r.run.counts.disabled, 1, r.run.error ?? '');
    const ada = jira.inspect('ada.dev')!;
    assert.equal(ada.active, false);
    assert.ok(ada.groups.includes('manual'), 'the manual membership survives');
    assert.ok(ada.groups.includes('staff'), 'a kept group stays');
    assert.ok(!ada.groups.includes('eng'), "idsync's own membership went");
    const item = (await t.store.runs.items(r.run.id, { operation: 'disabled' })).items[0]!;
    assert.deepEqual(item.changes.find((ch) => ch.field === 'groups')?.remove, ['eng']);
    // Back: re-enabled, and the mapping gives eng back.
    ds.users = org();
    await engine.run({ connector: c, kind: 'full', trigger: 'cli' });
    assert.equal(jira.inspect('ada.dev')!.active, true);
    assert.ok(jira.inspect('ada.dev')!.groups.includes('eng'), 'the kept group eng stays');
  });

  test('anonymise replaces username, name and e-mail by a pseudonym; a return restores the account under the same key', async () => {
    const c = connector(jira.url, { action: 'anonymise' });
    const ds = await seed(c);
    const key = jira.inspect('carl.coder')!.key;
    ds.users = org().filter((u) => u.id !== 'u-3');
    const r = await engine.run({ connector: c, kind: 'full', trigger: 'cli' });
    assert.equal(r.run.counts.anonymised, 1, r.run.error ?? '');
    assert.equal(jira.inspect('carl.coder'), undefined, 'the old username is gone');
    const anon = jira.inspect(key)!;
    assert.match(anon.name, /^former-[0-9a-f]{12}$/);
    assert.match(anon.displayName, /^Former user /);
    assert.match(anon.emailAddress, /@anonymised\.invalid$/);
    assert.equal(anon.active, false);
    assert.ok(!JSON.stringify(anon).includes('carl'), 'nothing of the person is left in the account');
    const item = (await t.store.runs.items(r.run.id, { operation: 'anonymised' })).items[0]!;
    assert.deepEqual(item.changes.find((ch) => ch.field === 'user.username'), { field: 'user.username', before: 'carl.coder', after: anon.name });

    ds.users = org();
    const back = await engine.run({ connector: c, kind: 'full', trigger: 'cli' });
    assert.equal(back.run.status, 'succeeded', back.run.error ?? '');
    const restored = jira.inspect(key)!;
    assert.equal(restored.name, 'carl.coder');
    assert.equal(restored.displayName, 'Carl Coder');
    assert.equal(restored.emailAddress, 'carl.coder@contoso.com');
    assert.equal(restored.active, true);
    assert.equal((await t.store.links.get('co', 'jira', 'u-3'))?.cleanup ?? null, null);
  });

  test('disable now, delete after 30 days: the deletion happens on the first run on or after the due day', async () => {
    const c = connector(jira.url, { action: 'disable', deleteAfterDays: 30 });
    const ds = await seed(c);
    const key = jira.inspect('dana.ops')!.key;
    ds.users = org().filter((u) => u.id !== 'u-4');
    const day0 = await engine.run({ connector: c, kind: 'full', trigger: 'cli' });
    assert.equal(day0.run.counts.disabled, 1);
    const link = await t.store.links.get('co', 'jira', 'u-4');
    assert.equal(link?.cleanup?.deleteDueAt, '2026-03-31T09:00:00.000Z');

    clock = new Date('2026-03-31T08:59:00Z');
    const before = await engine.run({ connector: c, kind: 'incremental', trigger: 'cli' });
    assert.equal(before.run.counts.deleted ?? 0, 0, 'a minute early: not yet');
    assert.ok(jira.inspect(key), 'still there');

    clock = new Date('2026-03-31T09:05:00Z');
    const due = await engine.run({ connector: c, kind: 'incremental', trigger: 'cli' });
    assert.equal(due.run.counts.deleted, 1, due.run.error ?? '');
    assert.equal(jira.inspect(key), undefined, 'deleted in Jira');
    assert.equal(await t.store.links.get('co', 'jira', 'u-4'), undefined, 'the link goes with the account');
    const after = await engine.run({ connector: c, kind: 'full', trigger: 'cli' });
    assert.equal(after.run.counts.deleted ?? 0, 0, 'deleted once');
  });

  test('protected users (by pattern and by a manual group) are never touched', async () => {
    const c = connector(jira.url, { protected: { users: ['bea.*'], groups: ['jira-admin*'] } });
    const ds = await seed(c);
    const add = await fetch(`${jira.url}/rest/api/2/group/user?groupname=jira-administrators`, { method: 'POST', headers: { authorization: 'Bearer admin-pat', 'content-type': 'application/json' }, body: JSON.stringify({ name: 'eve.admin' }) });
    assert.equal(add.status, 201);
    ds.users = org().filter((u) => u.id !== 'u-2' && u.id !== 'u-5' && u.id !== 'u-1');
    const r = await engine.run({ connector: c, kind: 'full', trigger: 'cli' });
    assert.equal(jira.inspect('bea.boss')!.active, true);
    assert.equal(jira.inspect('eve.admin')!.active, true);
    assert.equal(jira.inspect('ada.dev')!.active, false, 'an unprotected leaver is disabled');
    const skipped = (await t.store.runs.items(r.run.id, { operation: 'skipped' })).items;
    assert.deepEqual(skipped.map((i) => i.sourceId).sort(), ['u-2', 'u-5']);
    assert.match(skipped.find((i) => i.sourceId === 'u-5')!.error ?? '', /protected \(member of jira-administrators\)/);
  });

  test('a disable the target did not confirm leaves the intent and no cleanup state; the next run re-reads and disables', async () => {
    const c = connector(jira.url);
    const ds = await seed(c);
    ds.users = org().filter((u) => u.id !== 'u-1');
    // The connection drops on every PUT of the account: the write's outcome is unknown.
    jira.setFaults({ script: [{ method: 'PUT', pattern: '/rest/api/2/user\\?', drop: true, times: 100 }] });
    let r;
    try {
      r = await engine.run({ connector: c, kind: 'full', trigger: 'cli' });
    } finally {
      jira.setFaults({ script: [] });
    }
    assert.equal(r.run.counts.failed, 1, r.run.error ?? '');
    const failed = (await t.store.runs.items(r.run.id, { operation: 'failed' })).items[0]!;
    assert.match(failed.error ?? '', /cleanup \(disable\) failed/);
    assert.equal((await t.store.links.get('co', 'jira', 'u-1'))?.cleanup ?? null, null, 'the link claims nothing the target did not confirm');
    assert.equal((await t.store.intents.outstanding('co')).length, 1, 'the intent stays: the account is unknown until re-read');
    const next = await engine.run({ connector: c, kind: 'full', trigger: 'cli' });
    assert.equal(next.run.counts.disabled, 1, next.run.error ?? '');
    assert.equal(jira.inspect('ada.dev')!.active, false);
    assert.equal((await t.store.intents.outstanding('co')).length, 0);
    assert.ok((await t.store.links.get('co', 'jira', 'u-1'))?.cleanup?.disabledAt, 'the next run recorded the disable');
  });

  test('a dry run shows the cleanup it would do and writes nothing', async () => {
    const c = connector(jira.url);
    const ds = await seed(c);
    ds.users = org().filter((u) => u.id !== 'u-1');
    jira.resetStats();
    const dry = await engine.run({ connector: c, kind: 'full', trigger: 'cli', dryRun: true });
    assert.equal(dry.run.counts.disabled, 1);
    const item = (await t.store.runs.items(dry.run.id, { operation: 'disabled' })).items[0]!;
    assert.equal(item.details?.simulated, true);
    assert.deepEqual(item.changes, [{ field: 'user.active', before: true, after: false }]);
    assert.equal(jira.stats.writes, 0);
    assert.equal(jira.inspect('ada.dev')!.active, true);
    assert.equal((await t.store.links.get('co', 'jira', 'u-1'))?.cleanup ?? null, null);
    // A simulated empty read shows the quarantine, and stores none.
    ds.users = [];
    const dryEmpty = await engine.run({ connector: c, kind: 'full', trigger: 'cli', dryRun: true });
    assert.equal(dryEmpty.run.counts.quarantined, 5);
    assert.match(dryEmpty.run.notice ?? '', /simulated: no quarantine stored/);
    assert.equal((await t.store.quarantines.list()).total, 0);
  });
});
