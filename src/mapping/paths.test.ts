import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePlainPath, readSegments, readUserPath } from './paths.ts';
import { user } from './testing.ts';

test('plain paths are dotted identifiers; anything else is an expression', () => {
  assert.deepEqual(parsePlainPath('department'), ['department']);
  assert.deepEqual(parsePlainPath(' manager.mail '), ['manager', 'mail']);
  assert.deepEqual(parsePlainPath('customSecurityAttributes.Engineering.CostCenter'), ['customSecurityAttributes', 'Engineering', 'CostCenter']);
  assert.deepEqual(parsePlainPath('extension_5bfc8fdacfc943a9a6de214ea9d15fdb_costCenter'), ['extension_5bfc8fdacfc943a9a6de214ea9d15fdb_costCenter']);
  for (const expression of ['$lower(mail)', 'businessPhones[0]', 'a & b', 'a..b', '.a', 'a.', '1abc', 'null', 'true', '"x"', '']) {
    assert.equal(parsePlainPath(expression), null, expression);
  }
});

test('a nested path reads through objects', () => {
  const u = user({ onPremisesExtensionAttributes: { extensionAttribute3: 'CC-7' }, manager: { id: 'm', mail: 'boss@contoso.com' } });
  assert.equal(readUserPath(u, ['onPremisesExtensionAttributes', 'extensionAttribute3']), 'CC-7');
  assert.equal(readUserPath(u, ['manager', 'mail']), 'boss@contoso.com');
});

test('missing attributes and missing parents read as undefined, never throw', () => {
  const u = user({ manager: null, onPremisesExtensionAttributes: 'not an object' });
  assert.equal(readUserPath(u, ['nope']), undefined);
  assert.equal(readUserPath(u, ['manager', 'mail']), undefined);
  assert.equal(readUserPath(u, ['onPremisesExtensionAttributes', 'extensionAttribute3']), undefined);
  assert.equal(readUserPath(u, ['department', 'length']), undefined, 'no property access on strings');
  assert.equal(readUserPath(u, ['toString']), undefined, 'inherited members are not attributes');
});

test('id and groups come from the user record, not from attrs', () => {
  const u = user({ id: 'attr-id', groups: ['from-attrs'] }, ['Staff']);
  assert.equal(readUserPath(u, ['id']), u.id);
  assert.deepEqual(readUserPath(u, ['groups']), ['Staff']);
});

test('lists on the way are walked and flattened like JSONata does', () => {
  const data = {
    identities: [
      { issuer: 'contoso.com', tags: ['a', 'b'] },
      { issuer: 'fabrikam.com', tags: ['c'] },
      { other: 1 },
    ],
    single: [{ issuer: 'only.com' }],
    phones: ['+1 555'],
    cost: { CostCenter: [1001] },
  };
  assert.deepEqual(readSegments(data, ['identities', 'issuer']), ['contoso.com', 'fabrikam.com']);
  assert.deepEqual(readSegments(data, ['identities', 'tags']), ['a', 'b', 'c']);
  assert.equal(readSegments(data, ['single', 'issuer']), 'only.com', 'one result is the value itself');
  assert.equal(readSegments(data, ['identities', 'missing']), undefined);
  assert.deepEqual(readSegments(data, ['phones']), ['+1 555'], 'a list read directly stays a list');
  assert.deepEqual(readSegments(data, ['cost', 'CostCenter']), [1001]);
});
