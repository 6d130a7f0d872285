import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isIdsyncError } from '../core/errors.ts';
import type { MappingRule } from '../core/types.ts';
import { compileMapping, MappingValidationError } from './index.ts';
import { CONFLUENCE_LIKE, JIRA_LIKE, links, rule, user } from './testing.ts';

const NO_LINKS = links();

/**
 * Compiles rules for a target that cannot create users, so no "required field" warnings apply.
 * Tests that are not about the timebox get a budget no busy test machine can exceed.
 */
function compile(rules: MappingRule[], timeoutMs = 10_000) {
  return compileMapping(rules, { ...JIRA_LIKE, canCreateUsers: false }, { timeoutMs });
}

test('an invalid table is refused with a CONFIG error listing every issue', () => {
  const rules = [rule('user.nickname', 'displayName'), rule('property.x', '$lower(mail'), rule('property.y', 'department')];
  assert.throws(
    () => compileMapping(rules, JIRA_LIKE),
    (e: unknown) => {
      assert.ok(e instanceof MappingValidationError, 'e instanceof MappingValidationError');
      assert.ok(isIdsyncError(e, 'CONFIG'), "isIdsyncError(e, 'CONFIG')");
      assert.deepEqual(e.issues.filter((i) => i.severity === 'error').map((i) => i.row), [0, 1]);
      assert.match(e.message, /the mapping for jira-dc has 2 errors: row 1 \(target\): unknown target field "user.nickname".*row 2 \(source\): expression error at position 11/);
      assert.match(e.describe(), /fix the listed mapping rows/);
      return true;
    },
  );
});

test('warnings do not stop compilation', () => {
  assert.doesNotThrow(() => compileMapping([rule('user.email', 'mail')], JIRA_LIKE));
});

test('plain paths, nested paths, id and groups map directly', async () => {
  const mapping = compile([
    rule('user.displayName', 'displayName'),
    rule('property.costCenter', 'onPremisesExtensionAttributes.extensionAttribute3'),
    rule('property.cost', 'customSecurityAttributes.Engineering.CostCenter'),
    rule('property.sourceId', 'id'),
    rule('property.ext', 'extension_5bfc8fdacfc943a9a6de214ea9d15fdb_costCenter'),
    rule('groups', 'groups'),
  ]);
  const u = user(
    {
      onPremisesExtensionAttributes: { extensionAttribute3: 'CC-7' },
      customSecurityAttributes: { Engineering: { CostCenter: [1001] } },
      extension_5bfc8fdacfc943a9a6de214ea9d15fdb_costCenter: 'X9',
    },
    ['Staff', 'Finance', 'Staff'],
  );
  const mapped = await mapping.evaluate(u, NO_LINKS);
  assert.deepEqual(mapped.values, {
    'user.displayName': 'Alice Example',
    'property.costCenter': 'CC-7',
    'property.cost': [1001],
    'property.sourceId': u.id,
    'property.ext': 'X9',
    groups: ['Finance', 'Staff'],
  });
  assert.deepEqual(mapped.errors, []);
  assert.deepEqual(mapped.pending, []);
});

test('a plain path and the same path as an expression agree', async () => {
  const u = user({ identities: [{ issuer: 'a.com' }, { issuer: 'b.com' }], manager: { id: 'm', mail: 'boss@contoso.com' } });
  for (const path of ['identities.issuer', 'manager.mail', 'department', 'nosuch.deep']) {
    const direct = await compile([rule('property.v', path)]).evaluate(u, NO_LINKS);
    const viaJsonata = await compile([rule('property.v', `(${path})`)]).evaluate(u, NO_LINKS);
    assert.deepEqual(direct, viaJsonata, path);
  }
});

test('expressions see {...attrs, id, groups} and do not change the user', async () => {
  const mapping = compile([
    rule('user.username', '$lower($stripDomain(userPrincipalName))'),
    rule('property.summary', '{"id": id, "groups": $count(groups), "dept": department}'),
  ]);
  const u = user({}, ['A', 'B']);
  const before = structuredClone(u);
  const mapped = await mapping.evaluate(u, NO_LINKS);
  assert.equal(mapped.values['user.username'], 'alice');
  assert.deepEqual(mapped.values['property.summary'], { id: u.id, groups: 2, dept: 'Finance' });
  assert.deepEqual(u, before);
});

test('empty values: default first, then whenEmpty keep omits and clear writes null', async () => {
  const mapping = compile([
    rule('property.withDefault', 'nosuch', { default: 'n/a' }),
    rule('property.kept', 'nosuch'),
    rule('property.cleared', 'nosuch', { whenEmpty: 'clear' }),
    rule('property.blank', 'blank', { whenEmpty: 'clear' }),
    rule('property.emptyList', 'list', { default: ['none'] }),
    rule('property.zero', 'zero', { whenEmpty: 'clear' }),
    rule('property.no', 'no', { whenEmpty: 'clear' }),
  ]);
  const mapped = await mapping.evaluate(user({ blank: '   ', list: [], zero: 0, no: false }), NO_LINKS);
  assert.deepEqual(mapped.values, {
    'property.withDefault': 'n/a',
    'property.cleared': null,
    'property.blank': null,
    'property.emptyList': ['none'],
    'property.zero': 0,
    'property.no': false,
  });
  assert.equal('property.kept' in mapped.values, false);
  assert.equal('property.kept' in mapped.flows, false);
});

