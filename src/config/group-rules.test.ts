// Group rules in a connector's validation: placed by target and rule, named in the error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { assertValidConnector, ConfigError, describePlace, validateConnector } from './validate.ts';
import { groupRulesSchema } from './group-rules.ts';
import { compileGroupRules } from '../mapping/group-rules.ts';
import { JIRA_LIKE } from '../mapping/testing.ts';

const connector = (groupRules: unknown, mapping: unknown[] = [{ target: 'user.displayName', source: 'displayName' }]) => ({
  id: 'corp',
  source: { type: 'entra', tenantId: 'contoso.onmicrosoft.com', clientId: 'x', clientSecret: { env: 'S' } },
  targets: [
    { id: 'jira', type: 'jira-dc', url: 'https://jira.example.com', auth: { type: 'pat', token: { env: 'T' } }, mapping, groupRules },
  ],
});

test('valid group rules pass, with their defaults filled in', async () => {
  const { config, issues } = await validateConnector(connector({ rules: [{ include: 'dept-*', rename: 'jira-$1' }], defaultGroups: ['jira-software-users'] }));
  assert.deepEqual(issues.filter((i) => i.severity === 'error'), []);
  assert.equal(config?.targets[0]?.groupRules?.dropUnmatched, undefined, 'unset: the effective default depends on a groups mapping rule');
});

test('a bad pattern, an unsafe regex and a bad default group are placed at their rule and named with connector and target', async () => {
  const input = connector({ rules: [{ include: 'ok-*' }, { include: { regex: '[' } }, { exclude: { regex: '(x+x+)+y' } }], defaultGroups: [''] });
  const { issues } = await validateConnector(input);
  const errors = issues.filter((i) => i.severity === 'error');
  assert.deepEqual(errors.map((i) => i.path), ['targets[0].groupRules.rules[1].include.regex', 'targets[0].groupRules.rules[2].exclude.regex', 'targets[0].groupRules.defaultGroups[0]']);
  assert.equal(describePlace(errors[0]!, ['jira']), 'targets[0].groupRules.rules[1].include.regex (target "jira")');
  await assert.rejects(assertValidConnector(input, 'connector corp'), (e: unknown) => {
    assert.ok(e instanceof ConfigError, 'a ConfigError');
    assert.match(e.message, /^connector corp: targets\[0\]\.groupRules\.rules\[1\]\.include\.regex: not a valid regular expression/);
    assert.match(e.message, /catastrophic backtracking/);
    assert.match(e.message, /defaultGroups\[0\]: the default group "" is empty/);
    return true;
  });
});

test('shape errors are reported by the schema and the meaning checks do not crash on them', async () => {
  const { issues } = await validateConnector(connector({ rules: [{ include: 5 }, { exclude: 'a', rename: 'b' }], defaultGroups: 'x' }));
  const paths = issues.filter((i) => i.severity === 'error').map((i) => i.path);
  assert.ok(paths.some((p) => p.startsWith('targets[0].groupRules.rules[0]')), JSON.stringify(issues));
  assert.ok(paths.includes('targets[0].groupRules.rules[1].rename'), JSON.stringify(issues));
  assert.ok(paths.includes('targets[0].groupRules.defaultGroups'), JSON.stringify(issues));
});

test("the README's group rules example is valid and does what the README says", async () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const section = readme.split('\n## Group rules\n')[1];
  assert.ok(section, 'README.md has a "Group rules" section');
  const yaml = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(yaml, 'the section has a YAML example');
  const target = YAML.parse(yaml).targets[0];
  const { issues } = await validateConnector(connector(target.groupRules));
  assert.deepEqual(issues.filter((i) => i.severity === 'error'), []);
  const rules = compileGroupRules(groupRulesSchema.parse(target.groupRules), { capabilities: JIRA_LIKE, hasGroupsRule: false });
  const out = await rules.apply(['dept-legal', 'dept-sales', 'team-web-eu', 'Sales North', 'jira-users', 'vpn']);
  assert.deepEqual(out.groups, ['eu-web', 'jira-sales', 'jira-software-users', 'jira-users', 'sales-north']);
});
