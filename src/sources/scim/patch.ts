// SCIM PATCH (RFC 7644 §3.5.2) applied to a stored resource: add / replace / remove, with and
// without a path, paths with a sub-attribute (`name.givenName`), a URN (`urn:…:enterprise:2.0:
// User:manager`) or a value filter (`emails[type eq "work"].value`, `members[value eq "id"]`).
// What Entra and Okta send is taken as they send it: `op` in any case ("Replace"), a no-path
// value whose keys are paths themselves, `remove` of members with a value list, and a `replace`
// through a filter that matches nothing yet (Entra sets `emails[type eq "work"].value` on a
// user without one) creates the element the filter describes.
import type { Filter } from 'scim2-parse-filter';
import { parseFilter, matches } from './filter.ts';
import { ScimError, MULTI_VALUED, canonicalName, keyOf, splitUrn, USER_SCHEMA, GROUP_SCHEMA } from './model.ts';
import type { ScimJson } from './repo.ts';

export type PatchOp = { op: 'add' | 'replace' | 'remove'; path?: string; value?: unknown };

/** Member changes a Group PATCH asks for (kept apart from the group's JSON). */
export interface MemberChange {
  add: string[];
  remove: string[];
  /** `replace` of members: the add list is the whole new membership. */
  replaceAll: boolean;
  /** `remove` of all members. */
  clear: boolean;
}

/** Checks a PatchOp request body and returns its operations (op names lower-cased). */
export function patchOps(body: unknown): PatchOp[] {
  if (typeof body !== 'object' || body === null) throw new ScimError(400, 'the body must be a PatchOp message', 'invalidSyntax');
  const ops = (body as { Operations?: unknown; operations?: unknown }).Operations ?? (body as { operations?: unknown }).operations;
  if (!Array.isArray(ops) || ops.length === 0) throw new ScimError(400, 'a PatchOp needs a non-empty "Operations" array', 'invalidSyntax');
  if (ops.length > 1000) throw new ScimError(400, 'more than 1000 operations in one PATCH; split it', 'tooMany');
  return ops.map((o, i) => {
    if (typeof o !== 'object' || o === null) throw new ScimError(400, `Operations[${i}] must be an object`, 'invalidSyntax');
    const { op, path, value } = o as { op?: unknown; path?: unknown; value?: unknown };
    const name = typeof op === 'string' ? op.toLowerCase() : '';
    if (name !== 'add' && name !== 'replace' && name !== 'remove') throw new ScimError(400, `Operations[${i}].op must be add, replace or remove (got ${JSON.stringify(op)})`, 'invalidSyntax');
    if (path !== undefined && (typeof path !== 'string' || path.trim() === '')) throw new ScimError(400, `Operations[${i}].path must be a non-empty string`, 'invalidPath');
    if (name !== 'remove' && value === undefined) throw new ScimError(400, `Operations[${i}] (${name}) needs a value`, 'invalidValue');
    if (name === 'remove' && path === undefined) throw new ScimError(400, `Operations[${i}]: remove needs a path`, 'noTarget');
    return { op: name, ...(path !== undefined ? { path: (path as string).trim() } : {}), ...(value !== undefined ? { value } : {}) } as PatchOp;
  });
}

interface Path {
  /** Extension URN holding the attribute, undefined for core attributes. */
  schema?: string;
  attr: string;
  filter?: Filter;
  sub?: string;
}

