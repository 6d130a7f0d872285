// PATCH semantics (RFC 7644 §3.5.2) on stored resources, one case per form of path and op.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyPatch, patchOps } from '../../src/sources/scim/patch.ts';
import { normaliseAttributes, ScimError, ENTERPRISE_SCHEMA } from '../../src/sources/scim/model.ts';

const user = () => normaliseAttributes({
  userName: 'a@x', name: { givenName: 'A', familyName: 'B' },
  emails: [{ value: 'a@x', type: 'work', primary: true }, { value: 'a@home', type: 'home' }],
  [ENTERPRISE_SCHEMA]: { department: 'Sales' },
}, 'User');
const ops = (...o: unknown[]) => patchOps({ Operations: o });
const patch = (res: Record<string, unknown>, ...o: unknown[]) => normaliseAttributes(applyPatch(res, ops(...o), 'User').resource, 'User');

test('add appends to a multi-valued attribute without duplicating', () => {
  const r = patch(user(), { op: 'add', path: 'emails', value: [{ value: 'a@other', type: 'other' }, { value: 'a@x', type: 'work', primary: true }] });
  assert.deepEqual((r.emails as any[]).map((e) => e.value), ['a@x', 'a@home', 'a@other']);
});

test('replace of a multi-valued attribute replaces the whole list', () => {
  const r = patch(user(), { op: 'replace', path: 'emails', value: [{ value: 'only@x', type: 'work' }] });
  assert.deepEqual(r.emails, [{ value: 'only@x', type: 'work' }]);
});

test('a value filter selects elements to replace, to change a sub-attribute of, or to remove', () => {
  assert.equal((patch(user(), { op: 'replace', path: 'emails[type eq "home"].value', value: 'new@home' }).emails as any[])[1].value, 'new@home');
  assert.deepEqual((patch(user(), { op: 'remove', path: 'emails[type eq "home"]' }).emails as any[]).map((e) => e.type), ['work']);
  const noPrimary = patch(user(), { op: 'remove', path: 'emails[type eq "work"].primary' });
  assert.equal((noPrimary.emails as any[])[0].primary, undefined);
});

test('a filter that matches nothing creates the element it names, or is noTarget', () => {
  const r = patch(user(), { op: 'replace', path: 'phoneNumbers[type eq "mobile"].value', value: '+41 1' });
  assert.deepEqual(r.phoneNumbers, [{ type: 'mobile', value: '+41 1' }]);
  assert.throws(() => patch(user(), { op: 'replace', path: 'emails[value co "zzz"].value', value: 'x' }), (e: unknown) => e instanceof ScimError && e.scimType === 'noTarget');
});

test('sub-attributes, URN-qualified extension attributes and no-path values whose keys are paths', () => {
  assert.equal((patch(user(), { op: 'replace', path: 'name.givenName', value: 'Z' }).name as any).givenName, 'Z');
  assert.equal((patch(user(), { op: 'replace', path: `${ENTERPRISE_SCHEMA}:department`, value: 'Ops' })[ENTERPRISE_SCHEMA] as any).department, 'Ops');
  const r = patch(user(), { op: 'Replace', value: { 'name.familyName': 'Q', [`${ENTERPRISE_SCHEMA}:costCenter`]: 'C1', displayName: 'D', ACTIVE: 'False' } });
  assert.equal((r.name as any).familyName, 'Q');
  assert.equal((r[ENTERPRISE_SCHEMA] as any).costCenter, 'C1');
  assert.equal((r[ENTERPRISE_SCHEMA] as any).department, 'Sales', 'other extension attributes stay');
  assert.equal(r.displayName, 'D');
  assert.equal(r.active, false, 'attribute names are case-insensitive and "False" is false');
});

test('a custom extension object given without a path is merged under its URN', () => {
  const urn = 'urn:ietf:params:scim:schemas:extension:acme:2.0:User';
  const r = patch(user(), { op: 'add', value: { [urn]: { badge: '7' } } });
  assert.deepEqual(r[urn], { badge: '7' });
});

test('remove of an attribute, and of the manager', () => {
  assert.equal(patch(user(), { op: 'remove', path: 'name' }).name, undefined);
  const withManager = patch(user(), { op: 'add', path: `${ENTERPRISE_SCHEMA}:manager`, value: 'm-1' });
  assert.deepEqual((withManager[ENTERPRISE_SCHEMA] as any).manager, { value: 'm-1' });
  assert.equal((patch(withManager, { op: 'remove', path: `${ENTERPRISE_SCHEMA}:manager` })[ENTERPRISE_SCHEMA] as any).manager, undefined);
  assert.equal((patch(withManager, { op: 'replace', path: `${ENTERPRISE_SCHEMA}:manager`, value: '' })[ENTERPRISE_SCHEMA] as any).manager, undefined, 'an empty manager clears it');
});

test('group members: add, remove by filter or value list, replace all', () => {
  const g = (...o: unknown[]) => applyPatch({ displayName: 'g' }, ops(...o), 'Group').members;
  assert.deepEqual(g({ op: 'add', path: 'members', value: [{ value: 'u1' }, { value: 'u2' }] }).add, ['u1', 'u2']);
  assert.deepEqual(g({ op: 'remove', path: 'members[value eq "u1"]' }).remove, ['u1']);
  assert.deepEqual(g({ op: 'remove', path: 'members', value: [{ value: 'u2' }] }).remove, ['u2']);
  const all = g({ op: 'replace', path: 'members', value: [{ value: 'u3' }] });
  assert.equal(all.replaceAll, true);
  assert.deepEqual(all.add, ['u3']);
  assert.equal(g({ op: 'remove', path: 'members' }).clear, true);
});
