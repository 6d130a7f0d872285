import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PrefixIndex } from './prefix-index.ts';

test('finds every id with a term starting with the prefix, before and after merging', () => {
  const index = new PrefixIndex();
  const expected = new Set<string>();
  for (let i = 0; i < 5000; i++) {
    const name = `user${i}`;
    index.add(`k${i}`, [name, `${name}@example.com`, i % 2 ? 'Ada Lovelace' : 'Bob Builder']);
    if (name.startsWith('user12')) expected.add(`k${i}`);
  }
  index.add('late', ['user12-late']);
  expected.add('late');
  assert.deepEqual([...index.candidates('USER12')].sort(), [...expected].sort());
  assert.equal(index.candidates('bob builder').size, 2500);
  assert.equal(index.candidates('zzz').size, 0);
  index.clear();
  assert.equal(index.candidates('user').size, 0);
});
