// SCIM filters (RFC 7644 §3.4.2.2) parsed by scim2-parse-filter, evaluated over stored
// resources. String comparisons ignore case (userName, emails and most attributes are
// caseExact=false); a complex multi-valued attribute compared as a whole compares its `value`
// (`members eq "id"`). Filters that name one resource by an indexed key (`userName eq "x"`,
// `externalId eq "x"`, `id eq "x"`, a group's `displayName eq "x"`) are answered from the index,
// so Entra's lookup before every create does not scan everyone.
import { parse, Tester, type Filter } from 'scim2-parse-filter';
import { ScimError } from './model.ts';

/** Longer filters are refused before parsing (no provider sends one this long). */
export const MAX_FILTER_LENGTH = 4096;

export function parseFilter(text: string): Filter {
  if (text.length > MAX_FILTER_LENGTH) throw new ScimError(400, `the filter is longer than ${MAX_FILTER_LENGTH} characters`, 'invalidFilter');
  try {
    return parse(text);
  } catch (e) {
    // Anything the parser throws (including a stack overflow on deep nesting) is the filter's fault.
    throw new ScimError(400, `the filter could not be parsed: ${e instanceof Error ? e.message.slice(0, 200) : 'invalid'}`, 'invalidFilter');
  }
}

const lower = (v: unknown) => (typeof v === 'string' ? v.toLowerCase() : v);
const valueOf = (r: unknown) => (typeof r === 'object' && r !== null && !Array.isArray(r) && 'value' in r ? (r as { value: unknown }).value : r);

// A multi-valued attribute compared as a whole (`members eq "id"`) reaches a comparison as its
// list: it matches when one of its values does.
const anyOf = (r: unknown, test: (x: unknown) => boolean) => (Array.isArray(r) ? r.some(test) : test(r));

class CaseIgnoringTester extends Tester {
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
