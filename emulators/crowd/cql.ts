// A small Crowd Query Language evaluator for `/search?restriction=`: terms `property = value`
// (value quoted or bare, `*` as wildcard, compared without case) joined by `and` / `or`
// (`and` binds tighter, no parentheses). Properties: name, email, firstName, lastName,
// displayName, active, or any custom attribute name. Enough for what clients send to find users.
import type { CrowdUser } from './store.ts';

type Predicate = (u: CrowdUser) => boolean;

export class CqlError extends Error {}

export function compileCql(restriction: string): Predicate {
  const text = restriction.trim();
  if (!text) return () => true;
  const orParts = splitOutsideQuotes(text, /\s+or\s+/i);
  const ors = orParts.map((part) => {
    const ands = splitOutsideQuotes(part, /\s+and\s+/i).map(term);
    return (u: CrowdUser) => ands.every((p) => p(u));
  });
  return (u) => ors.some((p) => p(u));
}

function term(source: string): Predicate {
  const m = /^\s*([A-Za-z][\w.-]*)\s*(=|!=)\s*("(?:[^"\\]|\\.)*"|[^\s"]+)\s*$/.exec(source);
  if (!m) throw new CqlError(`cannot parse restriction term: ${source}`);
  const [, prop, op, raw] = m as unknown as [string, string, string, string];
  const value = raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw;
  const pattern = new RegExp(`^${value.split('*').map(escapeRe).join('.*')}$`, 'i');
  const matches = (u: CrowdUser) => valuesOf(u, prop).some((v) => pattern.test(v));
  return op === '=' ? matches : (u) => !matches(u);
}

function valuesOf(u: CrowdUser, prop: string): string[] {
  switch (prop) {
    case 'name':
      return [u.name];
    case 'email':
      return [u.email];
    case 'firstName':
      return [u.firstName];
    case 'lastName':
      return [u.lastName];
    case 'displayName':
      return [u.displayName];
    case 'active':
      return [String(u.active)];
    case 'key':
      return [u.key];
    default:
      return u.attributes.get(prop) ?? [];
  }
}

function splitOutsideQuotes(text: string, sep: RegExp): string[] {
  const parts: string[] = [];
  let current = '';
  let inQuote = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '"' && text[i - 1] !== '\\') inQuote = !inQuote;
    if (!inQuote) {
      const rest = text.slice(i);
      const m = new RegExp(`^${sep.source}`, 'i').exec(rest);
      if (m && current) {
        parts.push(current);
        current = '';
        i += m[0].length - 1;
        continue;
      }
    }
    current += ch;
  }
  parts.push(current);
  return parts;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The body of `POST /search` (a search restriction, as documented for Crowd's search resource):
 * `property-search-restriction` ({property: {name, type}, match-mode, value}; the documented
 * example spells it `matchMode`, both are read), `boolean-search-restriction`
 * ({boolean-logic: and|or, restrictions: [...]}) and `null-search-restriction` (everything).
 */
export function compileRestriction(body: unknown): Predicate {
  if (!body || typeof body !== 'object') throw new CqlError('the search restriction body is missing');
  const r = body as Record<string, unknown>;
  switch (r['restriction-type']) {
    case 'null-search-restriction':
      return () => true;
    case 'boolean-search-restriction': {
      const logic = String(r['boolean-logic'] ?? '').toLowerCase();
      if (logic !== 'and' && logic !== 'or') throw new CqlError('boolean-logic must be "and" or "or"');
      if (!Array.isArray(r.restrictions)) throw new CqlError('restrictions must be a list');
      const parts = r.restrictions.map(compileRestriction);
      return logic === 'and' ? (u) => parts.every((p) => p(u)) : (u) => parts.some((p) => p(u));
    }
    case 'property-search-restriction': {
      const prop = (r.property as { name?: unknown } | undefined)?.name;
      if (typeof prop !== 'string' || !prop) throw new CqlError('property.name is required');
      const mode = String(r['match-mode'] ?? r.matchMode ?? 'EXACTLY_MATCHES').toUpperCase();
      const value = String(r.value ?? '').toLowerCase();
      const test: Record<string, (v: string) => boolean> = {
        EXACTLY_MATCHES: (v) => v === value,
        STARTS_WITH: (v) => v.startsWith(value),
        ENDS_WITH: (v) => v.endsWith(value),
        CONTAINS: (v) => v.includes(value),
      };
      if (mode === 'NULL') return (u) => valuesOf(u, prop).every((v) => v === '');
      const fn = test[mode];
      if (!fn) throw new CqlError(`unsupported match-mode ${mode}`);
      return (u) => valuesOf(u, prop).some((v) => fn(v.toLowerCase()));
    }
    default:
      throw new CqlError(`unsupported restriction-type ${String(r['restriction-type'])}`);
  }
}
