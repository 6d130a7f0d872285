// Preset functions available in mapping expressions, for what administrators do most.
// Each is a plain function over JSONata values so it can be tested on its own; an absent
// input (undefined) gives an absent result, so rules fall through to their default.
// docs/mapping.md documents every one with an example.
import { isEmptyValue } from './values.ts';

type Value = unknown;

function asText(value: Value): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value) && value.length === 1) return asText(value[0]);
  return undefined;
}

/** $lower("Alice@Contoso.com") → "alice@contoso.com" */
export function lower(value: Value): string | undefined {
  return asText(value)?.toLowerCase();
}

/** $upper("fin-42") → "FIN-42" */
export function upper(value: Value): string | undefined {
  return asText(value)?.toUpperCase();
}

/** $stripDomain("alice@contoso.com") → "alice"; a value without "@" is returned unchanged. */
export function stripDomain(value: Value): string | undefined {
  const text = asText(value);
  if (text === undefined) return undefined;
  const at = text.lastIndexOf('@');
  return at === -1 ? text : text.slice(0, at);
}

// Entra stores a guest's UPN as <mail with "@" replaced by "_">#EXT#@<tenant domain>.
const GUEST_MARKER = /#EXT#@/i;

/**
 * $guestToMail("jane.doe_fabrikam.com#EXT#@contoso.onmicrosoft.com") → "jane.doe@fabrikam.com".
 * The last "_" before #EXT# is the one that replaced the "@" (local parts may contain "_").
 * A UPN that is not a guest's is returned unchanged.
 */
export function guestToMail(value: Value): string | undefined {
  const upn = asText(value);
  if (upn === undefined) return undefined;
  const marker = GUEST_MARKER.exec(upn);
  if (!marker) return upn;
  const encoded = upn.slice(0, marker.index);
  const underscore = encoded.lastIndexOf('_');
  if (underscore <= 0 || underscore === encoded.length - 1) return upn; // not an encoded address; leave it be
  return `${encoded.slice(0, underscore)}@${encoded.slice(underscore + 1)}`;
}

/** $firstNonEmpty(mail, otherMails[0], userPrincipalName): the first argument that is not empty. */
export function firstNonEmpty(...values: Value[]): Value {
  for (const value of values) {
    if (!isEmptyValue(value)) return value;
  }
  return undefined;
}

/** $joinNonEmpty([givenName, surname], " ") → "Jane Doe"; empty members are skipped. */
export function joinNonEmpty(values: Value, separator: Value = ''): string | undefined {
  const list = Array.isArray(values) ? values : [values];
  const parts: string[] = [];
  for (const item of list.flat(Infinity)) {
    if (isEmptyValue(item)) continue;
    const text = asText(item);
    if (text === undefined) throw new Error(`$joinNonEmpty: cannot join ${typeof item === 'object' ? 'an object' : typeof item}`);
    parts.push(text);
  }
  return parts.length === 0 ? undefined : parts.join(asText(separator) ?? '');
}

const ALLOWED_REGEX_FLAGS = /^[imsu]*$/;
const regexCache = new Map<string, RegExp>();
const REGEX_CACHE_LIMIT = 500;

/**
 * Builds the RegExp for $regexReplace. Every match is replaced, so "g" is always on; the
 * optional flags add i (ignore case), m (multi-line), s (dot matches newline), u (unicode).
 * Throws a plain Error with the reason when the pattern or flags are invalid.
 */
export function compileReplacePattern(pattern: string, flags = ''): RegExp {
  const cacheKey = `${flags}/${pattern}`;
  const cached = regexCache.get(cacheKey);
  if (cached) return cached;
  const extra = flags.replace(/g/g, '');
  if (!ALLOWED_REGEX_FLAGS.test(extra)) throw new Error(`invalid regex flags "${flags}"; use any of i, m, s, u`);
  const regex = new RegExp(pattern, `g${[...new Set(extra)].join('')}`);
  if (regexCache.size >= REGEX_CACHE_LIMIT) regexCache.clear();
  regexCache.set(cacheKey, regex);
  return regex;
}

/** $regexReplace("FIN-0042", "^FIN-0*", "") → "42". The replacement may use $1, $2... */
export function regexReplace(value: Value, pattern: Value, replacement: Value = '', flags: Value = ''): string | undefined {
  const text = asText(value);
  if (text === undefined) return undefined;
  if (typeof pattern !== 'string') throw new Error('$regexReplace: the pattern must be a string, e.g. "^FIN-"');
  const regex = compileReplacePattern(pattern, asText(flags) ?? '');
  regex.lastIndex = 0;
  return text.replace(regex, asText(replacement) ?? '');
}

/** Lookup behind $targetUsername; `undefined` means "not known yet" (the rule becomes pending). */
export type TargetUsernameLookup = (sourceId: string) => string | null | undefined;

/** Names of the presets, for validation of function calls and for the docs' table. */
export const PRESET_FUNCTION_NAMES = [
  'lower',
  'upper',
  'stripDomain',
  'guestToMail',
  'firstNonEmpty',
  'regexReplace',
  'joinNonEmpty',
  'targetUsername',
] as const;

/** The presets that do not depend on the user being evaluated, by JSONata name. */
export const STATIC_PRESETS: Record<string, (...args: any[]) => unknown> = {
  lower,
  upper,
  stripDomain,
  guestToMail,
  firstNonEmpty,
  regexReplace,
  joinNonEmpty,
};
