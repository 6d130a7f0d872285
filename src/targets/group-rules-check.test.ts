import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TargetConnector } from '../core/types.ts';
import { groupRulesCheck, namedGroups, testTarget } from './group-rules-check.ts';

/** A target that knows `groups` (ignoring case) and whose own checks pass unless `failing`. */
function target(groups: string[], opts: { failing?: boolean; lookupFails?: boolean } = {}): TargetConnector & { asked: string[] } {
  const asked: string[] = [];
  return {
    kind: 'jira-dc',
    id: 'jira',
    asked,
    capabilities: () => ({}) as never,
    test: async () => ({ ok: !opts.failing, checks: [{ name: 'credentials', ok: !opts.failing, message: opts.failing ? 'refused' : 'signed in as idsync' }] }),
    findUser: async () => null,
    readUser: async () => null,
    write: async () => ({}) as never,
    async groupExists(name) {
      asked.push(name);
      if (opts.lookupFails) throw new Error('Jira answered 500');
      return groups.some((g) => g.toLowerCase() === name.toLowerCase());
    },
  };
}

test('namedGroups: default groups and renames without captures, once each ignoring case; $$ is a dollar', () => {
  const named = namedGroups({
    rules: [
      { include: 'dept-sales', rename: 'Sales-Team' },
      { include: 'dept-*', rename: 'jira-$1' },
      { include: 'team-x', rename: 'cost$$center' },
      { include: 'ops', rename: { expression: '"ops-" & name' } },
      { include: 'jira-users' },
      { exclude: 'dept-legal' },
      { include: 'old-*', rename: 'sales-team' },
    ],
    defaultGroups: ['all-staff', 'ALL-STAFF'],
  });
  assert.deepEqual(named, [
    { name: 'all-staff', from: 'default group' },
    { name: 'Sales-Team', from: 'rename of rule 1' },
    { name: 'cost$center', from: 'rename of rule 3' },
  ]);
  assert.deepEqual(namedGroups(undefined), [], 'no group rules, no groups named');
});

test('groupRulesCheck: the missing groups named with where they come from and what to do', async () => {
  const config = { createMissingGroups: false, groupRules: { rules: [{ include: 'dept-sales', rename: 'sales-team' }], defaultGroups: ['all-staff', 'jira-software-users'] } };
  const check = await groupRulesCheck(config, target(['JIRA-software-users']));
  assert.equal(check?.ok, false, 'two groups are missing');
  assert.equal(
    check?.message,
    'groups "all-staff" (default group), "sales-team" (rename of rule 1) do not exist in Jira, and "create missing groups" is off: every user given them would fail. Create them in Jira, or turn on "create missing groups" (createMissingGroups: true)',
  );
  const one = await groupRulesCheck({ ...config, groupRules: { rules: [], defaultGroups: ['all-staff'] } }, target([]));
  assert.match(one?.message ?? '', /^group "all-staff" \(default group\) does not exist in Jira, .*every user given it would fail\. Create it in Jira/);
  const ok = await groupRulesCheck(config, target(['all-staff', 'sales-team', 'jira-software-users']));
  assert.deepEqual(ok, { name: 'group rules', ok: true, message: 'the 3 groups the group rules name exist in Jira' });
});

test('groupRulesCheck: nothing to check with createMissingGroups, without named groups, or when the target cannot tell', async () => {
  const rules = { rules: [], defaultGroups: ['all-staff'] };
  const t = target([]);
  assert.equal(await groupRulesCheck({ createMissingGroups: true, groupRules: rules }, t), undefined);
  assert.equal(await groupRulesCheck({ createMissingGroups: false, groupRules: { rules: [{ include: 'dept-*', rename: 'jira-$1' }], defaultGroups: [] } }, t), undefined);
  assert.equal(await groupRulesCheck({ createMissingGroups: false }, t), undefined);
  assert.deepEqual(t.asked, [], 'the target was not asked');
  const { groupExists: _none, ...blind } = target([]);
  assert.equal(await groupRulesCheck({ createMissingGroups: false, groupRules: rules }, blind as TargetConnector), undefined);
});

test('testTarget: the check follows the target\'s own checks, and only when they passed; a failed lookup is a failed check', async () => {
  const config = { createMissingGroups: false, groupRules: { rules: [], defaultGroups: ['all-staff'] } };
  const refused = target([], { failing: true });
  const r1 = await testTarget(config, refused);
  assert.deepEqual(r1.checks.map((c) => c.name), ['credentials'], 'no group lookup with refused credentials');
  assert.deepEqual(refused.asked, []);
  const r2 = await testTarget(config, target([]));
  assert.equal(r2.ok, false);
  assert.deepEqual(r2.checks.map((c) => [c.name, c.ok]), [['credentials', true], ['group rules', false]]);
  const r3 = await testTarget(config, target([], { lookupFails: true }));
  assert.equal(r3.ok, false);
  assert.match(r3.checks[1]!.message, /could not check the groups the group rules name: .*500/);
  const r4 = await testTarget({ createMissingGroups: false }, target([]));
  assert.deepEqual(r4.checks.map((c) => c.name), ['credentials'], 'no group rules: the target\'s checks as they were');
});
