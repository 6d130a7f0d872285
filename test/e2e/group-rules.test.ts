// Group rules end to end: the real Entra ID source (transitive memberships) against the Graph
// emulator, into the Jira DC emulator with no groups created beforehand. What Jira holds is
// checked against the directory through an oracle written here, not through idsync's rules.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestStore } from '../helpers/stores.ts';
import type { SyncEngine } from '../../src/engine/engine.ts';
import type { SyncRequest, SyncResult } from '../../src/engine/api.ts';
import type { ConnectorConfig } from '../../src/config/schema.ts';
import type { Org, OrgUser } from '../../emulators/org/types.ts';
import { JIRA_DEFAULT_GROUP, e2eConnector, expectedUsername, jiraRules, entraSyncHooks, type Emulators } from './harness.ts';

const USERS = 120;
const DEFAULT_GROUP = 'all-staff';

/** The rules under test: legal's group stays out, departments are renamed, jira-users kept, the rest dropped. */
const GROUP_RULES = {
  rules: [{ exclude: 'dept-legal' }, { include: 'dept-*', rename: 'jira-$1' }, { include: { regex: '^jira-users$' } }],
  defaultGroups: [DEFAULT_GROUP],
};

/** Every group a user is in, directly or through groups nested in it, from the seeded data. */
function transitiveGroups(org: Org, id: string): string[] {
  const names = new Set<string>();
  const visit = (member: string) => {
    for (const g of org.groups) {
      if (g.members.includes(member) && !names.has(g.displayName)) {
        names.add(g.displayName);
        visit(g.id);
      }
    }
  };
  visit(id);
  return [...names];
}

/** What the rules above must give, written without idsync's matcher. */
function expectedJiraGroups(org: Org, u: OrgUser): string[] {
  const out = new Set<string>([DEFAULT_GROUP]);
  for (const name of transitiveGroups(org, u.id)) {
    if (name === 'dept-legal') continue;
    if (name.startsWith('dept-')) out.add(`jira-${name.slice('dept-'.length)}`);
    else if (name === 'jira-users') out.add(name);
  }
  return [...out].sort();
}