test('a default is coerced to the field type', async () => {
  const mapping = compile([rule('user.active', 'nosuch', { default: 'true' }), rule('groups', 'groups', { default: 'Everyone' })]);
  const mapped = await mapping.evaluate(user(), NO_LINKS);
  assert.deepEqual(mapped.values, { 'user.active': true, groups: ['Everyone'] });
});

test('flows are reported for every field produced', async () => {
  const mapping = compile([
    rule('user.username', 'userPrincipalName', { flow: 'onCreate' }),
    rule('user.email', 'mail', { flow: 'ifEmpty' }),
    rule('user.displayName', 'displayName'),
    rule('property.kept', 'nosuch', { flow: 'ifEmpty' }),
  ]);
  const mapped = await mapping.evaluate(user(), NO_LINKS);
  assert.deepEqual(mapped.flows, { 'user.username': 'onCreate', 'user.email': 'ifEmpty', 'user.displayName': 'always' });
});

test('values are coerced to the field type, and a wrong shape fails only that field', async () => {
  const mapping = compile([
    rule('user.active', 'accountEnabled'),
    rule('user.displayName', 'businessPhones'),
    rule('user.email', 'mail'),
    rule('groups', 'groups'),
    rule('property.n', 'n'),
  ]);
  const ok = await mapping.evaluate(user({ accountEnabled: 'FALSE', businessPhones: ['+1 555'], n: 7 }, ['x']), NO_LINKS);
  assert.deepEqual(ok.values, { 'user.active': false, 'user.displayName': '+1 555', 'user.email': 'Alice@Contoso.com', groups: ['x'], 'property.n': 7 });

  const bad = await mapping.evaluate(user({ accountEnabled: 'perhaps', businessPhones: ['+1 555', '+1 556'] }), NO_LINKS);
  assert.deepEqual(bad.errors.map((e) => e.field), ['user.active', 'user.displayName']);
  assert.match(bad.errors[0].message, /expected true\/false but got "perhaps"/);
  assert.match(bad.errors[1].message, /list of 2 values/);
  assert.equal(bad.values['user.email'], 'Alice@Contoso.com', 'the other fields are still mapped');
  assert.equal('user.active' in bad.values, false);
});

test('maxLength from the capabilities is enforced per user', async () => {
  const mapping = compile([rule('user.username', 'userPrincipalName')]);
  const mapped = await mapping.evaluate(user({ userPrincipalName: `${'x'.repeat(300)}@contoso.com` }), NO_LINKS);
  assert.match(mapped.errors[0]?.message ?? '', /312 characters long; the target accepts at most 255/);
});

test('manager.targetUsername resolves through the links: value, empty, or pending', async () => {
  const mapping = compile([rule('property.manager', 'manager.targetUsername', { whenEmpty: 'clear' }), rule('user.displayName', 'displayName')]);
  const withManager = user({ manager: { id: 'm1', mail: 'boss@contoso.com' } });

  const known = await mapping.evaluate(withManager, links({ m1: 'boss' }));
  assert.equal(known.values['property.manager'], 'boss');

  const notSynced = await mapping.evaluate(withManager, links({ m1: null }));
  assert.equal(notSynced.values['property.manager'], null, 'null from the links is empty: whenEmpty applies');
  assert.deepEqual(notSynced.pending, []);

  const later = await mapping.evaluate(withManager, links());
  assert.deepEqual(later.pending, ['property.manager']);
  assert.equal('property.manager' in later.values, false);
  assert.equal(later.values['user.displayName'], 'Alice Example', 'other fields are not held back');

  const ctx = links();
  const noManager = await mapping.evaluate(user({ manager: null }), ctx);
  assert.deepEqual(noManager.pending, []);
  assert.equal(noManager.values['property.manager'], null);
  assert.deepEqual(ctx.asked, [], 'nothing to look up without a manager');
});

test('expressions using $targetUsername or manager.targetUsername become pending when unresolved', async () => {
  const mapping = compile([
    rule('property.a', '$firstNonEmpty($targetUsername(manager.id), "nobody")'),
    rule('property.b', '"mgr:" & manager.targetUsername'),
    rule('property.c', 'manager.mail'),
  ]);
  const u = user({ manager: { id: 'm1', mail: 'boss@contoso.com' } });
  const later = await mapping.evaluate(u, links());
  assert.deepEqual(later.pending, ['property.a', 'property.b']);
  assert.deepEqual(later.values, { 'property.c': 'boss@contoso.com' });

  const known = await mapping.evaluate(u, links({ m1: 'boss' }));
  assert.deepEqual(known.values, { 'property.a': 'boss', 'property.b': 'mgr:boss', 'property.c': 'boss@contoso.com' });
  assert.equal((u.attrs.manager as Record<string, unknown>).targetUsername, undefined, 'the user record is not modified');

  const notSynced = await mapping.evaluate(u, links({ m1: null }));
  assert.deepEqual(notSynced.values, { 'property.a': 'nobody', 'property.b': 'mgr:', 'property.c': 'boss@contoso.com' });
});

