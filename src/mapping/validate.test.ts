import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AttributeInfo, MappingRule, TargetCapabilities } from '../core/types.ts';
import type { MappingIssue } from './api.ts';
import { TABLE_ROW, validateMapping } from './validate.ts';
import { CONFLUENCE_LIKE, JIRA_LIKE, rule } from './testing.ts';

// A table that maps every field Jira needs to create a user, so tests see only their own issues.
const BASE: MappingRule[] = [
  rule('user.username', '$lower($stripDomain(userPrincipalName))', { flow: 'onCreate' }),
  rule('user.displayName', 'displayName'),
  rule('user.email', 'mail'),
];

const ATTRIBUTES: AttributeInfo[] = [
  { path: 'userPrincipalName', type: 'string' },
  { path: 'displayName', type: 'string' },
  { path: 'mail', type: 'string' },
  { path: 'department', type: 'string' },
  { path: 'accountEnabled', type: 'boolean' },
  { path: 'businessPhones', type: 'string[]' },
  { path: 'employeeHireDate', type: 'datetime' },
  { path: 'onPremisesExtensionAttributes.extensionAttribute3', type: 'string' },
  { path: 'customSecurityAttributes', type: 'object' },
  { path: 'manager.mail', type: 'string' },
  { path: 'manager.id', type: 'string' },
  { path: 'employeeOrgData', type: 'object' },
];

/** Issues for the rows added after BASE, with rows renumbered from 0. */
function issuesFor(rows: MappingRule[], opts: { capabilities?: TargetCapabilities; attributes?: AttributeInfo[] } = {}): MappingIssue[] {
  const issues = validateMapping({ rules: [...BASE, ...rows], capabilities: opts.capabilities ?? JIRA_LIKE, attributes: opts.attributes });
  return issues.filter((i) => i.row >= BASE.length).map((i) => ({ ...i, row: i.row - BASE.length }));
}

function only(issues: MappingIssue[]): MappingIssue {
  assert.equal(issues.length, 1, `expected one issue, got ${JSON.stringify(issues, null, 1)}`);
  return issues[0];
}

test('a complete, correct table has no issues', () => {
  const rows = [
    rule('user.active', 'accountEnabled'),
    rule('groups', 'groups', { whenEmpty: 'clear' }),
    rule('property.managerEmail', 'manager.mail'),
    rule('property.manager', 'manager.targetUsername'),
    rule('property.costCenter', 'customSecurityAttributes.Engineering.CostCenter'),
  ];
  assert.deepEqual(validateMapping({ rules: [...BASE, ...rows], capabilities: JIRA_LIKE, attributes: ATTRIBUTES }), []);
});

test('an unknown target field is an error that lists what the target can write', () => {
  const issue = only(issuesFor([rule('user.nickname', 'displayName')]));
  assert.equal(issue.severity, 'error');
  assert.equal(issue.field, 'target');
  assert.match(issue.message, /unknown target field "user.nickname" for jira-dc; it can write: user.username, .*property.<key>/);
});

test('families match by prefix and need a valid key', () => {
  assert.deepEqual(issuesFor([rule('property.costCenter', 'department')]), []);
  assert.match(only(issuesFor([rule('property.', 'department')])).message, /invalid property.<key> field "property.": the key after the prefix is empty/);
  assert.match(only(issuesFor([rule(`property.${'k'.repeat(256)}`, 'department')])).message, /256 characters long; at most 255/);
  assert.match(only(issuesFor([rule('property.bad\u0007key', 'department')])).message, /control character/);
  // The picker shows the family as property.<key>; that placeholder is not a key.
  assert.match(only(issuesFor([rule('property.<key>', 'department')])).message, /invalid property.<key> field "property.<key>": "<key>" is a placeholder/);
  assert.deepEqual(issuesFor([rule(`property.${'k'.repeat(255)}`, 'department')]), []);
});

test('a field the target cannot write quotes the target\'s reason', () => {
  const jira = only(issuesFor([rule('confluence.profile.phone', 'department')]));
  assert.match(jira.message, /jira-dc cannot write confluence.profile.phone: Jira has no profile fields; use a user property/);
  const confluence = validateMapping({ rules: [rule('confluence.profile.department', 'department')], capabilities: CONFLUENCE_LIKE });
  assert.match(only(confluence).message, /confluence-dc cannot write confluence.profile.department: Confluence DC has no REST API for profile fields/);
  assert.deepEqual(validateMapping({ rules: [rule('confluence.profile.phone', 'department')], capabilities: CONFLUENCE_LIKE }), []);
});

