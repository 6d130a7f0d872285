// IdSet must be exact: every id added is found, no id not added is, whatever its form, across
// the table's growth, and a GUID is never confused with the same text in another case.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { IdSet } from './id-set.ts';

test('exact membership across growth: added ids found once, others never', () => {
  const set = new IdSet();
  const ids: string[] = Array.from({ length: 20_000 }, () => randomUUID());
  for (const id of ids) assert.equal(set.add(id), true, `${id} is new`);
  for (const id of ids) assert.equal(set.add(id), false, `${id} added twice counts once`);
  assert.equal(set.size, ids.length, 'one entry per id');
  for (const id of ids) assert.ok(set.has(id), `${id} found`);
  // Differing in one hex digit only, the last or the first: must not be found.
  for (const id of ids.slice(0, 2000)) {
    const last = id.slice(0, -1) + (id.endsWith('0') ? '1' : '0');
    const first = (id.startsWith('0') ? '1' : '0') + id.slice(1);
    if (!ids.includes(last)) assert.equal(set.has(last), false, `${last} was never added`);
    if (!ids.includes(first)) assert.equal(set.has(first), false, `${first} was never added`);
  }
  assert.ok(set.tableBytes < ids.length * 40, `GUIDs held off the heap, ${set.tableBytes} bytes`);
});

test('ids that are not canonical GUIDs are kept as they are, apart from GUIDs', () => {
  const set = new IdSet();
  const guid = '6f9619ff-8b86-d011-b42d-00c04fc964ff';
  set.add(guid.toUpperCase());
  assert.equal(set.has(guid), false, 'the upper-case form is another id');
  assert.equal(set.add(guid), true, 'the canonical form is new');
  set.add('S-1-5-21-1-2-3-1001');
  set.add('uid=alice,ou=people,dc=ex');
  assert.ok(set.has('S-1-5-21-1-2-3-1001') && set.has('uid=alice,ou=people,dc=ex') && set.has(guid.toUpperCase()), 'other ids found');
  assert.equal(set.has('uid=bob,ou=people,dc=ex'), false, 'an id never added is not found');
  assert.equal(set.size, 4, 'four distinct ids');
});
