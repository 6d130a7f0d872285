import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeExpression } from './ast.ts';
import { parseExpression } from './expressions.ts';
import { collectNeeds } from './needs.ts';

const needs = (...sources: string[]) => collectNeeds(sources.map((source) => ({ source })));

test('plain paths contribute their top-level attribute', () => {
  assert.deepEqual(needs('department', 'onPremisesExtensionAttributes.extensionAttribute3', 'customSecurityAttributes.Engineering.CostCenter', 'extension_5bfc8fdacfc943a9a6de214ea9d15fdb_costCenter'), {
    attributes: ['customSecurityAttributes', 'department', 'extension_5bfc8fdacfc943a9a6de214ea9d15fdb_costCenter', 'onPremisesExtensionAttributes'],
    groups: false,
    manager: false,
  });
});

test('groups and manager are flags, not attributes; id is always there', () => {
  assert.deepEqual(needs('groups'), { attributes: [], groups: true, manager: false });
  assert.deepEqual(needs('manager.mail'), { attributes: [], groups: false, manager: true });
  assert.deepEqual(needs('manager.targetUsername'), { attributes: [], groups: false, manager: true });
  assert.deepEqual(needs('id'), { attributes: [], groups: false, manager: false });
});

test('expressions contribute every attribute they read from the record', () => {
  assert.deepEqual(needs('$firstNonEmpty(mail, $guestToMail(userPrincipalName))').attributes, ['mail', 'userPrincipalName']);
  assert.deepEqual(needs('$joinNonEmpty([givenName, surname], " ")').attributes, ['givenName', 'surname']);
  assert.deepEqual(needs('accountEnabled ? "on" : department').attributes, ['accountEnabled', 'department']);
  assert.deepEqual(needs('$$.jobTitle & $.officeLocation').attributes, ['jobTitle', 'officeLocation']);
  assert.deepEqual(needs('($d := department; $upper($d))').attributes, ['department']);
  assert.deepEqual(needs('$targetUsername(manager.id)'), { attributes: [], groups: false, manager: true });
  assert.deepEqual(needs('"G:" & $join(groups[$contains($, "Staff")], ",")'), { attributes: [], groups: true, manager: false });
});

test('names relative to a step are not top-level attributes', () => {
  // `type`, `value` and `issuer` belong to the list elements, not to the user.
  assert.deepEqual(needs('emails[type = "work"].value').attributes, ['emails']);
  assert.deepEqual(needs('identities.issuer').attributes, ['identities']);
  assert.deepEqual(needs('otherMails[$ != $$.mail][0]').attributes, ['mail', 'otherMails']);
  assert.deepEqual(needs('onPremisesExtensionAttributes.{"cc": extensionAttribute3}').attributes, ['onPremisesExtensionAttributes']);
});

test('lambda bodies are read conservatively as record context', () => {
  assert.deepEqual(needs('$map(businessPhones, function($p) { $p & " " & country })').attributes, ['businessPhones', 'country']);
});

test('an expression reading the whole record asks for groups and manager too', () => {
  assert.deepEqual(needs('$keys($)'), { attributes: [], groups: true, manager: true });
  assert.deepEqual(needs('**.mail'), { attributes: [], groups: true, manager: true });
});

test('needs of several rules are merged, sorted and de-duplicated; broken expressions add nothing', () => {
  assert.deepEqual(needs('mail', '$lower(mail)', 'displayName', '$lower(', 'groups'), { attributes: ['displayName', 'mail'], groups: true, manager: false });
});

test('a reference ends at the first filtered step', () => {
  const parsed = parseExpression('emails[type = "work"].value & businessPhones[0] & onPremisesExtensionAttributes.extensionAttribute3');
  assert.ok(parsed.ok, 'parsed.ok');
  assert.deepEqual(analyzeExpression(parsed.expression.ast()).references.map((r) => r.path), ['emails', 'businessPhones', 'onPremisesExtensionAttributes.extensionAttribute3']);
});
