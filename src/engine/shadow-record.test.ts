// The record fingerprint noted on a user object (the link fingerprint builds on it) belongs to
// that object only: a copy of the user, whose attrs may differ, must not carry it, and it is not
// part of what is serialized of the user.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SourceUser } from '../core/types.ts';
import { noteRecordFingerprint, recordFingerprintOf, recordOf, shadowFingerprint } from './shadow-record.ts';

test('a noted record fingerprint stays with its object: not copied by a spread, not in its JSON or keys', () => {
  const u: SourceUser = { id: 'u1', attrs: { displayName: 'Ada' }, groups: ['g'] };
  assert.equal(recordFingerprintOf(u), undefined, 'none before it is noted');
  const json = JSON.stringify(u);
  const fp = shadowFingerprint(recordOf(u), null, null);
  noteRecordFingerprint(u, fp);
  assert.equal(recordFingerprintOf(u), fp);
  assert.equal(JSON.stringify(u), json, 'the user serializes as before');
  assert.deepEqual(Object.keys(u), ['id', 'attrs', 'groups']);
  const copy = { ...u, attrs: { ...u.attrs, displayName: 'Grace' } };
  assert.equal(recordFingerprintOf(copy), undefined, 'a copy (other attrs) has no fingerprint of its own');
  noteRecordFingerprint(u, 'other');
  assert.equal(recordFingerprintOf(u), 'other', 'noted again: the last one holds');
});

test('the shadow fingerprint changes with anything in the record and with the resolved manager id', () => {
  const base: SourceUser = { id: 'u1', attrs: { displayName: 'Ada', ext: { a: null } }, groups: ['g'], manager: { id: 'm1', attrs: { mail: 'm@x' } } };
  const fp = shadowFingerprint(recordOf(base), null, 'm1');
  const variants: SourceUser[] = [
    { ...base, attrs: { displayName: 'Ada ', ext: { a: null } } },
    { ...base, attrs: { displayName: 'Ada', ext: { a: '' } } },
    { ...base, attrs: { displayName: 'Ada', ext: {} } },
    { ...base, groups: ['g', 'h'] },
    { ...base, manager: { id: 'm1', attrs: { mail: 'n@x' } } },
    { ...base, manager: null },
  ];
  for (const v of variants) assert.notEqual(shadowFingerprint(recordOf(v), null, 'm1'), fp, JSON.stringify(v));
  assert.notEqual(shadowFingerprint(recordOf(base), null, 'm2'), fp, 'another resolved manager');
  assert.equal(shadowFingerprint(recordOf({ ...base }), null, 'm1'), fp, 'the same record, the same fingerprint');
});
