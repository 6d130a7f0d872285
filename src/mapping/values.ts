// What counts as "no value", and how a source value becomes a value of the target field's
// declared type. Coercion failures are per-user, per-field problems: they return a message
// instead of throwing so one odd value never stops the run.
import type { Json } from '../core/types.ts';
import type { FieldType } from './fields.ts';

/**
 * Empty means: undefined, null, a string that is empty or only whitespace, or an array with
 * no non-empty element. Whitespace-only strings count as empty because directories often hold
 * a blank in place of a missing value, and writing a blank is never what an admin wants.
 */
export function isEmptyValue(value: unknown): boolean {
  if (value === undefined || value === null) return true;
  if (typeof value === 'string') return value.trim() === '';
  if (Array.isArray(value)) return value.every(isEmptyValue);
  return false;
}

export type Coerced = { ok: true; value: Json } | { ok: false; message: string };

const fail = (message: string): Coerced => ({ ok: false, message });

/** A value shortened for messages: enough to recognise it, never a whole 32 KB blob. */
export function describeValue(value: unknown): string {
  let text: string;
  if (typeof value === 'string') text = JSON.stringify(value);
  else if (typeof value === 'function') text = 'a function';
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function kindOf(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/**
 * Copies a value into plain JSON: JSONata sequences become plain arrays, undefined members
 * are dropped (as JSON.stringify would), and anything JSON cannot hold is an error.
 */
export function toJson(value: unknown, path = 'value'): Coerced {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return { ok: true, value };
  if (typeof value === 'number') {
    return Number.isFinite(value) ? { ok: true, value } : fail(`${path} is ${value}, which JSON cannot hold`);
  }
  if (Array.isArray(value)) {
    const out: Json[] = [];
    for (let i = 0; i < value.length; i++) {
      if (value[i] === undefined) continue;
      const item = toJson(value[i], `${path}[${i}]`);
      if (!item.ok) return item;
      out.push(item.value);
    }
    return { ok: true, value: out };
  }
  if (typeof value === 'object' && value !== undefined) {
    if (value instanceof Date) return { ok: true, value: value.toISOString() };
    const out: { [key: string]: Json } = {};
    for (const [key, member] of Object.entries(value)) {
      if (member === undefined) continue;
      const item = toJson(member, `${path}.${key}`);
      if (!item.ok) return item;
      out[key] = item.value;
    }
    return { ok: true, value: out };
  }
  return fail(`${path} is ${kindOf(value)}, which JSON cannot hold`);
}

function scalarToString(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return undefined;
}

function toStringField(value: unknown): Coerced {
  // A one-element list (Graph's businessPhones, a custom security attribute collection) is
  // that element. Longer lists are refused rather than joined: silently gluing values into
  // a username or email would write something nobody asked for.
  if (Array.isArray(value)) {
    const items = value.filter((v) => !isEmptyValue(v));
    if (items.length === 1) return toStringField(items[0]);
    return fail(
      `got a list of ${items.length} values (${describeValue(items)}); pick one with [0] or join them with $join(..., ", ")`,
    );
  }
  const text = scalarToString(value);
  if (text === undefined) return fail(`expected text but got ${kindOf(value)} (${describeValue(value)}); pick one of its fields`);
  return { ok: true, value: text };
}

const TRUE_WORDS = new Set(['true', '1']);
const FALSE_WORDS = new Set(['false', '0']);

function toBooleanField(value: unknown): Coerced {
  if (typeof value === 'boolean') return { ok: true, value };
  if (value === 1 || value === 0) return { ok: true, value: value === 1 };
  if (typeof value === 'string') {
    const word = value.trim().toLowerCase();
    if (TRUE_WORDS.has(word)) return { ok: true, value: true };
    if (FALSE_WORDS.has(word)) return { ok: true, value: false };
  }
  if (Array.isArray(value) && value.length === 1) return toBooleanField(value[0]);
  return fail(`expected true/false but got ${describeValue(value)}; use a boolean, "true"/"false" or 1/0`);
}

function toStringListField(value: unknown): Coerced {
  const items = Array.isArray(value) ? value : [value];
  const names = new Set<string>();
  for (const item of items) {
    if (isEmptyValue(item)) continue;
    // Numbers are accepted as names (a group called "2024"); objects and booleans are not.
    const text = typeof item === 'string' || typeof item === 'number' ? scalarToString(item) : undefined;
    if (text === undefined) return fail(`expected a list of names but it contains ${kindOf(item)} (${describeValue(item)})`);
    names.add(text);
  }
  // Code-unit order, not locale order: the result must not depend on the server's locale.
  return { ok: true, value: [...names].sort() };
}

/** Converts a non-empty value to the field's type. */
export function coerceToFieldType(value: unknown, type: FieldType, maxLength?: number): Coerced {
  let result: Coerced;
  switch (type) {
    case 'string':
      result = toStringField(value);
      break;
    case 'boolean':
      result = toBooleanField(value);
      break;
    case 'string[]':
      result = toStringListField(value);
      break;
    case 'json':
      result = toJson(value);
      break;
  }
  if (result.ok && maxLength !== undefined) {
    const length = typeof result.value === 'string' ? result.value.length : JSON.stringify(result.value).length;
    if (length > maxLength) return fail(`the value is ${length} characters long; the target accepts at most ${maxLength}`);
  }
  return result;
}
