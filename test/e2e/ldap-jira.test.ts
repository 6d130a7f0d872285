// End to end through the real LDAP source, against a real OpenLDAP (slapd) seeded with the
// e2e company and the Jira DC emulator, synced by SyncEngine on SQLite: a full read with
// managers (resolved through their DN) and nested groups, a rename, a disabled account, a
// server that drops the connection mid-read, and the messages for wrong credentials and an
// untrusted certificate. What Jira holds is checked against the organisation itself.
import { describe, test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { Attribute, Change } from 'ldapts';
import { openSqliteStore, type TestStore } from '../helpers/stores.ts';
import { SyncEngine } from '../../src/engine/engine.ts';
import type { SyncRequest, SyncResult } from '../../src/engine/api.ts';
import type { ConnectorConfig } from '../../src/config/schema.ts';
import type { MappingRule } from '../../src/core/types.ts';
import type { Org, OrgUser } from '../../emulators/org/types.ts';
import { startSlapd, type Slapd } from '../../emulators/ldap/slapd.ts';
import { PERMANENT_LOCK } from '../../emulators/ldap/org-ldif.ts';
import { startJiraDcEmulator, type JiraDcEmulator } from '../../emulators/jira-dc/index.ts';
import { e2eOrg, JIRA_DEFAULT_GROUP, SECRETS, jiraTarget, resetJira, rule } from './harness.ts';

const USERS = 200;
const LDAP_ENV = 'IDSYNC_E2E_LDAP_PASSWORD';
const WRONG_ENV = 'IDSYNC_E2E_LDAP_WRONG_PASSWORD';

/** The Jira mapping of an LDAP directory: uid as username, the manager three ways, nested groups kept by name. */
function rules(): MappingRule[] {
  return [
    rule('user.username', '$lower(uid)', { whenEmpty: 'keep' }),
    rule('user.displayName', 'displayName', { whenEmpty: 'keep' }),
    rule('user.email', '$firstNonEmpty(mail, uid & "@users.contoso.com")', { whenEmpty: 'keep' }),
    rule('user.active', 'accountEnabled', { whenEmpty: 'keep' }),
    rule('groups', 'groups[$contains($, /^dept-/) or $ = "jira-users" or $ = "confluence-users"]'),
    rule('property.department', 'departmentNumber'),
    rule('property.managerEmail', 'manager.mail'),
    rule('property.managerName', 'manager.displayName'),
    rule('property.managerUsername', 'manager.targetUsername'),
  ];
}

describe('LDAP (OpenLDAP) → Jira DC end to end', () => {
  let org: Org;
  let slapd: Slapd;
  let jira: JiraDcEmulator;
  let t: TestStore | undefined;
  let engine: SyncEngine;

  const connector = (over: Record<string, unknown> = {}): ConnectorConfig => ({
    id: 'ldap-e2e',
    name: 'OpenLDAP end to end',
    source: {
      type: 'ldap',
      preset: 'openldap',
      url: slapd.proxyUrl!,
      bindDn: slapd.reader.dn,
      bindPassword: { env: LDAP_ENV },
      users: { baseDn: slapd.layout.peopleDn },
      groups: { baseDn: slapd.layout.groupsDn },
      nestedGroups: true,
      pageSize: 50,
      timeoutMs: 5_000,
      connectTimeoutMs: 2_000,
      requiredGroups: [],
      ...over,
    },
    targets: [jiraTarget(jira, rules())],
  });
  const sync = (over: Record<string, unknown> = {}, extra: Partial<SyncRequest> = {}): Promise<SyncResult> => engine.run({ connector: connector(over), kind: 'full', trigger: 'cli', ...extra });

  before(async () => {
    org = e2eOrg(USERS);
    slapd = await startSlapd(org, { faultProxy: true });
    process.env[LDAP_ENV] = slapd.reader.password;
    process.env[WRONG_ENV] = 'definitely-not-the-password';
    const groups = org.groups.map((g) => g.displayName).filter((n) => n.startsWith('dept-') || n === 'jira-users' || n === 'confluence-users');
    jira = await startJiraDcEmulator({ patTokens: { [SECRETS.jiraPat]: 'admin' }, groups });
  });
  after(async () => {
    await t?.dispose();
    await jira?.close();
    await slapd?.stop();
  });
  beforeEach(async () => {
    slapd.proxy!.faults.length = 0;
    await slapd.seed(org);
    await resetJira(jira);
    await t?.dispose();
    t = await openSqliteStore();
    engine = new SyncEngine(t.store, { fastRetries: true });
  });

  const uid = (u: OrgUser) => slapd.names.uid.get(u.id)!;
  const username = (u: OrgUser) => uid(u).toLowerCase();
  /**
   * Direct groups, and those reached through nesting, computed from the org (jira-users holds
   * jira-administrators; confluence-users three department groups).
   */
  const expectedGroups = (u: OrgUser): string[] => {
    const all = new Set<string>();
    const visit = (memberId: string) => {
      for (const g of org.groups.filter((x) => x.members.includes(memberId))) {
        if (all.has(g.displayName)) continue;
        all.add(g.displayName);
        visit(g.id);
      }
    };
    visit(u.id);
    return [...all].filter((n) => n.startsWith('dept-') || n === 'jira-users' || n === 'confluence-users').sort();
  };
  const modify = async (dn: string, change: Change) => {
    const admin = await slapd.adminClient();
    try {
      await admin.modify(dn, change);
    } finally {
      await admin.unbind();
    }
  };

  test('a full sync creates everyone with manager (by DN) and nested groups; a second one writes nothing', async () => {
    const first = await sync();
    assert.equal(first.run.status, 'succeeded', first.run.error ?? '');
    assert.equal(first.run.counts.read, USERS);
    assert.equal(first.run.counts.created, USERS);
    for (const u of org.users) {
      const got = jira.inspect(username(u));
      assert.ok(got, `${uid(u)} is in Jira`);
      assert.equal(got.displayName, u.displayName);
      assert.equal(got.emailAddress, u.mail ?? `${uid(u)}@users.contoso.com`);
      assert.equal(got.active, u.accountEnabled, `${uid(u)}: active`);
      assert.deepEqual(got.groups.filter((g) => g !== JIRA_DEFAULT_GROUP).sort(), expectedGroups(u), `${uid(u)}: groups (nested)`);
      const manager = u.managerId ? org.users.find((m) => m.id === u.managerId)! : undefined;
      const want = Object.fromEntries(
        Object.entries({ department: u.department, managerEmail: manager?.mail, managerName: manager?.displayName, managerUsername: manager ? username(manager) : undefined }).filter(([, v]) => v !== null && v !== undefined),
      );
      assert.deepEqual(got.properties, want, `${uid(u)}: properties (manager resolved from its DN)`);
    }
    const confluence = org.groups.find((g) => g.displayName === 'confluence-users')!;
    assert.ok(org.users.some((u) => expectedGroups(u).includes('confluence-users') && !confluence.members.includes(u.id)), 'some users are in confluence-users only through nesting');

    jira.resetStats();
    const second = await sync();
    assert.equal(second.run.status, 'succeeded', second.run.error ?? '');
    assert.equal(second.run.counts.unchanged, USERS);
    assert.equal(jira.stats.writes, 0, 'no write reached Jira');
  });

  test('a rename (modrdn to a new uid) keeps the same Jira user', async () => {
    assert.equal((await sync()).run.status, 'succeeded');
    const u = org.users.find((x) => x.accountEnabled && x.mail && !org.users.some((y) => y.managerId === x.id))!;
    const before = jira.inspect(username(u))!;
    const linkBefore = await t!.store.links.get('ldap-e2e', 'jira', u.id);
    assert.equal(linkBefore?.targetKey, before.key);
    const admin = await slapd.adminClient();
    try {
      await admin.modifyDN(slapd.names.userDn.get(u.id)!, `uid=${uid(u)}.renamed`);
      await admin.modify(`uid=${uid(u)}.renamed,${slapd.layout.peopleDn}`, new Change({ operation: 'replace', modification: new Attribute({ type: 'displayName', values: [`${u.displayName} (renamed)`] }) }));
    } finally {
      await admin.unbind();
    }
    const r = await sync();
    assert.ok(r.run.status === 'succeeded' || r.run.status === 'partial', r.run.error ?? '');
    assert.equal(r.run.counts.created, 0, 'nobody new is created for the renamed entry');
    assert.equal(r.run.counts.missing, 0, 'the renamed user is not missing');
    const link = await t!.store.links.get('ldap-e2e', 'jira', u.id);
    assert.equal(link?.targetKey, before.key, 'the link still points at the same Jira user (the entryUUID did not change)');
    const now = [...jira.store.allUsers()].find((x) => x.key === before.key)!;
    assert.equal(now.displayName, `${u.displayName} (renamed)`, 'the same Jira user got the change');
    assert.equal([...jira.store.allUsers()].length, USERS + 2, 'no second account (plus the built-in admin and viewer)');
  });

  test('a disabled account (ppolicy lock) becomes inactive in Jira', async () => {
    assert.equal((await sync()).run.status, 'succeeded');
    const u = org.users.find((x) => x.accountEnabled && !org.users.some((y) => y.managerId === x.id))!;
    assert.equal(jira.inspect(username(u))!.active, true);
    await modify(slapd.names.userDn.get(u.id)!, new Change({ operation: 'replace', modification: new Attribute({ type: 'pwdAccountLockedTime', values: [PERMANENT_LOCK] }) }));
    const r = await sync();
    assert.equal(r.run.status, 'succeeded', r.run.error ?? '');
    assert.equal(jira.inspect(username(u))!.active, false, 'inactive');
    assert.equal(r.run.counts.updated, 1, 'only that user changed');
  });

  test('incremental runs: the first seeds, after 10 changes the next reads only those 10 and writes them', async () => {
    const seed = await engine.run({ connector: connector(), kind: 'incremental', trigger: 'cli' });
    assert.equal(seed.run.status, 'succeeded', seed.run.error ?? '');
    assert.equal(seed.run.counts.read, USERS, 'the seeding round reads everyone');
    const none = await engine.run({ connector: connector(), kind: 'incremental', trigger: 'cli' });
    assert.equal(none.run.counts.read, 0, 'no change: nothing read');
    const changed = org.users.filter((u) => u.accountEnabled).slice(20, 30);
    for (const [i, u] of changed.entries()) {
      await modify(slapd.names.userDn.get(u.id)!, new Change({ operation: 'replace', modification: new Attribute({ type: 'departmentNumber', values: [`Changed ${i}`] }) }));
    }
    jira.resetStats();
    const r = await engine.run({ connector: connector(), kind: 'incremental', trigger: 'cli' });
    assert.equal(r.run.status, 'succeeded', r.run.error ?? '');
    assert.equal(r.run.counts.read, 10, 'only the changed users are read');
    assert.equal(r.run.counts.updated, 10);
    for (const [i, u] of changed.entries()) assert.equal(jira.inspect(username(u))!.properties.department, `Changed ${i}`);
  });

  /**
   * A department group (kept in Jira by the mapping) with a few user members: at most 20, the
   * safety threshold's default, since the removals a rename makes of a bigger group are held for
   * approval (test/e2e/group-removal-hold.test.ts), not written.
   */
  const deptGroup = () => {
    const g = org.groups.find((x) => x.displayName.startsWith('dept-') && org.users.filter((u) => x.members.includes(u.id)).length >= 2 && x.members.length <= 20);
    assert.ok(g, 'the org has a department group with members');
    return { group: g, members: org.users.filter((u) => g.members.includes(u.id)) };
  };
  const shadowGroups = () => t!.store.shadow.groups.all('ldap-e2e');

  test('a group renamed in the directory (modrdn, no member change): the next incremental run moves its members in Jira, the one after writes nothing', async () => {
    const seed = await engine.run({ connector: connector(), kind: 'incremental', trigger: 'cli' });
    assert.equal(seed.run.status, 'succeeded', seed.run.error ?? '');
    const { group, members } = deptGroup();
    const oldName = group.displayName;
    const newName = `${oldName}-renamed`;
    assert.equal((await shadowGroups()).get(group.id)?.name, oldName, 'the seeding round recorded the group under its entryUUID');
    assert.equal([...(await shadowGroups()).values()].filter((g) => !g.tombstone).length, org.groups.length, 'every group under groups.baseDn');
    for (const u of members) assert.ok(jira.inspect(username(u))!.groups.includes(oldName), `${username(u)} starts in ${oldName}`);

    const admin = await slapd.adminClient();
    try {
      await admin.modifyDN(slapd.names.groupDn.get(group.id)!, `cn=${newName}`);
    } finally {
      await admin.unbind();
    }
    jira.resetStats();
    const r = await engine.run({ connector: connector(), kind: 'incremental', trigger: 'cli' });
    assert.equal(r.run.status, 'succeeded', r.run.error ?? '');
    for (const u of members) {
      const inJira = jira.inspect(username(u))!.groups;
      assert.ok(inJira.includes(newName) && !inJira.includes(oldName), `${username(u)}: ${inJira.join(', ')}`);
    }
    assert.equal(r.run.counts.updated, members.length, `only the members were written (${r.run.notice ?? ''})`);
    assert.equal((await shadowGroups()).get(group.id)?.name, newName, 'the shadow holds the new name, same id');
    assert.match(r.run.notice ?? '', new RegExp(`group '${oldName}' was renamed '${newName}' in the identity provider: no member still carried the old name`), 'the notice does not say "0 members" of a rename whose members were read again');

    jira.resetStats();
    const again = await engine.run({ connector: connector(), kind: 'incremental', trigger: 'cli' });
    assert.equal(again.run.status, 'succeeded', again.run.error ?? '');
    assert.equal(again.run.counts.usersWritten, 0, 'converged: nothing written');
    assert.equal(jira.stats.writes, 0);
  });

  test('a group deleted in the directory: a census that fails or comes back short removes nothing and says why; the next incremental run takes it from its members in Jira; a no-change run writes nothing', async () => {
    const incremental = () => engine.run({ connector: connector(), kind: 'incremental', trigger: 'cli' });
    const seed = await incremental();
    assert.equal(seed.run.status, 'succeeded', seed.run.error ?? '');
    // A department group nested in no other (its members lose its name alone), under the removal guard's threshold.
    const group = org.groups.find((x) => x.displayName.startsWith('dept-') && !org.groups.some((o) => o.members.includes(x.id)) && org.users.filter((u) => x.members.includes(u.id)).length >= 2 && x.members.length <= 20);
    assert.ok(group, 'the org has a department group nested in no other');
    const members = org.users.filter((u) => group.members.includes(u.id));
    const inJira = (u: OrgUser) => jira.inspect(username(u))!.groups.includes(group.displayName);
    assert.ok(members.every(inJira), 'its members start in it in Jira');

    // No change: nothing written, and the census costs no search of its own (the round's group index is it).
    jira.resetStats();
    const searches = slapd.proxy!.searches.length;
    const calm = await incremental();
    assert.equal(calm.run.status, 'succeeded', calm.run.error ?? '');
    assert.equal(calm.run.counts.usersWritten, 0);
    assert.equal(jira.stats.writes, 0, 'a no-change run writes nothing to Jira');
    const calmSearches = slapd.proxy!.searches.length - searches;
    console.log(`[census] LDAP no-change incremental run: ${calmSearches} searches`);

    const admin = await slapd.adminClient();
    try {
      await admin.del(slapd.names.groupDn.get(group.id)!);
    } finally {
      await admin.unbind();
    }
    const live = () => shadowGroups().then((m) => m.get(group.id)?.tombstone === null);

    // The group search failing (every try): the run fails and says so; nobody loses the group.
    slapd.proxy!.faults.push({ kind: 'unavailable', where: 'all', baseEndsWith: slapd.layout.groupsDn, times: Infinity });
    const failed = await incremental();
    slapd.proxy!.faults.length = 0;
    assert.equal(failed.run.status, 'failed');
    assert.match(failed.run.error ?? '', /unavailable/);
    assert.ok(members.every(inJira), 'a failed census removed nobody from the group');
    assert.ok(await live(), 'the group is not tombstoned');

    // The group search cut short as if it had ended (every page after the first answers "end of
    // paging", the re-read too): a census of 50 of the 139 groups is refused, said in the notice.
    slapd.proxy!.faults.push({ kind: 'end-of-paging', where: 'later-pages', baseEndsWith: slapd.layout.groupsDn, times: Infinity });
    const short = await incremental();
    slapd.proxy!.faults.length = 0;
    assert.equal(short.run.status, 'partial', 'removals held back: the run says so');
    assert.match(short.run.notice ?? '', /census of groups left out \d+ of the 139 groups .* no group is taken for gone/);
    assert.equal(short.run.counts.usersWritten, 0, 'nothing written');
    assert.ok(members.every(inJira), 'a short census removed nobody from the group');
    assert.ok(await live(), 'the group is not tombstoned');

    // Complete again: the group is gone from the census, its members leave it in Jira in this run.
    jira.resetStats();
    const r = await incremental();
    assert.equal(r.run.status, 'succeeded', r.run.error ?? '');
    assert.equal(r.run.counts.read, 0, 'nobody re-read: the deletion moved no user entry');
    assert.equal(r.run.counts.updated, members.length, r.run.notice ?? '');
    for (const u of members) {
      const groups = jira.inspect(username(u))!.groups;
      assert.deepEqual(groups.filter((g) => g !== JIRA_DEFAULT_GROUP).sort(), expectedGroups(u).filter((g) => g !== group.displayName), `${username(u)}: only the deleted group left`);
    }
    assert.match(r.run.notice ?? '', new RegExp(`group '${group.displayName}' is no longer among the identity provider's groups .*: ${members.length} members lost it`));
    const row = (await shadowGroups()).get(group.id);
    assert.deepEqual([row?.tombstone, row?.name], ['not-returned', group.displayName], 'tombstoned as a full read\'s sweep does');

    // Converged: nothing written, and no more searches than before the deletion.
    jira.resetStats();
    const before = slapd.proxy!.searches.length;
    const again = await incremental();
    assert.equal(again.run.status, 'succeeded', again.run.error ?? '');
    assert.equal(again.run.counts.usersWritten, 0);
    assert.equal(jira.stats.writes, 0);
    assert.equal(slapd.proxy!.searches.length - before, calmSearches, 'a no-change run makes the same searches as before');
  });

  test('full syncs: a failed read tombstones no group; the next complete one tombstones the group it no longer lists', async () => {
    assert.equal((await sync()).run.status, 'succeeded');
    // A group the mapping leaves out of Jira, with no groups among its members.
    const g = org.groups.find((x) => !x.displayName.startsWith('dept-') && !['jira-users', 'confluence-users'].includes(x.displayName) && !x.members.some((m) => org.groups.some((o) => o.id === m)));
    assert.ok(g, 'the org has a group the Jira mapping leaves out');
    const admin = await slapd.adminClient();
    try {
      await admin.del(slapd.names.groupDn.get(g.id)!);
    } finally {
      await admin.unbind();
    }
    slapd.proxy!.faults.push({ kind: 'unavailable', where: 'later-pages', baseEndsWith: slapd.layout.peopleDn, times: Infinity });
    const failed = await sync();
    slapd.proxy!.faults.length = 0;
    assert.equal(failed.run.status, 'failed');
    assert.equal((await shadowGroups()).get(g.id)?.tombstone, null, 'no tombstone after a failed read');
    const complete = await sync();
    assert.equal(complete.run.status, 'succeeded', complete.run.error ?? '');
    assert.equal((await shadowGroups()).get(g.id)?.tombstone, 'not-returned', 'the complete read tombstoned the group it no longer listed');
    assert.equal([...(await shadowGroups()).values()].filter((x) => !x.tombstone).length, org.groups.length - 1);
  });

  test('a server that drops the connection mid-read fails the run and marks nobody missing', async () => {
    assert.equal((await sync()).run.status, 'succeeded');
    jira.resetStats();
    slapd.proxy!.faults.push({ kind: 'drop', where: 'later-pages', baseEndsWith: slapd.layout.peopleDn, times: Infinity });
    const r = await sync();
    assert.equal(r.run.status, 'failed');
    assert.match(r.run.error ?? '', /connection to the directory .* was lost/);
    assert.equal(r.run.counts.missing, 0, 'nobody is reported missing');
    assert.ok(slapd.proxy!.injected > 0, 'the fault bit');
    slapd.proxy!.faults.length = 0;
    const links = await t!.store.links.getMany('ldap-e2e', 'jira', org.users.map((u) => u.id));
    assert.ok([...links.values()].every((l) => l.missingSince === null), 'no link is marked missing');
    assert.ok(org.users.every((u) => jira.inspect(username(u))!.active === u.accountEnabled), 'nobody was deactivated');
  });

  test('wrong credentials and an untrusted certificate fail the run with what to do', async () => {
    const wrong = await sync({ bindPassword: { env: WRONG_ENV } });
    assert.equal(wrong.run.status, 'failed');
    assert.match(wrong.run.error ?? '', /invalid credentials/);
    assert.match(wrong.run.error ?? '', /check bindDn .* bind password/);
    assert.ok(!JSON.stringify(wrong).includes('definitely-not-the-password'), 'the password is in no result');

    const untrusted = await sync({ url: slapd.ldapsUrl });
    assert.equal(untrusted.run.status, 'failed');
    assert.match(untrusted.run.error ?? '', /certificate .* is not trusted/);
    assert.match(untrusted.run.error ?? '', /give the CA/);

    const trusted = await sync({ url: slapd.ldapsUrl, ca: slapd.ca });
    assert.equal(trusted.run.status, 'succeeded', trusted.run.error ?? '');
    assert.equal([...jira.store.allUsers()].length, USERS + 2, 'nothing was created by the failed runs twice');
  });
});
