import { test } from 'node:test';
import assert from 'node:assert/strict';
import { groupRulesSchema, type GroupRulesConfig } from '../config/group-rules.ts';
import { compileGroupRules, GroupRulesValidationError, validateGroupRules, compileMapping, previewGroupRules } from './index.ts';
import { CONFLUENCE_LIKE, JIRA_LIKE, links, rule, user } from './testing.ts';

const cfg = (raw: unknown): GroupRulesConfig => groupRulesSchema.parse(raw);
const compile = (raw: unknown, hasGroupsRule = false) => compileGroupRules(cfg(raw), { capabilities: JIRA_LIKE, hasGroupsRule, timeoutMs: 10_000 });
const result = async (raw: unknown, groups: string[], hasGroupsRule = false) => (await compile(raw, hasGroupsRule).apply(groups)).groups;
const errorsOf = (raw: unknown, hasGroupsRule = false) => validateGroupRules(cfg(raw), { capabilities: JIRA_LIKE, hasGroupsRule }).filter((i) => i.severity === 'error');

test('include by exact name and glob, ignoring case; groups no rule matches are dropped by default', async () => {
  const groups = ['Dept-Sales', 'dept-finance', 'Jira-Users', 'all-staff', 'VPN'];
  assert.deepEqual(await result({ rules: [{ include: 'dept-*' }, { include: 'jira-users' }] }, groups), ['Dept-Sales', 'Jira-Users', 'dept-finance']);
});

test('the first matching rule decides: an exclude before an include wins, after it does not', async () => {
  const groups = ['dept-sales', 'dept-secret'];
  assert.deepEqual(await result({ rules: [{ exclude: 'dept-secret' }, { include: 'dept-*' }] }, groups), ['dept-sales']);
  assert.deepEqual(await result({ rules: [{ include: 'dept-*' }, { exclude: 'dept-secret' }] }, groups), ['dept-sales', 'dept-secret']);
});

test('dropUnmatched: false keeps groups no rule matches; excluded ones still go', async () => {
  assert.deepEqual(await result({ rules: [{ exclude: '*-admins' }], dropUnmatched: false }, ['a', 'ops-admins', 'b']), ['a', 'b']);
});

test('with a groups mapping rule, unmatched groups pass by default (that rule chose them already)', async () => {
  const rules = compile({ rules: [{ exclude: 'tmp-*' }] }, true);
  assert.equal(rules.dropUnmatched, false);
  assert.deepEqual((await rules.apply(['tmp-x', 'dept-a'])).groups, ['dept-a']);
  assert.equal(compile({ rules: [{ exclude: 'tmp-*' }] }, false).dropUnmatched, true);
});

test('rename: a glob capture, a regex capture, $0 and $$; results one per group whatever the case', async () => {
  const raw = {
    rules: [
      { include: 'team-*', rename: 'jira-$1' },
      { include: { regex: '^(\\w+)-(\\d+)$' }, rename: '$2 of $1 ($$)' },
      { include: 'Legacy', rename: 'old-$0' },
      { include: 'JIRA-DEVS' },
    ],
  };
  const out = await compile(raw).apply(['team-devs', 'Team-Ops', 'floor-3', 'legacy', 'jira-devs']);
  assert.deepEqual(out.groups, ['3 of floor ($)', 'jira-Ops', 'jira-devs', 'old-legacy']);
  assert.deepEqual(
    out.decisions.map((d) => [d.source, d.rule, d.outcome, d.name]),
    [
      ['team-devs', 0, 'included', 'jira-devs'],
      ['Team-Ops', 0, 'included', 'jira-Ops'],
      ['floor-3', 1, 'included', '3 of floor ($)'],
      ['legacy', 2, 'included', 'old-legacy'],
      ['jira-devs', 3, 'included', 'jira-devs'],
    ],
  );
});

test('rename with a JSONata expression over name and captures', async () => {
  const raw = { rules: [{ include: 'Sales *', rename: { expression: '"sales-" & $lowercase($replace(captures[0], " ", "-"))' } }] };
  assert.deepEqual(await result(raw, ['Sales North East', 'Marketing']), ['sales-north-east']);
});

test('a rename that gives an empty or over-long name fails with the rule named, and gives no groups', async () => {
  const empty = await compile({ rules: [{ include: 'x-*', rename: '$1' }] }).apply(['x-', 'x-ok']);
  assert.equal(empty.errors.length, 1);
  assert.match(empty.errors[0]!, /group rule 1 \(groupRules.rules\[0\]\) renamed "x-" to a name that is empty/);
  assert.equal(empty.decisions.find((d) => d.source === 'x-')?.outcome, 'failed');
  const long = await compile({ rules: [{ include: '*', rename: { expression: '$pad(name, 300, "x")' } }] }).apply(['a']);
  assert.match(long.errors[0]!, /group rule 1 \(groupRules.rules\[0\]\) renamed "a" to a name that is 300 characters long; the target allows at most 255/);
  const notText = await compile({ rules: [{ include: '*', rename: { expression: '42' } }] }).apply(['a']);
  assert.match(notText.errors[0]!, /renamed "a" to 42, not a text/);
});

