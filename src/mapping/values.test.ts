import { test } from 'node:test';
import assert from 'node:assert/strict';
import { coerceToFieldType, isEmptyValue, toJson } from './values.ts';

const ok = (value: unknown) => ({ ok: true, value });

test('empty means undefined, null, blank text or a list without values', () => {
  for (const empty of [undefined, null, '', '   ', '\t\n', [], [null, ''], [[]]]) assert.equal(isEmptyValue(empty), true, JSON.stringify(empty));
  for (const value of [0, false, 'x', ' x ', ['x'], {}, [0]]) assert.equal(isEmptyValue(value), false, JSON.stringify(value));
});

test('string fields take text, numbers, booleans and one-element lists', () => {
  assert.deepEqual(coerceToFieldType('Finance', 'string'), ok('Finance'));
  assert.deepEqual(coerceToFieldType(' padded ', 'string'), ok(' padded '), 'non-empty text is written as it is');
  assert.deepEqual(coerceToFieldType(1001, 'string'), ok('1001'));
  assert.deepEqual(coerceToFieldType(true, 'string'), ok('true'));
  assert.deepEqual(coerceToFieldType(['+1 555 0100'], 'string'), ok('+1 555 0100'));
  assert.deepEqual(coerceToFieldType([null, 'x'], 'string'), ok('x'), 'empty members do not count');
});

test('string fields refuse longer lists and objects with a hint', () => {
  const list = coerceToFieldType(['a', 'b'], 'string');
  assert.equal(list.ok, false);
  assert.match(!list.ok ? list.message : '', /list of 2 values.*\[0\].*\$join/);
  const object = coerceToFieldType({ a: 1 }, 'string');
  assert.match(!object.ok ? object.message : '', /expected text but got an object/);
  assert.equal(coerceToFieldType(Number.NaN, 'string').ok, false);
});

test('boolean fields take booleans, "true"/"false" and 1/0', () => {
  for (const yes of [true, 'true', 'TRUE', ' True ', 1, '1', [true]]) assert.deepEqual(coerceToFieldType(yes, 'boolean'), ok(true), String(yes));
  for (const no of [false, 'false', 'False', 0, '0']) assert.deepEqual(coerceToFieldType(no, 'boolean'), ok(false), String(no));
  for (const bad of ['yes', 2, { a: 1 }, [true, false]]) {
    const result = coerceToFieldType(bad, 'boolean');
    assert.equal(result.ok, false, JSON.stringify(bad));
    assert.match(!result.ok ? result.message : '', /expected true\/false/);
  }
});

test('string[] fields take a name or a list of names, de-duplicated and sorted', () => {
  assert.deepEqual(coerceToFieldType('Staff', 'string[]'), ok(['Staff']));
  assert.deepEqual(coerceToFieldType(['b', 'a', 'b', '', null, 'B'], 'string[]'), ok(['B', 'a', 'b']));
  assert.deepEqual(coerceToFieldType([2024, 'x'], 'string[]'), ok(['2024', 'x']));
  const bad = coerceToFieldType(['a', { name: 'b' }], 'string[]');
  assert.match(!bad.ok ? bad.message : '', /list of names but it contains an object/);
  assert.equal(coerceToFieldType([true], 'string[]').ok, false);
});

test('json fields take any JSON value; strings stay strings', () => {
  assert.deepEqual(coerceToFieldType('42', 'json'), ok('42'));
  assert.deepEqual(coerceToFieldType(42, 'json'), ok(42));
  assert.deepEqual(coerceToFieldType({ a: [1, { b: undefined, c: null }] }, 'json'), ok({ a: [1, { c: null }] }));
  const fn = coerceToFieldType({ f: () => 1 }, 'json');
  assert.match(!fn.ok ? fn.message : '', /value\.f is a function/);
  assert.equal(coerceToFieldType(Number.POSITIVE_INFINITY, 'json').ok, false);
});

test('a JSONata-style sequence becomes a plain array', () => {
  const sequence = Object.assign(['a', 'b'], { sequence: true });
  const result = toJson(sequence);
  assert.ok(result.ok, 'result.ok');
  assert.equal(Object.hasOwn(result.value as object, 'sequence'), false);
  assert.deepEqual(result.value, ['a', 'b']);
});

test('maxLength is enforced on the text or on the JSON form', () => {
  assert.equal(coerceToFieldType('x'.repeat(10), 'string', 10).ok, true);
  const long = coerceToFieldType('x'.repeat(11), 'string', 10);
  assert.match(!long.ok ? long.message : '', /11 characters long; the target accepts at most 10/);
  assert.equal(coerceToFieldType({ a: 'x'.repeat(20) }, 'json', 10).ok, false);
});
