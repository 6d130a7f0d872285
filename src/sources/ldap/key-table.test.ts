// KeyTable must behave as an exact Map<string, number>: checked against a Map over many keys,
// growth, overwrites, non-ASCII and long keys, and keys that differ in one byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyTable } from './key-table.ts';

test('KeyTable agrees with a Map: get, set, overwrite, entries, across growth', () => {
  const table = new KeyTable();
  const ref = new Map<string, number>();
  const keys: string[] = [];
  for (let n = 0; n < 30_000; n++) keys.push(`uid=user${n},ou=people,dc=example,dc=org`);
  keys.push('cn=zoë ñandú,ou=gruppen,dc=beispiel,dc=de', 'uid:' + 'x'.repeat(5000), '', 'uid:é');
  for (const [i, k] of keys.entries()) {
    table.set(k, i % 97);
    ref.set(k, i % 97);
  }
  for (const [i, k] of keys.entries()) if (i % 3 === 0) {
    table.set(k, i % 1000 + 1000);
    ref.set(k, i % 1000 + 1000);
  }
  assert.equal(table.size, ref.size, 'one entry per distinct key');
  for (const k of keys) assert.equal(table.get(k), ref.get(k), `value of ${k.slice(0, 60)}`);
  for (const k of ['uid=user1,ou=people,dc=example,dc=orh', 'uid=user30000,ou=people,dc=example,dc=org', 'uid:e', 'uid=user1']) assert.equal(table.get(k), undefined, `${k} was never set`);
  const back = new Map(table.entries());
  assert.deepEqual([...back].sort(), [...ref].sort(), 'entries give back every key and value');
  assert.throws(() => table.set('k', -1), RangeError, 'negative values refused');
});
