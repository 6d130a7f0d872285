// GuidMap must be exact: every id set is found with its last value, no id not set is, whatever
// its form, across the table's growth and however its GUIDs collide; a GUID is never confused
// with the same text in another case.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { GuidMap, GuidSet, isCanonicalGuid } from './guid-map.ts';

/** A GUID from four 32-bit words, in the text form the table decodes. */
function fromWords(w0: number, w1: number, w2: number, w3: number): string {
  const h = [w0, w1, w2, w3].map((w) => (w >>> 0).toString(16).padStart(8, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

test('values found across growth, absent ids absent, one digit off is another id', () => {
  const map = new GuidMap();
  const ids: string[] = Array.from({ length: 20_000 }, () => randomUUID());
  ids.forEach((id, i) => map.set(id, i));
  assert.equal(map.size, ids.length, 'one entry per id');
  ids.forEach((id, i) => assert.equal(map.get(id), i, `${id}`));
  ids.forEach((id, i) => map.set(id, i * 2)); // overwriting keeps one entry
  assert.equal(map.size, ids.length, 'setting again adds nothing');
  ids.forEach((id, i) => assert.equal(map.get(id), i * 2, `${id} overwritten`));
  const known = new Set(ids);
  for (const id of ids.slice(0, 2000)) {
    const last = id.slice(0, -1) + (id.endsWith('0') ? '1' : '0');
    const first = (id.startsWith('0') ? '1' : '0') + id.slice(1);
    if (!known.has(last)) assert.equal(map.get(last), undefined, `${last} was never set`);
    if (!known.has(first)) assert.equal(map.has(first), false, `${first} was never set`);
  }
  assert.equal(map.otherIds, 0, 'canonical GUIDs all in the typed table');
  assert.ok(map.tableBytes <= ids.length * 20 * 4, `GUIDs held off the heap, ${map.tableBytes} bytes`);
  assert.equal(map.get(fromWords(0, 0, 0, 0)), undefined, 'the all-zero GUID (all-zero key words) is not there');
});

test('GUIDs that all hash to one slot (same first and last word) are still told apart', () => {
  const map = new GuidMap();
  // The slot is a hash of words 0 and 3 only: 3,000 ids differing in words 1 and 2 share one
  // probe chain through several growths.
  const ids = Array.from({ length: 3000 }, (_, i) => fromWords(0xdeadbeef, i, i * 7919, 0x12345678));
  ids.forEach((id, i) => map.set(id, i + 1));
  ids.forEach((id, i) => assert.equal(map.get(id), i + 1, `${id}`));
  assert.equal(map.get(fromWords(0xdeadbeef, 3001, 1, 0x12345678)), undefined, 'an id on the same chain never set');
  assert.equal(map.get(fromWords(0xdeadbeef, 5, 5 * 7919, 0x12345679)), undefined, 'last word differs');
  assert.equal(map.size, ids.length);
});

test('ids that are not canonical GUIDs are kept exactly as they are, apart from GUIDs', () => {
  const map = new GuidMap();
  const guid = '6f9619ff-8b86-d011-b42d-00c04fc964ff';
  const others = [guid.toUpperCase(), `{${guid}}`, guid.replaceAll('-', ''), `${guid} `, 'S-1-5-21-1-2-3-1001', 'uid=alice,ou=people,dc=ex', '', '6f9619ff-8b86-d011-b42d-00c04fc964fg', '6f9619ff8-b86-d011-b42d-00c04fc964ff', '6f9619ff-8b86-d011-b42d-00c04fc964f\u00e9', '6f9619ff-8b86-d011-b42d-00c04fc964f/', '6f9619ff-8b86-d011-b42d-00c04fc964f:'];
  for (const id of others) assert.equal(isCanonicalGuid(id), false, `${JSON.stringify(id)} is no canonical GUID`);
  others.forEach((id, i) => map.set(id, 100 + i));
  assert.equal(map.get(guid), undefined, 'no other form makes the canonical one present');
  map.set(guid, 7);
  assert.equal(map.get(guid), 7);
  others.forEach((id, i) => assert.equal(map.get(id), 100 + i, `${JSON.stringify(id)} kept as it is`));
  assert.equal(map.get('uid=bob,ou=people,dc=ex'), undefined, 'an id never set is absent');
  assert.equal(map.size, others.length + 1);
  assert.equal(map.otherIds, others.length, 'only the canonical GUID enters the typed table');
});

test('values out of range are refused rather than stored wrapped', () => {
  const map = new GuidMap();
  const id = randomUUID();
  for (const bad of [-1, 0.5, 2 ** 31, Number.NaN]) assert.throws(() => map.set(id, bad), RangeError, `${bad}`);
  assert.equal(map.has(id), false, 'a refused value leaves no entry');
  map.set(id, 0x7ffffffe);
  assert.equal(map.get(id), 0x7ffffffe, 'the largest value round-trips');
});

test('GuidSet: added once, found, exact for every form', () => {
  const set = new GuidSet();
  const ids: string[] = Array.from({ length: 5000 }, () => randomUUID());
  ids.push('S-1-5-21-1-2-3-1001', ids[0]!.toUpperCase());
  for (const id of ids) assert.equal(set.add(id), true, `${id} is new`);
  for (const id of ids) assert.equal(set.add(id), false, `${id} added twice counts once`);
  for (const id of ids) assert.ok(set.has(id), `${id} found`);
  assert.equal(set.has(randomUUID()), false, 'a fresh id is absent');
  assert.equal(set.size, ids.length);
});