test('a target field mapped twice is an error on the later row', () => {
  const issue = only(issuesFor([rule('property.x', 'department'), rule('property.x', 'mail')]));
  assert.equal(issue.row, 1);
  assert.match(issue.message, /duplicate target field property.x: row 4 already maps it/);
});

test('type mismatches that fail every user are errors; those that fail some are warnings', () => {
  const groupsFromBoolean = only(issuesFor([rule('groups', 'accountEnabled')], { attributes: ATTRIBUTES }));
  assert.equal(groupsFromBoolean.severity, 'error');
  assert.match(groupsFromBoolean.message, /type mismatch \(boolean → string\[\]\): the field needs a list of names/);

  const activeFromList = only(issuesFor([rule('user.active', 'businessPhones')], { attributes: ATTRIBUTES }));
  assert.equal(activeFromList.severity, 'error');
  assert.match(activeFromList.message, /a string\[\] cannot become true\/false/);

  const nameFromObject = only(issuesFor([rule('property.x', 'department'), rule('user.active', 'employeeOrgData')], { attributes: ATTRIBUTES }));
  assert.equal(nameFromObject.severity, 'error');

  const phoneList = only(issuesFor([rule('confluence.profile.phone', 'businessPhones')], { capabilities: { ...JIRA_LIKE, unsupported: [], fields: [...JIRA_LIKE.fields, { name: 'confluence.profile.', type: 'string', label: 'Profile' }] }, attributes: ATTRIBUTES }));
  assert.equal(phoneList.severity, 'warning');
  assert.match(phoneList.message, /"businessPhones" is a list.*businessPhones\[0\]/);

  const groupsToText = only(validateMapping({ rules: [rule('user.displayName', 'groups')], capabilities: CONFLUENCE_LIKE }));
  assert.equal(groupsToText.severity, 'warning', 'groups is a list even when the source lists no attributes');
  assert.match(groupsToText.message, /"groups" is a list and the field holds one value/);
});

test('a constant expression of the wrong type is an error', () => {
  const issue = only(issuesFor([rule('user.active', '"maybe"')]));
  assert.match(issue.message, /type mismatch: the constant "maybe" cannot be written to a boolean field/);
  assert.deepEqual(issuesFor([rule('user.active', 'true')]), []);
});

test('a missing required-on-create field is a table warning when the target creates users', () => {
  const issues = validateMapping({ rules: [rule('user.email', 'mail')], capabilities: JIRA_LIKE });
  assert.deepEqual(
    issues.map((i) => [i.row, i.severity, i.message.split(',')[0]]),
    [
      [TABLE_ROW, 'warning', 'no rule maps user.username (Username)'],
      [TABLE_ROW, 'warning', 'no rule maps user.displayName (Full name)'],
    ],
  );
  assert.match(issues[0].message, /jira-dc needs to create a user/);
  assert.deepEqual(validateMapping({ rules: [], capabilities: { ...JIRA_LIKE, canCreateUsers: false } }), []);
});

test('a syntax error is reported with its position', () => {
  const issue = only(issuesFor([rule('property.x', '$lower(mail')]));
  assert.deepEqual(issue, { row: 0, field: 'source', severity: 'error', position: 11, message: 'expression error at position 11: Expected ")" before end of expression' });
});

test('a misspelt function and an invalid literal regex are errors with positions', () => {
  const misspelt = only(issuesFor([rule('property.x', '"x" & $lowerCase(mail)')]));
  assert.equal(misspelt.position, 6);
  assert.match(misspelt.message, /unknown function \$lowerCase/);
  assert.deepEqual(issuesFor([rule('property.x', '($f := function($v) { $v }; $f(mail))')]), [], 'functions the expression defines are known');
  const regex = only(issuesFor([rule('property.x', '$regexReplace(mail, "[", "")')]));
  assert.equal(regex.position, 20);
  assert.match(regex.message, /\$regexReplace: Invalid regular expression/);
});

