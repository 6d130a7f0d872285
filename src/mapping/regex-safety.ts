// Save-time check of regular expressions for catastrophic backtracking (ReDoS). A pattern such
// as `(a+)+$` takes seconds on a 30-character name, and the directory decides the names, so a
// pattern that can be known to be dangerous is refused before any user is evaluated. The
// analysis is recheck's (https://makenowjust-labs.github.io/recheck/), run in-process with its
// pure-JavaScript backend so it works offline and needs no native binary or JVM.
import { createRequire } from 'node:module';

type Recheck = typeof import('recheck');
const require = createRequire(import.meta.url);
let recheck: Recheck | undefined;

/** Time recheck may spend on one pattern; an inconclusive answer lets the pattern through. */
const ANALYSIS_TIMEOUT_MS = 2000;
const verdicts = new Map<string, string | null>();
const VERDICT_CACHE_LIMIT = 1000;

/**
 * Quantifiers in a pattern (`*`, `+`, `?` after an atom, `{n,m}`), escapes skipped.
 */
function quantifierCount(pattern: string): number {
  let count = 0;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') i++;
    else if (c === '*' || c === '+' || c === '{') count++;
    else if (c === '?' && i > 0 && pattern[i - 1] !== '(') count++;
  }
  return count;
}

/**
 * Whether backtracking is at most quadratic without any analysis: no quantifier, or a single one
 * outside any group (it repeats one character or class). Such patterns (`^dept-`, `^FIN-0*`)
 * need neither recheck (slow to load) at save time nor the worker at run time.
 */
export function isTriviallySafePattern(pattern: string): boolean {
  const quantifiers = quantifierCount(pattern);
  return quantifiers === 0 || (quantifiers === 1 && !pattern.includes('('));
}

/**
 * Why the pattern is dangerous (exponential, or polynomial of degree 3 or more, in the length of
 * the text it runs on), or undefined when it is not known to be. Quadratic patterns such as
 * `\s+$` are common and harmless on directory-sized values, so they pass; the run-time limit
 * still bounds what slips through.
 */
export function regexDangerReason(pattern: string, flags = ''): string | undefined {
  if (isTriviallySafePattern(pattern)) return undefined;
  const key = `${flags}/${pattern}`;
  const cached = verdicts.get(key);
  if (cached !== undefined) return cached ?? undefined;
  recheck ??= require('recheck') as Recheck;
  const diagnostics = recheck.checkSync(pattern, flags.replace(/[^gimsuy]/g, ''), { timeout: ANALYSIS_TIMEOUT_MS });
  let reason: string | null = null;
  if (diagnostics.status === 'vulnerable') {
    const { complexity } = diagnostics;
    if (complexity.type === 'exponential') reason = `it can take exponential time on some values`;
    else if (complexity.type === 'polynomial' && complexity.degree >= 3) reason = `it can take time growing with the ${ordinal(complexity.degree)} power of the value's length`;
  }
  if (verdicts.size >= VERDICT_CACHE_LIMIT) verdicts.clear();
  verdicts.set(key, reason);
  return reason ?? undefined;
}

function ordinal(n: number): string {
  return n === 3 ? '3rd' : `${n}th`;
}

/** The message for a refused pattern: what is wrong and what to do. */
export function dangerousPatternMessage(where: string, pattern: string, reason: string): string {
  return `${where}: the pattern ${JSON.stringify(pattern)} is refused because ${reason} (catastrophic backtracking); rewrite it without a repeated group that can match the same text in several ways, e.g. (a+)+ → a+`;
}