test('default groups every user gets, also with no source group; no duplicate with an included one', async () => {
  assert.deepEqual(await result({ defaultGroups: ['jira-software-users'] }, []), ['jira-software-users']);
  assert.deepEqual(await result({ rules: [{ include: '*' }], defaultGroups: ['Staff'] }, ['staff', 'b']), ['Staff', 'b'].sort());
});

test('default groups alone do not make the source read groups; any rule or keeping unmatched does', () => {
  assert.equal(compile({ defaultGroups: ['x'] }).readsSourceGroups, false);
  assert.equal(compile({ rules: [{ include: '*' }] }).readsSourceGroups, true);
  assert.equal(compile({ dropUnmatched: false }).readsSourceGroups, true);
});

test('the schema: exactly one of include or exclude, no rename on exclude, unknown keys named', () => {
  assert.match(groupRulesSchema.safeParse({ rules: [{ include: 'a', exclude: 'b' }] }).error?.message ?? '', /exactly one of include or exclude/);
  assert.match(groupRulesSchema.safeParse({ rules: [{}] }).error?.message ?? '', /exactly one of include or exclude/);
  assert.match(groupRulesSchema.safeParse({ rules: [{ exclude: 'b', rename: 'c' }] }).error?.message ?? '', /cannot be renamed/);
  assert.match(groupRulesSchema.safeParse({ defaultGroup: ['x'] }).error?.issues[0]?.message ?? '', /did you mean "defaultGroups"/);
});

test('validation: bad and catastrophic regexes, bad templates, captures out of range, bad names, placed by rule', () => {
  assert.match(errorsOf({ rules: [{ include: 'a' }, { include: { regex: '(' } }] })[0]!.path, /^rules\[1\]\.include\.regex$/);
  assert.match(errorsOf({ rules: [{ include: { regex: '(' } }] })[0]!.message, /not a valid regular expression/);
  const redos = errorsOf({ rules: [{ exclude: { regex: '^(a+)+$' } }] });
  assert.equal(redos[0]?.path, 'rules[0].exclude.regex');
  assert.match(redos[0]!.message, /catastrophic backtracking/);
  assert.match(errorsOf({ rules: [{ include: 'team-*', rename: 'jira-$2' }] })[0]!.message, /\$2 refers to capture 2, but the pattern has only 1/);
  assert.match(errorsOf({ rules: [{ include: 'team', rename: 'x-$1' }] })[0]!.message, /has no captures/);
  assert.match(errorsOf({ rules: [{ include: 'a', rename: 'cost $x' }] })[0]!.message, /is not \$0..\$9/);
  assert.match(errorsOf({ rules: [{ include: 'a', rename: '  ' }] })[0]!.message, /gives a name that is empty/);
  assert.match(errorsOf({ rules: [{ include: 'a', rename: 'x'.repeat(256) }] })[0]!.message, /256 characters long/);
  assert.match(errorsOf({ rules: [{ include: 'a', rename: { expression: '$lowercase(name' } }] })[0]!.message, /expression error/);
  assert.match(errorsOf({ rules: [{ include: 'a', rename: { expression: 'department' } }] })[0]!.message, /sees only name .* not department/);
  const names = errorsOf({ defaultGroups: ['ok', '', ' padded', 'tab\there', 'y'.repeat(300)] });
  assert.deepEqual(names.map((i) => i.path), ['defaultGroups[1]', 'defaultGroups[2]', 'defaultGroups[3]', 'defaultGroups[4]']);
  assert.deepEqual(errorsOf({ rules: [{ include: 'team-*', rename: 'jira-$1' }], defaultGroups: ['jira-software-users'] }), []);
});

test('validation: a target without group memberships refuses group rules; only-exclude rules that drop everything warn', () => {
  const noGroups = validateGroupRules(cfg({ defaultGroups: ['x'] }), { capabilities: CONFLUENCE_LIKE, hasGroupsRule: false });
  assert.match(noGroups[0]!.message, /confluence-dc has no group memberships idsync can write/);
  const warn = validateGroupRules(cfg({ rules: [{ exclude: 'x' }] }), { capabilities: JIRA_LIKE, hasGroupsRule: false });
  assert.deepEqual(warn.map((i) => i.severity), ['warning']);
  assert.match(warn[0]!.message, /no source group reaches the target/);
  assert.throws(() => compile({ rules: [{ include: { regex: '(' } }] }), (e: unknown) => e instanceof GroupRulesValidationError && /groupRules\.rules\[0\]\.include\.regex/.test(e.message));
});