test('an unknown plain path is an error; inside an expression it is a warning', () => {
  const plain = only(issuesFor([rule('property.x', 'departmnet')], { attributes: ATTRIBUTES }));
  assert.equal(plain.severity, 'error');
  assert.match(plain.message, /unknown source attribute "departmnet"/);
  const inExpression = only(issuesFor([rule('property.x', '$firstNonEmpty(departmnet, department)')], { attributes: ATTRIBUTES }));
  assert.equal(inExpression.severity, 'warning');
  assert.equal(inExpression.position, 15);
  assert.match(inExpression.message, /unknown source attribute "departmnet" in the expression/);
  assert.deepEqual(issuesFor([rule('property.x', 'departmnet')]), [], 'without the attribute list nothing is unknown');
});

test('attributes under an object attribute, and built-ins, are known', () => {
  const rows = [
    rule('property.a', 'customSecurityAttributes.Engineering.Project'),
    rule('property.b', 'id'),
    rule('property.c', 'manager.targetUsername'),
    rule('property.d', 'onPremisesExtensionAttributes'),
    rule('property.e', 'groups'),
  ];
  assert.deepEqual(issuesFor(rows, { attributes: ATTRIBUTES }), []);
});

test('a rule that can never produce a value is an error, or a warning when it writes a default or clears', () => {
  for (const constant of ['null', '""', '"   "', '[]', '$lower("")', 'true ? null : ""']) {
    const issue = only(issuesFor([rule('property.x', constant)]));
    assert.equal(issue.severity, 'error', constant);
    assert.match(issue.message, /can never produce a value: the expression is a constant with no value/, constant);
  }
  const unknownOnly = issuesFor([rule('property.x', '$lower(nosuch)')], { attributes: ATTRIBUTES });
  assert.deepEqual(unknownOnly.map((i) => i.severity), ['warning', 'error']);
  assert.match(unknownOnly[1].message, /only reads attributes the source does not have/);

  const withDefault = only(issuesFor([rule('property.x', 'null', { default: 'n/a' })]));
  assert.equal(withDefault.severity, 'warning');
  assert.match(withDefault.message, /always writes its default/);
  const clearing = only(issuesFor([rule('property.x', 'null', { whenEmpty: 'clear' })]));
  assert.match(clearing.message, /always clears the field/);

  // These can produce something, so they pass.
  assert.deepEqual(issuesFor([rule('property.x', '"fixed"')]), []);
  assert.deepEqual(issuesFor([rule('property.x', '"prefix-" & nosuch')], { attributes: ATTRIBUTES }).map((i) => i.severity), ['warning']);
  assert.deepEqual(issuesFor([rule('property.x', '$exists(nosuch)')], { attributes: ATTRIBUTES }).map((i) => i.severity), ['warning']);
});

test('a default must fit the field type', () => {
  const bad = only(issuesFor([rule('user.active', 'accountEnabled', { default: 'sometimes' })]));
  assert.equal(bad.field, 'default');
  assert.match(bad.message, /invalid default for a boolean field: expected true\/false/);
  assert.match(only(issuesFor([rule('groups', 'groups', { default: [{ name: 'x' }] })])).message, /invalid default for a string\[\] field/);
  assert.deepEqual(issuesFor([rule('user.active', 'accountEnabled', { default: 'true' }), rule('groups', 'groups', { default: ['Staff'] })]), []);
  const empty = only(issuesFor([rule('property.x', 'department', { default: '' })]));
  assert.equal(empty.severity, 'warning');
  assert.match(empty.message, /default of "" is itself empty/);
});

test('invalid flow and whenEmpty values are errors; onCreate on a target that cannot create is a warning', () => {
  const bad = issuesFor([rule('property.x', 'department', { flow: 'sometimes' as never, whenEmpty: 'drop' as never })]);
  assert.deepEqual(bad.map((i) => i.field), ['flow', 'whenEmpty']);
  assert.match(bad[0].message, /unknown flow "sometimes"; use always, onCreate or ifEmpty/);
  const onCreate = validateMapping({ rules: [rule('user.email', 'mail', { flow: 'onCreate' })], capabilities: CONFLUENCE_LIKE });
  assert.match(only(onCreate).message, /confluence-dc cannot create users, so an onCreate rule never applies/);
});

test('empty target or source fields say what to enter', () => {
  const issues = issuesFor([rule('', ' ')]);
  assert.deepEqual(issues.map((i) => [i.field, i.message]), [
    ['target', 'choose a target field'],
    ['source', 'enter a source attribute (e.g. department) or an expression'],
  ]);
});

test('an expression reading the whole record is flagged, since its needs cannot be listed', () => {
  assert.match(only(issuesFor([rule('property.x', '$keys($)')])).message, /reads the whole user record/);
});
