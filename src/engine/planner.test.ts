import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyToSnapshot, missingForCreate, plan, sameValue } from './planner.ts';
import type { TargetCapabilities } from '../core/types.ts';

const base = { flows: {}, managedGroups: [] as string[], groupsAreActual: false };

test('update: only differing fields change, with before and after', () => {
  const p = plan({ ...base, op: 'update', desired: { 'user.displayName': 'Ada', 'property.dept': { a: 1, b: [2] } }, current: { 'user.displayName': 'Ada', 'property.dept': { b: [2], a: 1 } } });
  assert.deepEqual(p.changes, []);
  const q = plan({ ...base, op: 'update', desired: { 'user.displayName': 'Ada L.' }, current: { 'user.displayName': 'Ada' } });
  assert.deepEqual(q.changes, [{ field: 'user.displayName', before: 'Ada', after: 'Ada L.' }]);
});

test('clearing an empty field is no change; clearing a set one is', () => {
  assert.deepEqual(plan({ ...base, op: 'update', desired: { 'property.x': null }, current: {} }).changes, []);
  assert.deepEqual(plan({ ...base, op: 'update', desired: { 'property.x': null }, current: { 'property.x': 'v' } }).changes, [{ field: 'property.x', before: 'v', after: null }]);
});

test('flows: onCreate only on create; ifEmpty asks for the value once, then respects it', () => {
  const flows = { 'property.a': 'onCreate' as const, 'property.b': 'ifEmpty' as const };
  const desired = { 'property.a': 1, 'property.b': 2 };
  assert.equal(plan({ ...base, flows, op: 'create', desired, current: {} }).changes.length, 2);
  const unknown = plan({ ...base, flows, op: 'update', desired, current: {} });
  assert.deepEqual(unknown.changes, []);
  assert.deepEqual(unknown.unknownIfEmpty, ['property.b']);
  assert.deepEqual(plan({ ...base, flows, op: 'update', desired, current: { 'property.b': 'set by hand' } }).changes, []);
  assert.deepEqual(plan({ ...base, flows, op: 'update', desired, current: { 'property.b': null } }).changes.map((c) => c.field), ['property.b']);
});

test('groups: snapshot mode removes managed groups no longer wanted', () => {
  const p = plan({ ...base, op: 'update', desired: { groups: ['a', 'c'] }, current: { groups: ['a', 'b'] }, managedGroups: ['a', 'b'] });
  assert.deepEqual(p.changes, [{ field: 'groups', before: ['a', 'b'], after: ['a', 'c'], add: ['c'], remove: ['b'] }]);
});

test('groups: with actual membership, manual groups stay and case differences are no change', () => {
  const p = plan({ op: 'update', flows: {}, groupsAreActual: true, desired: { groups: ['Developers', 'eng'] }, current: { groups: ['developers', 'manual', 'old'] }, managedGroups: ['old'] });
  assert.deepEqual(p.changes, [{ field: 'groups', before: ['developers', 'manual', 'old'], after: ['developers', 'eng', 'manual'], add: ['eng'], remove: ['old'] }]);
});

test('the snapshot keeps only managed groups and successfully written fields', () => {
  const changes = [
    { field: 'groups', before: ['manual'], after: ['a', 'manual'], add: ['a'], remove: [] },
    { field: 'property.x', before: undefined, after: 'new' },
    { field: 'property.y', before: 'old', after: 'bad' },
    { field: 'property.z', before: 'gone', after: null },
  ];
  const next = applyToSnapshot({ 'property.y': 'old', 'property.z': 'gone' }, changes, new Set(['groups', 'property.x', 'property.z']), { groups: ['a'], 'property.x': 'new', 'property.y': 'bad', 'property.z': null });
  assert.deepEqual(next, { groups: ['a'], 'property.x': 'new', 'property.y': 'old' });
});

test('sameValue compares JSON deeply, ignoring key order', () => {
  assert.equal(sameValue({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] }), true);
  assert.equal(sameValue([1, 2], [2, 1]), false);
  assert.equal(sameValue('1', 1), false);
  assert.equal(sameValue(null, undefined), false);
});

test('missingForCreate names the required-on-create fields a plan leaves empty, and nothing else', () => {
  const caps: TargetCapabilities = {
    kind: 'x',
    canCreateUsers: true,
    lifecycle: { disable: true, delete: false, anonymise: false, renameUsername: false, removeAccess: false },
    fields: [
      { name: 'user.username', type: 'string', label: 'Username', requiredOnCreate: true },
      { name: 'user.email', type: 'string', label: 'Email', requiredOnCreate: true },
      { name: 'user.displayName', type: 'string', label: 'Name', requiredOnCreate: true },
      { name: 'property.', type: 'json', label: 'Property', requiredOnCreate: true },
      { name: 'user.active', type: 'boolean', label: 'Active' },
    ],
  };
  assert.deepEqual(missingForCreate(caps, { 'user.username': 'ann', 'user.email': '', 'user.displayName': null }), ['user.email', 'user.displayName']);
  assert.deepEqual(missingForCreate(caps, { 'user.username': 'ann', 'user.email': 'a@x', 'user.displayName': 'Ann' }), []);
});