test('a failing link lookup is an error for that field, not a crash', async () => {
  const mapping = compile([rule('property.manager', 'manager.targetUsername'), rule('user.displayName', 'displayName')]);
  const mapped = await mapping.evaluate(user({ manager: { id: 'm1' } }), {
    targetUsernameOf() {
      throw new Error('link store unavailable');
    },
  });
  assert.deepEqual(mapped.errors, [{ field: 'property.manager', message: 'link store unavailable' }]);
  assert.equal(mapped.values['user.displayName'], 'Alice Example');
});

// The test-level timeout only turns a broken timebox into a failure instead of a hang.
test('an endless expression fails only the user that triggers it', { timeout: 60_000 }, async () => {
  const mapping = compile(
    [
      // A base case that is never reached: not refused at save time, stopped at run time.
      rule('property.code', 'department = "Loop" ? ($spin := function($n) { $n >= 0 ? $spin($n + 1) : 0 }; $spin(0)) : $upper(department)'),
      rule('user.displayName', 'displayName'),
    ],
    // Long enough that the quick users never hit it on a busy machine; the loop still stops.
    200,
  );
  const users = [user({ department: 'Sales' }), user({ department: 'Loop' }), user({ department: 'Legal' })];
  const results = await Promise.all(users.map((u) => mapping.evaluate(u, NO_LINKS)));
  assert.equal(results[0].values['property.code'], 'SALES');
  assert.equal(results[2].values['property.code'], 'LEGAL');
  assert.deepEqual(results[1].errors.map((e) => e.field), ['property.code']);
  assert.match(results[1].errors[0].message, /took longer than 200 ms and was stopped/);
  assert.equal(results[1].values['user.displayName'], 'Alice Example');
});

test('the compiled mapping carries its needs and a frozen copy of its rules', () => {
  const rules = [rule('user.email', '$firstNonEmpty(mail, $guestToMail(userPrincipalName))'), rule('groups', 'groups'), rule('property.m', 'manager.mail')];
  const mapping = compile(rules);
  assert.deepEqual(mapping.needs, { attributes: ['mail', 'userPrincipalName'], groups: true, manager: true });
  assert.deepEqual(mapping.rules, rules);
  assert.ok(Object.isFrozen(mapping.rules) && Object.isFrozen(mapping.rules[0]), 'Object.isFrozen(mapping.rules) && Object.isFrozen(mapping.rules[0])');
});

test('confluence-style profile fields are written as text', async () => {
  const mapping = compileMapping([rule('confluence.profile.phone', '$firstNonEmpty(businessPhones[0], mobilePhone)')], CONFLUENCE_LIKE);
  const mapped = await mapping.evaluate(user({ businessPhones: [], mobilePhone: 4155550100 }), NO_LINKS);
  assert.deepEqual(mapped.values, { 'confluence.profile.phone': '4155550100' });
});

test('when the link store fails, the rules that read the manager\'s username fail and the others still map', async () => {
  const mapping = compile([rule('property.a', '"by " & manager.targetUsername'), rule('property.b', '"also " & manager.targetUsername'), rule('property.c', '$upper(department) & "!"')]);
  const mapped = await mapping.evaluate(user({ manager: { id: 'm1' } }), {
    targetUsernameOf() {
      throw new Error('link store unavailable');
    },
  });
  assert.deepEqual(mapped.errors, [
    { field: 'property.a', message: 'link store unavailable' },
    { field: 'property.b', message: 'link store unavailable' },
  ]);
  assert.deepEqual(mapped.values, { 'property.c': 'FINANCE!' });
  assert.deepEqual(mapped.pending, []);
});

test('a timeout that would disable the timebox is refused', () => {
  for (const timeoutMs of [0, -5, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(() => compileMapping([], JIRA_LIKE, { timeoutMs }), (e: unknown) => isIdsyncError(e, 'CONFIG') && /invalid mapping expression timeout/.test(e.message), String(timeoutMs));
  }
});

test('account text is trimmed as the products store it; other text is written as mapped', async () => {
  const m = compile([rule('user.displayName', 'displayName'), rule('user.email', 'mail'), rule('property.note', 'displayName')]);
  const out = await m.evaluate(user({ displayName: '  Ada Lovelace ', mail: ' ada@example.com\t' }), NO_LINKS);
  assert.equal(out.values['user.displayName'], 'Ada Lovelace');
  assert.equal(out.values['user.email'], 'ada@example.com');
  assert.equal(out.values['property.note'], '  Ada Lovelace ');
});
