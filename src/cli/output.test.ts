import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatChange } from './output.ts';

test('an empty value reads "(empty)" in the CLI as in the admin UI, whether missing, null or blank', () => {
  assert.equal(formatChange({ field: 'user.email', before: undefined, after: 'a@example.com' }), 'user.email: (empty) → "a@example.com"');
  assert.equal(formatChange({ field: 'property.costCenter', before: '4711', after: null }), 'property.costCenter: "4711" → (empty)');
  assert.equal(formatChange({ field: 'property.phone', before: '', after: '+49' }), 'property.phone: (empty) → "+49"');
  assert.equal(formatChange({ field: 'groups', before: [], after: ['a'], add: ['a'] }), 'groups: +a');
});
