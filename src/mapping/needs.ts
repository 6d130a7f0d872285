// What the source must fetch for a mapping: the top-level attributes its rules read (for
// Graph's $select), whether group memberships are needed, and whether the manager is.
import type { MappingRule, SourceQuery } from '../core/types.ts';
import { topLevelOf } from './ast.ts';
import { parseExpression } from './expressions.ts';
import { parsePlainPath } from './paths.ts';

export type MappingNeeds = Pick<SourceQuery, 'attributes' | 'groups' | 'manager'>;

// These reach the source through their own channels (the record id, groups: true,
// manager: true), never through the attribute list.
const NOT_ATTRIBUTES = new Set(['id', 'groups', 'manager']);

/** Dotted attribute paths a rule's source reads, from the record's root. */
export function referencedPaths(source: string): { paths: string[]; wholeRecord: boolean } {
  const plain = parsePlainPath(source);
  if (plain) return { paths: [plain.join('.')], wholeRecord: false };
  const parsed = parseExpression(source);
  // An expression that does not parse cannot run either, so it needs nothing.
  if (!parsed.ok) return { paths: [], wholeRecord: false };
  const { facts } = parsed;
  return { paths: facts.references.map((r) => r.path), wholeRecord: facts.readsWholeRecord };
}

export function collectNeeds(rules: readonly Pick<MappingRule, 'source'>[]): MappingNeeds {
  const attributes = new Set<string>();
  let groups = false;
  let manager = false;
  for (const rule of rules) {
    if (typeof rule.source !== 'string') continue;
    const { paths, wholeRecord } = referencedPaths(rule.source);
    // An expression that looks at the whole record may read anything; groups and manager
    // are the expensive extras, and when unsure they are fetched.
    if (wholeRecord) {
      groups = true;
      manager = true;
    }
    for (const path of paths) {
      const top = topLevelOf(path);
      if (top === 'groups') groups = true;
      else if (top === 'manager') manager = true;
      if (!NOT_ATTRIBUTES.has(top)) attributes.add(top);
    }
  }
  return { attributes: [...attributes].sort(), groups, manager };
}
