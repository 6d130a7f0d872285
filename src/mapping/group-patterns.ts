// The pieces of a group rule that look at one name: a pattern (exact name, glob, regular
// expression) that says whether it matches and what its captures are, a rename template, and
// the one policy of what a group name in a target may be. Matching ignores case everywhere,
// because Jira, Confluence and Crowd treat "Developers" and "developers" as one group.
import type { GroupPattern } from '../config/group-rules.ts';

/** Jira, Confluence and Crowd keep group names in a column of 255 characters. */
export const GROUP_NAME_MAX = 255;

export interface GroupMatcher {
  /** The captures when the name matches (empty for an exact name), else null. */
  match(name: string): string[] | null;
  /** How many captures a match gives ($1..$n in a rename). */
  captureCount: number;
  /** How the pattern reads in messages and the preview. */
  label: string;
}

const isGlob = (s: string) => s.includes('*') || s.includes('?');

/** The regular expression a glob stands for: `*` any text, `?` one character, each a capture. */
function globToRegExp(glob: string): RegExp {
  let source = '^';
  for (const c of glob) {
    if (c === '*') source += '(.*)';
    else if (c === '?') source += '(.)';
    else source += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`${source}$`, 'isu');
}

/**
 * Builds the matcher of a pattern. Throws an Error (the RegExp's message) for a regular
 * expression that does not compile; callers validate first (group-rules-validate.ts), which also
 * refuses patterns that backtrack catastrophically.
 */
export function compilePattern(pattern: GroupPattern): GroupMatcher {
  if (typeof pattern === 'string' && !isGlob(pattern)) {
    const wanted = pattern.toLowerCase();
    return { match: (name) => (name.toLowerCase() === wanted ? [] : null), captureCount: 0, label: JSON.stringify(pattern) };
  }
  const regex = typeof pattern === 'string' ? globToRegExp(pattern) : new RegExp(pattern.regex, 'iu');
  const captureCount = new RegExp(`${regex.source}|`, 'u').exec('')!.length - 1;
  return {
    match(name) {
      const m = regex.exec(name);
      return m ? m.slice(1).map((c) => c ?? '') : null;
    },
    captureCount,
    label: typeof pattern === 'string' ? JSON.stringify(pattern) : `/${pattern.regex}/`,
  };
}

export type TemplatePart = { text: string } | { capture: number };

/**
 * A rename template in parts: `$0`..`$9` a capture (`$0` the whole source name), `$$` a dollar
 * sign, all else literal. Throws with the offset of a `$` that is neither.
 */
export function parseTemplate(template: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let text = '';
  for (let i = 0; i < template.length; i++) {
    const c = template[i]!;
    if (c !== '$') {
      text += c;
      continue;
    }
    const next = template[i + 1];
    if (next === '$') {
      text += '$';
      i++;
    } else if (next !== undefined && next >= '0' && next <= '9') {
      if (text) parts.push({ text });
      text = '';
      parts.push({ capture: Number(next) });
      i++;
    } else {
      throw new TemplateProblem(i, `"$" at position ${i} is not $0..$9 (a capture) or $$ (a dollar sign)`);
    }
  }
  if (text) parts.push({ text });
  return parts;
}

export class TemplateProblem extends Error {
  constructor(
    readonly position: number,
    message: string,
  ) {
    super(message);
  }
}

export function fillTemplate(parts: readonly TemplatePart[], name: string, captures: readonly string[]): string {
  return parts.map((p) => ('text' in p ? p.text : p.capture === 0 ? name : (captures[p.capture - 1] ?? ''))).join('');
}

/**
 * Why a name cannot be a group in the target, or undefined when it can. The one check of a
 * group name, for default groups at save time and renamed groups at run time.
 */
export function groupNameProblem(name: string): string | undefined {
  if (name.trim() === '') return 'is empty';
  if (name !== name.trim()) return 'starts or ends with a space, which the target would drop';
  if (name.length > GROUP_NAME_MAX) return `is ${name.length} characters long; the target allows at most ${GROUP_NAME_MAX}`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'contains a control character (a line break or tab?)';
  return undefined;
}