export function parsePath(text: string): Path {
  if (text.length > 1024) throw new ScimError(400, 'the path is longer than 1024 characters', 'invalidPath');
  let attrPart = text;
  let filter: Filter | undefined;
  let sub: string | undefined;
  const open = text.indexOf('[');
  if (open >= 0) {
    const close = text.lastIndexOf(']');
    if (close < open) throw new ScimError(400, `the path "${text}" has an unclosed "["`, 'invalidPath');
    attrPart = text.slice(0, open);
    try {
      filter = parseFilter(text.slice(open + 1, close));
    } catch {
      throw new ScimError(400, `the value filter in the path "${text}" could not be parsed`, 'invalidPath');
    }
    const rest = text.slice(close + 1);
    if (rest !== '' && !/^\.[A-Za-z][\w$-]*$/.test(rest)) throw new ScimError(400, `the path "${text}" has something after "]" that is not a sub-attribute`, 'invalidPath');
    if (rest) sub = rest.slice(1);
  }
  let schema: string | undefined;
  let attr = attrPart;
  if (attrPart.toLowerCase().startsWith('urn:')) {
    const s = splitUrn(attrPart);
    if (!s.attr) throw new ScimError(400, `the path "${text}" names a schema but no attribute`, 'invalidPath');
    const core = s.schema.toLowerCase() === USER_SCHEMA.toLowerCase() || s.schema.toLowerCase() === GROUP_SCHEMA.toLowerCase();
    schema = core ? undefined : s.schema;
    attr = s.attr;
  }
  if (!/^[A-Za-z][\w$-]*(\.[A-Za-z][\w$-]*)?$/.test(attr)) throw new ScimError(400, `the path "${text}" is not an attribute path`, 'invalidPath');
  const [head, dotted] = attr.split('.');
  if (dotted) {
    if (sub) throw new ScimError(400, `the path "${text}" has two sub-attributes`, 'invalidPath');
    sub = dotted;
  }
  return { ...(schema ? { schema } : {}), attr: canonicalName(head!), ...(filter ? { filter } : {}), ...(sub ? { sub: canonicalName(sub) } : {}) };
}

const isObject = (v: unknown): v is ScimJson => typeof v === 'object' && v !== null && !Array.isArray(v);
const memberIds = (v: unknown): string[] => {
  const list = Array.isArray(v) ? v : v === undefined || v === null ? [] : [v];
  return list.map((m) => (isObject(m) ? m.value : m)).filter((x): x is string => typeof x === 'string' && x !== '');
};

/**
 * Applies the operations to a copy of `resource`. For a Group, operations on `members` are
 * returned as a MemberChange instead (the caller applies them to the member table).
 */
export function applyPatch(resource: ScimJson, ops: PatchOp[], type: 'User' | 'Group'): { resource: ScimJson; members: MemberChange } {
  const res = structuredClone(resource);
  const members: MemberChange = { add: [], remove: [], replaceAll: false, clear: false };
  const apply = (op: PatchOp['op'], path: Path, value: unknown, text: string) => {
    if (type === 'Group' && !path.schema && path.attr === 'members') return memberOp(members, op, path, value, text);
    if (!path.schema && (path.attr === 'id' || path.attr === 'meta' || path.attr === 'groups')) throw new ScimError(400, `${path.attr} cannot be changed`, 'mutability');
    const container = path.schema ? ensureObject(res, path.schema) : res;
    applyAt(container, op, path, value, text);
  };
  for (const o of ops) {
    if (o.path !== undefined) apply(o.op, parsePath(o.path), o.value, o.path);
    else {
      if (!isObject(o.value)) throw new ScimError(400, `${o.op} without a path needs an object of attributes as its value`, 'invalidValue');
      // No path: each key of the value is a path (Entra writes "name.givenName" or a URN-qualified name there).
      for (const [k, v] of Object.entries(o.value)) {
        // Okta's group rename sends {"id": …, "displayName": …}: read-only names in a no-path value are ignored.
        if (['schemas', 'id', 'meta'].includes(k.toLowerCase())) continue;
        if (k.toLowerCase().startsWith('urn:') && isObject(v) && !splitUrn(k).attr) {
          for (const [ek, ev] of Object.entries(v)) apply(o.op, parsePath(`${k}:${ek}`), ev, `${k}:${ek}`);
        } else apply(o.op, parsePath(k), v, k);
      }
    }
  }
  return { resource: res, members };
}

function memberOp(m: MemberChange, op: PatchOp['op'], path: Path, value: unknown, text: string): void {
  if (op === 'remove') {
    if (path.filter) {
      // members[value eq "id"] (Okta, RFC), or a filter over several: only `value eq` can name members.
      const ids = idsOfFilter(path.filter);
      if (!ids) throw new ScimError(400, `remove ${text}: only filters on value (members[value eq "id"]) are supported for members`, 'invalidFilter');
      m.remove.push(...ids);
    } else if (value !== undefined) m.remove.push(...memberIds(value)); // Entra: remove members with a value list
    else {
      m.clear = true;
      m.replaceAll = true;
      m.add = [];
    }
    return;
  }
  const ids = memberIds(value);
  if (op === 'replace') {
    m.replaceAll = true;
    m.add = ids;
    m.remove = [];
  } else m.add.push(...ids);
}

function idsOfFilter(f: Filter): string[] | undefined {
  if (f.op === 'eq' && f.attrPath.toLowerCase() === 'value' && typeof f.compValue === 'string') return [f.compValue];
  if (f.op === 'or') {
    const parts = f.filters.map(idsOfFilter);
    return parts.every((p) => p) ? parts.flat() as string[] : undefined;
  }
  return undefined;
}

