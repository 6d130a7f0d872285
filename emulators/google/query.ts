// The `query` parameter of users.list, as Google's "Search for users" guide documents it:
// whitespace-separated clauses `field operator value`, implicitly ANDed; `=` exact, `:` contains
// (word match), `:{PREFIX}*` starts with; values quoted with single quotes when they hold spaces;
// custom schema fields as `Schema.field`. A clause Google would refuse is refused (400 Invalid
// Input). Only the fields idsync and its tests use are implemented; the others are refused too,
// never silently ignored.
import type { GoogleUser } from './directory.ts';

type Op = '=' | ':' | 'prefix';
interface Clause {
  field: string;
  op: Op;
  value: string;
}

export class QueryError extends Error {}

const STRING_FIELDS: Record<string, (u: GoogleUser) => string[]> = {
  '': (u) => [u.name.givenName, u.name.familyName, ...u.emails.map((e) => e.address)],
  name: (u) => [u.name.fullName],
  email: (u) => [...u.emails.map((e) => e.address), ...(u.aliases ?? [])],
  givenName: (u) => [u.name.givenName],
  familyName: (u) => [u.name.familyName],
  externalId: (u) => (u.externalIds ?? []).map((x) => x.value),
  directManager: (u) => (u.relations ?? []).filter((r) => r.type === 'manager').map((r) => r.value),
  orgName: (u) => (u.organizations ?? []).map((o) => o.name ?? ''),
  orgTitle: (u) => (u.organizations ?? []).map((o) => o.title ?? ''),
  orgDepartment: (u) => (u.organizations ?? []).map((o) => o.department ?? ''),
  orgCostCenter: (u) => (u.organizations ?? []).map((o) => o.costCenter ?? ''),
};
/** Fields that take `=` only (booleans, orgUnitPath, manager e-mails). */
const EQUALS_ONLY = new Set(['directManager', 'isAdmin', 'isDelegatedAdmin', 'isSuspended', 'isArchived', 'orgUnitPath']);
const PREFIX_FIELDS = new Set(['', 'email', 'givenName', 'familyName']);
const BOOLEAN_FIELDS: Record<string, (u: GoogleUser) => boolean> = {
  isAdmin: (u) => u.isAdmin,
  isDelegatedAdmin: (u) => u.isDelegatedAdmin,
  isSuspended: (u) => u.suspended,
  isArchived: (u) => u.archived,
};

export function parseQuery(text: string): Clause[] {
  const clauses: Clause[] = [];
  const re = /\s*(?:([A-Za-z][\w.]*)\s*(=|:))?\s*('(?:[^'\\]|\\.)*'|[^\s']+)/y;
  let at = 0;
  const input = text.trim();
  while (at < input.length) {
    re.lastIndex = at;
    const m = re.exec(input);
    if (!m || m[0].trim() === '') throw new QueryError(`cannot read the query at: ${input.slice(at, at + 20)}`);
    at = re.lastIndex;
    const field = m[1] ?? '';
    let value = m[3]!;
    if (value.startsWith("'")) value = value.slice(1, -1).replace(/\\(.)/g, '$1');
    let op: Op = (m[2] as Op | undefined) ?? ':';
    if (op === ':' && value.endsWith('*')) {
      op = 'prefix';
      value = value.slice(0, -1);
    }
    check(field, op, value);
    clauses.push({ field, op, value });
  }
  return clauses;
}

function check(field: string, op: Op, value: string): void {
  const custom = field.includes('.');
  if (!custom && !(field in STRING_FIELDS) && !(field in BOOLEAN_FIELDS) && field !== 'orgUnitPath') throw new QueryError(`unknown field ${field}`);
  if (EQUALS_ONLY.has(field) && op !== '=') throw new QueryError(`${field} takes = only`);
  if (op === 'prefix' && !PREFIX_FIELDS.has(field) && !custom) throw new QueryError(`${field} takes no prefix`);
  if (field in BOOLEAN_FIELDS && value !== 'true' && value !== 'false') throw new QueryError(`${field} is true or false`);
  if (value === '') throw new QueryError('empty value');
}

export function matches(u: GoogleUser, clauses: readonly Clause[]): boolean {
  return clauses.every((c) => matchOne(u, c));
}

function matchOne(u: GoogleUser, c: Clause): boolean {
  if (c.field in BOOLEAN_FIELDS) return BOOLEAN_FIELDS[c.field]!(u) === (c.value === 'true');
  // orgUnitPath=/Sales matches the unit and the units below it (Google: "and its sub-units").
  if (c.field === 'orgUnitPath') return u.orgUnitPath.toLowerCase() === c.value.toLowerCase() || u.orgUnitPath.toLowerCase().startsWith(`${c.value.toLowerCase().replace(/\/$/, '')}/`);
  const values = c.field.includes('.') ? customValues(u, c.field) : STRING_FIELDS[c.field]!(u);
  const want = c.value.toLowerCase();
  return values.some((raw) => {
    const v = raw.toLowerCase();
    if (c.op === '=') return v === want;
    const words = v.split(/[\s@.,_-]+/).filter(Boolean);
    if (c.op === 'prefix') return v.startsWith(want) || words.some((w) => w.startsWith(want));
    return v.includes(want);
  });
}

function customValues(u: GoogleUser, path: string): string[] {
  const [schema, field] = path.split('.', 2) as [string, string];
  const v = u.customSchemas?.[schema]?.[field];
  if (v === undefined || v === null) return [];
  if (Array.isArray(v)) return v.map((x) => String((x as { value?: unknown }).value ?? x));
  return [String(v)];
}
