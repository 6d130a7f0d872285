// SCIM filters (RFC 7644 §3.4.2.2) parsed by scim2-parse-filter, evaluated over stored
// resources. String comparisons ignore case (userName, emails and most attributes are
// caseExact=false); a complex multi-valued attribute compared as a whole compares its `value`
// (`members eq "id"`); a value filter selects values one by one (`emails[type eq "work"].value`
// compares only the work e-mails, see scopeValuePaths). Filters that name one resource by an indexed key (`userName eq "x"`,
// `externalId eq "x"`, `id eq "x"`, a group's `displayName eq "x"`) are answered from the index,
// so Entra's lookup before every create does not scan everyone.
import { parse, Tester, type Filter } from 'scim2-parse-filter';
import { ScimError } from './model.ts';

/** Longer filters are refused before parsing (no provider sends one this long). */
export const MAX_FILTER_LENGTH = 4096;

export function parseFilter(text: string): Filter {
  if (text.length > MAX_FILTER_LENGTH) throw new ScimError(400, `the filter is longer than ${MAX_FILTER_LENGTH} characters`, 'invalidFilter');
  try {
    return parse(scopeValuePaths(text));
  } catch (e) {
    // Anything the parser throws (including a stack overflow on deep nesting) is the filter's fault.
    throw new ScimError(400, `the filter could not be parsed: ${e instanceof Error ? e.message.slice(0, 200) : 'invalid'}`, 'invalidFilter');
  }
}

const OPERATORS = /^(eq|ne|co|sw|ew|gt|lt|ge|le)$/i;

/**
 * A value filter followed by a sub-attribute, `emails[type eq "work"].value eq "x"`, compares
 * only the values the filter selects (RFC 7644 §3.4.2.2: the work e-mails). The parser reads it
 * as `emails[type eq "work"] and emails.value eq "x"` (any work e-mail, and any e-mail equal to
 * x), so the text is rewritten first into the form it means: `emails[(type eq "work") and value
 * eq "x"]`. Quoted strings are skipped; anything not of this form is left as it is.
 */
export function scopeValuePaths(text: string): string {
  let out = '';
  let i = 0;
  let attrStart = -1;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      const end = stringEnd(text, i);
      out += text.slice(i, end);
      i = end;
      continue;
    }
    if (c === '[') {
      const close = closingBracket(text, i);
      if (close < 0) break;
      // The attribute the filter applies to: the name just before the bracket.
      attrStart = i;
      while (attrStart > 0 && /[\w:.$-]/.test(text[attrStart - 1]!)) attrStart--;
      const name = text.slice(attrStart, i);
      const inner = text.slice(i + 1, close);
      const rest = comparisonAfter(text, close + 1);
      if (name && rest) {
        out = out.slice(0, out.length - name.length) + `${name}[(${inner}) and ${rest.text}]`;
        i = rest.end;
      } else {
        out += text.slice(i, close + 1);
        i = close + 1;
      }
      continue;
    }
    out += c;
    i++;
  }
  return out + text.slice(i);
}

/** The index just past the string literal starting at `start` (a backslash escapes the next character). */
function stringEnd(text: string, start: number): number {
  let i = start + 1;
  while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
  return Math.min(text.length, i + 1);
}

/** The `]` closing the bracket at `open` (strings skipped), or -1. */
function closingBracket(text: string, open: number): number {
  let i = open + 1;
  while (i < text.length) {
    if (text[i] === '"') i = stringEnd(text, i);
    else if (text[i] === ']') return i;
    else i++;
  }
  return -1;
}

/** `.sub op value` or `.sub pr` right after a value filter, as the text to move inside it. */
function comparisonAfter(text: string, at: number): { text: string; end: number } | undefined {
  const m = /^\.([A-Za-z_$][\w$-]*)\s+(\w+)/.exec(text.slice(at));
  if (!m) return undefined;
  const [whole, sub, op] = m;
  let end = at + whole.length;
  if (op!.toLowerCase() === 'pr') return { text: `${sub} pr`, end };
  if (!OPERATORS.test(op!)) return undefined;
  while (end < text.length && /\s/.test(text[end]!)) end++;
  const valueStart = end;
  if (text[end] === '"') end = stringEnd(text, end);
  else while (end < text.length && !/[\s()\]]/.test(text[end]!)) end++;
  if (end === valueStart) return undefined;
  return { text: `${sub} ${op} ${text.slice(valueStart, end)}`, end };
}

const lower = (v: unknown) => (typeof v === 'string' ? v.toLowerCase() : v);
const valueOf = (r: unknown) => (typeof r === 'object' && r !== null && !Array.isArray(r) && 'value' in r ? (r as { value: unknown }).value : r);

// A multi-valued attribute compared as a whole (`members eq "id"`) reaches a comparison as its
// list: it matches when one of its values does.
const anyOf = (r: unknown, test: (x: unknown) => boolean) => (Array.isArray(r) ? r.some(test) : test(r));

class CaseIgnoringTester extends Tester {
  // A value filter (`emails[type eq "work" and value eq "x"]`) holds for one value of the
  // attribute that meets the whole filter; the library tests the list as a whole, so each of its
  // parts could be met by a different value.
  override test(r: any, f: Filter): boolean {
    if (f.op !== '[]') return super.test(r, f);
    return this.attrTest(this.attrPath(f.attrPath), r, (s) => (Array.isArray(s) ? s.some((x) => this.test(x, f.valFilter)) : this.test(s, f.valFilter)));
  }
  override eq(r: any, v: any): boolean {
    return anyOf(r, (x) => lower(valueOf(x)) === lower(v));
  }
  override ne(r: any, v: any): boolean {
    return !this.eq(r, v);
  }
  override co(r: any, v: any): boolean {
    if (Array.isArray(r)) return r.some((x) => this.co(x, v));
    const x = valueOf(r);
    return typeof x === 'string' && typeof v === 'string' ? x.toLowerCase().includes(v.toLowerCase()) : super.co(x, v);
  }
  override sw(r: any, v: any): boolean {
    if (Array.isArray(r)) return r.some((x) => this.sw(x, v));
    const x = valueOf(r);
    return typeof x === 'string' && typeof v === 'string' ? x.toLowerCase().startsWith(v.toLowerCase()) : super.sw(x, v);
  }
  override ew(r: any, v: any): boolean {
    if (Array.isArray(r)) return r.some((x) => this.ew(x, v));
    const x = valueOf(r);
    return typeof x === 'string' && typeof v === 'string' ? x.toLowerCase().endsWith(v.toLowerCase()) : super.ew(x, v);
  }
}

const tester = new CaseIgnoringTester();

export function matches(f: Filter, resource: unknown): boolean {
  try {
    return tester.test(resource, f);
  } catch {
    return false;
  }
}

/** The one indexed key a filter names exactly, if it is of the form `<key> eq "value"`. */
export function indexedKey(f: Filter): { attr: 'id' | 'username' | 'externalid' | 'displayname'; value: string } | undefined {
  if (f.op !== 'eq' || typeof f.compValue !== 'string') return undefined;
  const attr = f.attrPath.replace(/^urn:ietf:params:scim:schemas:core:2\.0:(User|Group):/i, '').toLowerCase();
  if (attr === 'id' || attr === 'username' || attr === 'externalid' || attr === 'displayname') return { attr, value: f.compValue };
  return undefined;
}