function ensureObject(obj: ScimJson, key: string): ScimJson {
  const k = keyOf(obj, key) ?? key;
  if (!isObject(obj[k])) obj[k] = {};
  return obj[k] as ScimJson;
}

function isMulti(container: ScimJson, attr: string): boolean {
  const k = keyOf(container, attr);
  return MULTI_VALUED.has(attr.toLowerCase()) || (k !== undefined && Array.isArray(container[k]));
}

function sameItem(a: unknown, b: unknown): boolean {
  if (isObject(a) && isObject(b) && 'value' in a && 'value' in b) return a.value === b.value && (a.type ?? null) === (b.type ?? null);
  return JSON.stringify(a) === JSON.stringify(b);
}

function applyAt(container: ScimJson, op: PatchOp['op'], path: Path, value: unknown, text: string): void {
  const key = keyOf(container, path.attr) ?? path.attr;
  const current = container[key];
  if (path.filter) {
    const list: unknown[] = Array.isArray(current) ? current : [];
    const hits = list.filter((e) => matches(path.filter!, e));
    if (op === 'remove') {
      if (path.sub) for (const h of hits) if (isObject(h)) delete h[keyOf(h, path.sub) ?? path.sub];
      const kept = path.sub ? list : list.filter((e) => !hits.includes(e));
      if (kept.length) container[key] = kept;
      else delete container[key];
      return;
    }
    if (hits.length === 0) {
      // Nothing matches yet: create what the filter describes (`type eq "work"`), if it describes one.
      const seed = seedOf(path.filter);
      if (!seed) throw new ScimError(400, `${op} ${text}: no value matches the filter`, 'noTarget');
      const item: ScimJson = { ...seed };
      if (path.sub) item[path.sub] = value;
      else if (isObject(value)) Object.assign(item, value);
      else throw new ScimError(400, `${op} ${text}: the value must be an object`, 'invalidValue');
      container[key] = [...list, item];
      return;
    }
    for (const h of hits) {
      if (!isObject(h)) continue;
      if (path.sub) h[keyOf(h, path.sub) ?? path.sub] = value;
      else if (isObject(value)) Object.assign(h, value);
      else throw new ScimError(400, `${op} ${text}: the value must be an object`, 'invalidValue');
    }
    return;
  }
  if (path.sub) {
    if (Array.isArray(current)) {
      for (const e of current) if (isObject(e)) op === 'remove' ? delete e[keyOf(e, path.sub) ?? path.sub] : (e[keyOf(e, path.sub) ?? path.sub] = value);
      return;
    }
    if (op === 'remove') {
      if (isObject(current)) delete current[keyOf(current, path.sub) ?? path.sub];
      return;
    }
    const obj = ensureObject(container, key);
    obj[keyOf(obj, path.sub) ?? path.sub] = value;
    return;
  }
  if (op === 'remove') {
    if (value !== undefined && Array.isArray(current)) {
      // A value list names the elements to remove (as Entra does for members).
      const drop = Array.isArray(value) ? value : [value];
      const kept = current.filter((e) => !drop.some((d) => sameItem(e, d) || (isObject(e) && isObject(d) && e.value === d.value && d.type === undefined)));
      if (kept.length) container[key] = kept;
      else delete container[key];
    } else delete container[key];
    return;
  }
  if (isMulti(container, path.attr) && path.attr !== 'manager') {
    const items = Array.isArray(value) ? value : [value];
    if (op === 'replace') container[key] = items;
    else {
      const list: unknown[] = Array.isArray(current) ? [...current] : [];
      for (const it of items) if (!list.some((e) => sameItem(e, it))) list.push(it);
      container[key] = list;
    }
    return;
  }
  if (op === 'add' && isObject(current) && isObject(value)) Object.assign(current, value);
  else container[key] = value;
}

/** The element a filter of `attr eq "value"` terms (joined by and) describes. */
function seedOf(f: Filter): ScimJson | undefined {
  if (f.op === 'eq' && !f.attrPath.includes('.')) return { [canonicalName(f.attrPath)]: f.compValue };
  if (f.op === 'and') {
    const parts = f.filters.map(seedOf);
    return parts.every((p) => p) ? Object.assign({}, ...parts) : undefined;
  }
  return undefined;
}