describe('group rules: Entra ID (transitive) → Jira DC', () => {
  let em: Emulators;
  let t: TestStore | undefined;
  let engine: SyncEngine;

  entraSyncHooks({ emulators: { users: USERS, precreateJiraGroups: false }, ready: (w) => ({ env: em, t, engine } = w) });

  const org = () => em.graph.directory.org;
  const connector = (target: Partial<ConnectorConfig['targets'][number]> = {}): ConnectorConfig => {
    const c = e2eConnector(em);
    c.source = { ...c.source, transitiveGroups: true };
    // No `groups` mapping rule: the source's groups go through the group rules alone.
    c.targets[0] = { ...c.targets[0]!, mapping: jiraRules().filter((r) => r.target !== 'groups'), groupRules: GROUP_RULES, createMissingGroups: true, ...target };
    return c;
  };
  const sync = async (extra: Partial<SyncRequest> = {}, target: Partial<ConnectorConfig['targets'][number]> = {}): Promise<SyncResult> => {
    const r = await engine.run({ connector: connector(target), kind: 'full', trigger: 'cli', ...extra });
    assert.equal(r.run.status, 'succeeded', r.run.error ?? '');
    assert.equal(r.run.counts.failed, 0, 'no user failed');
    return r;
  };
  const jiraGroupsOf = (u: OrgUser) => {
    const got = em.jira.inspect(expectedUsername(u));
    assert.ok(got, `${u.userPrincipalName} is in Jira`);
    return got.groups.filter((g) => g !== JIRA_DEFAULT_GROUP).sort();
  };

  test('default groups are added, excluded groups never reach Jira, renamed groups are created, nested memberships count', async () => {
    // jira-users holds jira-administrators; one administrator is made a member through that nesting only.
    const admins = org().groups.find((g) => g.displayName === 'jira-administrators')!;
    const jiraUsers = org().groups.find((g) => g.displayName === 'jira-users')!;
    assert.ok(jiraUsers.members.includes(admins.id), 'the seeded jira-users contains jira-administrators');
    const admin = org().users.find((u) => admins.members.includes(u.id))!;
    if (jiraUsers.members.includes(admin.id)) assert.ok(em.graph.directory.removeMember(jiraUsers.id, admin.id), 'the member was removed in the emulated directory');
    const builtIn = em.jira.store.allGroups();
    await sync();
    for (const u of org().users) assert.deepEqual(jiraGroupsOf(u), expectedJiraGroups(org(), u), `${u.userPrincipalName}: groups`);

    const jiraGroups = em.jira.store.allGroups().filter((g) => !builtIn.includes(g));
    assert.equal(em.jira.store.members(DEFAULT_GROUP).length, USERS, 'every synced user is in the default group');
    assert.ok(org().groups.some((g) => g.displayName === 'dept-legal' && g.members.length > 0), 'the seeded org has people in legal');
    assert.ok(!jiraGroups.includes('dept-legal') && !jiraGroups.includes('jira-legal'), 'the excluded group was neither created nor renamed');
    assert.ok(jiraGroups.includes('jira-engineering'), 'a renamed group was created');
    assert.ok(!jiraGroups.some((g) => g.startsWith('dept-') || g.startsWith('project-') || g === 'confluence-users'), `no group no rule includes: ${jiraGroups}`);
    const synced = new Set(org().users.map((u) => em.jira.inspect(expectedUsername(u))!.key));
    assert.ok(builtIn.includes('jira-administrators'), "Jira's own administrators group exists");
    assert.deepEqual(em.jira.store.members('jira-administrators').filter((k) => synced.has(k)), [], 'the directory\'s jira-administrators (not included) gave nobody Jira admin rights');

    assert.ok(!jiraUsers.members.includes(admin.id), 'the admin is no longer a member');
    assert.ok(jiraGroupsOf(admin).includes('jira-users'), `${admin.userPrincipalName} reaches jira-users through jira-administrators`);
  });

  test('a manual membership survives syncs and reconciles; a membership idsync added goes when the directory drops it', async () => {
    await sync();
    const dept = org().groups.find((g) => g.displayName === 'dept-engineering')!;
    const u = org().users.find((x) => dept.members.includes(x.id) && x.accountEnabled)!;
    const key = em.jira.inspect(expectedUsername(u))!.key;
    // A Jira administrator adds the user by hand to a group of their own and to the excluded one.
    for (const g of ['manual-reviewers', 'dept-legal']) {
      em.jira.store.ensureGroup(g);
      em.jira.store.addMember(g, key);
    }
    assert.ok(em.graph.directory.removeMember(dept.id, u.id), 'the user leaves engineering in the directory');

    await sync();
    const afterSync = jiraGroupsOf(u);
    assert.ok(!afterSync.includes('jira-engineering'), 'the membership idsync added went with the directory');
    assert.ok(afterSync.includes('manual-reviewers') && afterSync.includes('dept-legal'), `manual memberships stay: ${afterSync}`);
    assert.ok(afterSync.includes(DEFAULT_GROUP), 'the default group stays');

    // A reconcile reads the actual membership (manual groups included) and still removes none of them.
    await sync({ reconcile: true });
    const afterReconcile = jiraGroupsOf(u);
    assert.deepEqual(afterReconcile, [...expectedJiraGroups(org(), u), 'dept-legal', 'manual-reviewers'].sort());
  });

  test('changed group rules reach every user on the next run (the rules are part of what a user was synced with)', async () => {
    await sync();
    const second = await sync({}, { groupRules: { ...GROUP_RULES, defaultGroups: [DEFAULT_GROUP, 'all-staff-2'] } });
    assert.equal(second.run.counts.updated, USERS, 'every user is updated, none skipped as unchanged');
    assert.equal(em.jira.store.members('all-staff-2').length, USERS);
  });

  test('with a groups mapping row, the rules receive its output: its groups pass unless a rule excludes them', async () => {
    const mapping = jiraRules(); // its groups row keeps dept-* and jira-users
    await sync({}, { mapping, groupRules: { rules: [{ exclude: 'dept-legal' }], defaultGroups: [DEFAULT_GROUP] } });
    for (const u of org().users) {
      const expected = [
        DEFAULT_GROUP,
        ...transitiveGroups(org(), u.id).filter((g) => (g.startsWith('dept-') || g === 'jira-users') && g !== 'dept-legal'),
      ].sort();
      assert.deepEqual(jiraGroupsOf(u), expected, `${u.userPrincipalName}: groups`);
    }
    assert.ok(!em.jira.store.allGroups().includes('dept-legal'), 'the excluded group was not created');
  });

  test('without "create missing groups", Test connection names the default and fixed rename groups Jira lacks; the run fails those users with the same advice', async () => {
    const groupRules = { rules: [{ include: 'dept-sales', rename: 'sales-team' }, { include: 'dept-*', rename: 'jira-$1' }], defaultGroups: [DEFAULT_GROUP] };
    const off = { groupRules, createMissingGroups: false };
    const report = await engine.testConnection(connector(off));
    const check = report.targets.jira!.checks.find((c) => c.name === 'group rules');
    assert.equal(check?.ok, false, `the missing groups fail the check: ${JSON.stringify(report.targets.jira)}`);
    assert.equal(report.ok, false, 'and Test connection as a whole');
    assert.match(check!.message, /"all-staff" \(default group\)/, 'names the default group');
    assert.match(check!.message, /"sales-team" \(rename of rule 1\)/, 'names the fixed rename and its rule');
    assert.doesNotMatch(check!.message, /jira-\$1|jira-sales/, 'a rename built from captures depends on the directory: not checked here');
    assert.match(check!.message, /create missing groups/, 'says what to do');

    // What the run says when the administrator goes ahead: each user given the group fails, naming it.
    const r = await engine.run({ connector: connector(off), kind: 'full', trigger: 'cli' });
    const failed = await t!.store.runs.items(r.run.id, { operation: 'failed', limit: 5 });
    assert.ok(failed.total > 0, 'users given the missing default group fail');
    assert.match(failed.items[0]!.error ?? '', /group "all-staff" does not exist in Jira; create it there or turn on "create missing groups"/);

    em.jira.store.ensureGroup(DEFAULT_GROUP);
    em.jira.store.ensureGroup('sales-team');
    const fixed = await engine.testConnection(connector(off));
    const passed = fixed.targets.jira!.checks.find((c) => c.name === 'group rules');
    assert.equal(passed?.ok, true, `both groups exist now: ${passed?.message}`);
    assert.match(passed!.message, /the 2 groups the group rules name exist in Jira/);

    const creating = await engine.testConnection(connector({ groupRules, createMissingGroups: true }));
    assert.ok(!creating.targets.jira!.checks.some((c) => c.name === 'group rules'), 'with "create missing groups" on, nothing to check');
  });
});
