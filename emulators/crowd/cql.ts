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
