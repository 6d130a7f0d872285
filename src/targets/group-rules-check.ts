// Test connection's check of a target's group rules: with `createMissingGroups: false`, every
// group the rules name outright (the default groups, and renames that give a fixed name) must
// already exist in the target, or each synced user fails on it. The administrator is told here,
// before a run, which groups are missing and what to do. Renames built from a pattern's captures
// ($1, expressions) depend on the directory's groups; a missing one is named in the run, per user.
import { errorText } from '../core/errors.ts';
import type { TargetConfig } from '../config/schema.ts';
import type { TargetConnector, TestResult } from '../core/types.ts';

type Check = TestResult['checks'][number];

/** The product as the targets' own messages name it. */
const PRODUCT: Record<string, string> = { 'jira-dc': 'Jira', 'jira-cloud': 'Jira Cloud', 'confluence-dc': 'Confluence', 'confluence-cloud': 'Confluence Cloud', crowd: 'Crowd' };
const productOf = (connector: TargetConnector) => PRODUCT[connector.kind] ?? 'the target';

/** A group the rules name outright, and where the rules name it (for the message). */
export interface NamedGroup {
  name: string;
  from: string;
}

/**
 * The default groups and the fixed rename names (a template without $0..$9; `$$` is a dollar),
 * once each, ignoring case as the targets do.
 */
export function namedGroups(groupRules: TargetConfig['groupRules']): NamedGroup[] {
  if (!groupRules) return [];
  const found = new Map<string, NamedGroup>();
  const add = (name: string, from: string) => {
    if (name && !found.has(name.toLowerCase())) found.set(name.toLowerCase(), { name, from });
  };
  for (const g of groupRules.defaultGroups) add(g, 'default group');
  groupRules.rules.forEach((r, i) => {
    if (typeof r.rename !== 'string' || r.include === undefined) return;
    const literal = r.rename.replaceAll('$$', '');
    if (/\$[0-9]/.test(literal)) return;
    add(r.rename.replaceAll('$$', '$'), `rename of rule ${i + 1}`);
  });
  return [...found.values()];
}

/**
 * The check, when it applies: the target creates no missing groups, the rules name some, and
 * the connector can tell whether a group exists. Undefined otherwise.
 */
export async function groupRulesCheck(config: Pick<TargetConfig, 'groupRules' | 'createMissingGroups'>, connector: TargetConnector, product = productOf(connector)): Promise<Check | undefined> {
  const named = namedGroups(config.groupRules);
  if (config.createMissingGroups || !named.length || !connector.groupExists) return undefined;
  const exists = connector.groupExists.bind(connector);
  try {
    const missing: NamedGroup[] = [];
    for (const g of named) if (!(await exists(g.name))) missing.push(g);
    if (!missing.length) return { name: 'group rules', ok: true, message: `the ${named.length === 1 ? 'group' : `${named.length} groups`} the group rules name exist${named.length === 1 ? 's' : ''} in ${product}` };
    const list = missing.map((g) => `"${g.name}" (${g.from})`).join(', ');
    return {
      name: 'group rules',
      ok: false,
      message: `${missing.length === 1 ? 'group' : 'groups'} ${list} ${missing.length === 1 ? 'does' : 'do'} not exist in ${product}, and "create missing groups" is off: every user given ${missing.length === 1 ? 'it' : 'them'} would fail. Create ${missing.length === 1 ? 'it' : 'them'} in ${product}, or turn on "create missing groups" (createMissingGroups: true)`,
    };
  } catch (e) {
    return { name: 'group rules', ok: false, message: `could not check the groups the group rules name: ${errorText(e)}` };
  }
}

/** The target's own checks, then (when they passed, so the credentials work) the group rules check. */
export async function testTarget(config: Pick<TargetConfig, 'groupRules' | 'createMissingGroups'>, connector: TargetConnector): Promise<TestResult> {
  const result = await connector.test();
  if (!result.ok) return result;
  const check = await groupRulesCheck(config, connector);
  return check ? { ok: check.ok, checks: [...result.checks, check] } : result;
}