test('in the mapping: source groups → group rules → groups, without a groups mapping rule; the source is asked for groups', async () => {
  const m = compileMapping([rule('user.username', 'userPrincipalName')], { ...JIRA_LIKE, canCreateUsers: false }, {
    timeoutMs: 10_000,
    groupRules: cfg({ rules: [{ include: 'dept-*' }], defaultGroups: ['jira-software-users'] }),
  });
  assert.equal(m.needs.groups, true);
  const mapped = await m.evaluate(user({}, ['dept-a', 'vpn']), links());
  assert.deepEqual(mapped.values.groups, ['dept-a', 'jira-software-users']);
  assert.equal(mapped.flows.groups, 'always');
});

test('in the mapping: a user the source gave no group list for keeps its groups untouched; default groups alone need none', async () => {
  const caps = { ...JIRA_LIKE, canCreateUsers: false };
  const reading = compileMapping([], caps, { timeoutMs: 10_000, groupRules: cfg({ rules: [{ include: '*' }], defaultGroups: ['staff'] }) });
  const unknown = await reading.evaluate(user({}), links());
  assert.equal('groups' in unknown.values, false, 'no list from the source is not "no groups"');
  assert.deepEqual((await reading.evaluate(user({}, []), links())).values.groups, ['staff'], 'an empty list is "no groups"');
  const defaultsOnly = compileMapping([], caps, { timeoutMs: 10_000, groupRules: cfg({ defaultGroups: ['staff'] }) });
  assert.equal(defaultsOnly.needs.groups, false);
  assert.deepEqual((await defaultsOnly.evaluate(user({}), links())).values.groups, ['staff']);
});

test('in the mapping: the groups rule feeds the group rules, with its flow; a failed rename leaves groups out and fails the user', async () => {
  const caps = { ...JIRA_LIKE, canCreateUsers: false };
  const m = compileMapping([rule('groups', 'groups[$ != "vpn"]', { flow: 'onCreate' })], caps, {
    timeoutMs: 10_000,
    groupRules: cfg({ rules: [{ include: 'dept-*', rename: 'd-$1' }] }),
  });
  const mapped = await m.evaluate(user({}, ['dept-a', 'vpn', 'other']), links());
  assert.deepEqual(mapped.values.groups, ['d-a', 'other'], 'unmatched groups from the mapping rule pass; vpn was filtered by the rule');
  assert.equal(mapped.flows.groups, 'onCreate');

  const bad = compileMapping([], caps, { timeoutMs: 10_000, groupRules: cfg({ rules: [{ include: 'x-*', rename: '$1' }] }) });
  const failed = await bad.evaluate(user({}, ['x-']), links());
  assert.equal('groups' in failed.values, false, 'no partial groups that could remove memberships');
  assert.match(failed.errors[0]?.message ?? '', /group rule 1/);
});

test('preview: source groups → decisions → groups, and the issues while the rules are broken', async () => {
  const p = await previewGroupRules(cfg({ rules: [{ exclude: 'dept-secret' }, { include: 'dept-*', rename: 'jira-$1' }], defaultGroups: ['all'] }), user({}, ['dept-secret', 'dept-a', 'vpn']), {
    capabilities: JIRA_LIKE,
  });
  assert.equal(p.inputFrom, 'source');
  assert.deepEqual(p.groups, ['all', 'jira-a']);
  assert.deepEqual(
    p.decisions.map((d) => `${d.source ?? '-'}:${d.outcome}:${d.rule ?? '-'}:${d.name ?? '-'}`),
    ['dept-secret:excluded:0:-', 'dept-a:included:1:jira-a', 'vpn:dropped:-:-', '-:default:-:all'],
  );
  const fromMapping = await previewGroupRules(cfg({ rules: [] }), user({}, ['a', 'b']), { capabilities: JIRA_LIKE, mapping: [rule('groups', 'groups[$ = "a"]')] });
  assert.equal(fromMapping.inputFrom, 'mapping');
  assert.deepEqual(fromMapping.input, ['a']);
  assert.deepEqual(fromMapping.groups, ['a']);
  const broken = await previewGroupRules(cfg({ rules: [{ include: { regex: '(' } }] }), user({}, ['a']), { capabilities: JIRA_LIKE });
  assert.equal(broken.groups, undefined);
  assert.equal(broken.issues[0]?.path, 'rules[0].include.regex');
});
