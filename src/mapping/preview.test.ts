import { test } from 'node:test';
import assert from 'node:assert/strict';
import { previewMapping, previewRule } from './preview.ts';
import { JIRA_LIKE, links, rule, user } from './testing.ts';

const sample = user({ userPrincipalName: 'jane.doe_fabrikam.com#EXT#@contoso.onmicrosoft.com', mail: null, manager: { id: 'm1' } }, ['B', 'A']);

test('a preview shows the value the rule writes for the sample user', async () => {
  assert.deepEqual(await previewRule(rule('user.email', '$firstNonEmpty(mail, $guestToMail(userPrincipalName))'), sample), {
    ok: true,
    value: 'jane.doe@fabrikam.com',
    empty: false,
  });
  assert.deepEqual(await previewRule(rule('groups', 'groups'), sample), { ok: true, value: ['A', 'B'], empty: false });
});

test('a preview shows empty results with their default or clear', async () => {
  assert.deepEqual(await previewRule(rule('property.x', 'mail'), sample), { ok: true, value: undefined, empty: true });
  assert.deepEqual(await previewRule(rule('property.x', 'mail', { default: 'none' }), sample), { ok: true, value: 'none', empty: true });
  assert.deepEqual(await previewRule(rule('property.x', 'mail', { whenEmpty: 'clear' }), sample), { ok: true, value: null, empty: true });
});

test('a preview reports errors instead of throwing', async () => {
  const syntax = await previewRule(rule('property.x', '$lower(mail'), sample);
  assert.deepEqual(syntax, { ok: false, error: 'expression error at position 11: Expected ")" before end of expression' });
  const coercion = await previewRule(rule('user.active', 'department'), sample);
  assert.equal(coercion.ok, false);
  assert.match(!coercion.ok ? coercion.error : '', /expected true\/false but got "Finance"/);
});

test('without capabilities the field type follows the naming convention; with them, the target decides', async () => {
  assert.deepEqual(await previewRule(rule('user.active', '"true"'), sample), { ok: true, value: true, empty: false });
  assert.deepEqual(await previewRule(rule('property.n', '"42"'), sample), { ok: true, value: '42', empty: false });
  const strict = { ...JIRA_LIKE, fields: [{ name: 'property.', type: 'string' as const, label: 'p', maxLength: 3 }] };
  const tooLong = await previewRule(rule('property.n', '"12345"'), sample, strict);
  assert.match(!tooLong.ok ? tooLong.error : '', /at most 3/, 'capabilities may be given as the third argument');
  const viaOptions = await previewRule(rule('property.n', '"12345"'), sample, links(), { capabilities: strict });
  assert.equal(viaOptions.ok, false);
});

test('a reference not known yet previews as pending; known links resolve', async () => {
  assert.deepEqual(await previewRule(rule('property.m', 'manager.targetUsername'), sample), { ok: true, value: undefined, empty: true, pending: true });
  assert.deepEqual(await previewRule(rule('property.m', 'manager.targetUsername'), sample, links({ m1: 'boss' })), { ok: true, value: 'boss', empty: false });
});

test('previewMapping previews each row on its own, in order', async () => {
  const results = await previewMapping(
    [rule('user.displayName', 'displayName'), rule('property.bad', '$lower('), rule('property.m', '"by " & manager.targetUsername'), rule('user.displayName', 'department')],
    sample,
    links({ m1: 'boss' }),
  );
  assert.deepEqual(results.map((r) => (r.ok ? r.value : 'error')), ['Alice Example', 'error', 'by boss', 'Finance']);
});
