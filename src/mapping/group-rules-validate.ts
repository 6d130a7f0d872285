// Save-time checks of a target's group rules: patterns that do not compile or backtrack
// catastrophically, renames that cannot give a valid name, default groups the target cannot
// have, and combinations that drop every group. Each issue is placed (`rules[2].rename`,
// relative to `groupRules`) so the CLI names the connector, target and rule, and the UI the row.
import type { GroupPattern, GroupRulesConfig } from '../config/group-rules.ts';
import type { TargetCapabilities } from '../core/types.ts';
import { literalArgumentProblems, parseExpression } from './expressions.ts';
import { compilePattern, GROUP_NAME_MAX, groupNameProblem, parseTemplate, TemplateProblem } from './group-patterns.ts';
import { dangerousPatternMessage, regexDangerReason } from './regex-safety.ts';
import type { Node } from './ast.ts';

export interface GroupRulesIssue {
  /** Relative to `groupRules`: `rules[2].include`, `defaultGroups[0]`, or '' for the whole. */
  path: string;
  message: string;
  severity: 'error' | 'warning';
  /** Offset inside a rename expression or template. */
  position?: number;
}

/** What a rename expression may read. */
const RENAME_INPUTS = new Set(['name', 'captures']);

function patternIssues(pattern: GroupPattern, at: string): { issues: GroupRulesIssue[]; captureCount?: number } {
  if (typeof pattern === 'string') {
    const problem = /[*?]/.test(pattern) ? undefined : groupNameProblem(pattern);
    if (problem) return { issues: [{ path: at, message: `the group name ${JSON.stringify(pattern)} ${problem}`, severity: 'error' }] };
    return { issues: [], captureCount: compilePattern(pattern).captureCount };
  }
  const where = `${at}.regex`;
  try {
    new RegExp(pattern.regex, 'iu');
  } catch (e) {
    return { issues: [{ path: where, message: `not a valid regular expression: ${e instanceof Error ? e.message : String(e)}; check brackets and escapes (\\. for a dot)`, severity: 'error' }] };
  }
  const danger = regexDangerReason(pattern.regex, 'iu');
  if (danger) return { issues: [{ path: where, message: dangerousPatternMessage('this group pattern', pattern.regex, danger), severity: 'error' }] };
  return { issues: [], captureCount: compilePattern(pattern).captureCount };
}

function templateIssues(template: string, captureCount: number | undefined, at: string): GroupRulesIssue[] {
  let parts;
  try {
    parts = parseTemplate(template);
  } catch (e) {
    if (e instanceof TemplateProblem) return [{ path: at, message: e.message, severity: 'error', position: e.position }];
    throw e;
  }
  const issues: GroupRulesIssue[] = [];
  const literal = parts.map((p) => ('text' in p ? p.text : '')).join('');
  const captures = parts.filter((p): p is { capture: number } => 'capture' in p).map((p) => p.capture);
  if (captures.length === 0) {
    const problem = groupNameProblem(literal.trim());
    if (problem) issues.push({ path: at, message: `the rename gives a name that ${problem}; write the new name, or use $1.. for the pattern's captures`, severity: 'error' });
  } else if (literal.length > GROUP_NAME_MAX) {
    issues.push({ path: at, message: `the rename's text alone is ${literal.length} characters; a group name has at most ${GROUP_NAME_MAX}`, severity: 'error' });
  }
  if (captureCount !== undefined) {
    for (const c of captures) {
      if (c > captureCount) {
        issues.push({
          path: at,
          message: `$${c} refers to capture ${c}, but the pattern has ${captureCount === 0 ? 'no captures' : `only ${captureCount}`}; in a glob each * or ? is a capture, in a regular expression each (...)`,
          severity: 'error',
        });
      }
    }
  }
  return issues;
}

function expressionIssues(source: string, at: string): GroupRulesIssue[] {
  const parsed = parseExpression(source);
  if (!parsed.ok) return [{ path: at, message: parsed.problem.message, severity: 'error', position: parsed.problem.position }];
  const [literal] = literalArgumentProblems(parsed.facts.calls, parsed.expression.ast() as Node);
  if (literal) return [{ path: at, message: literal.message, severity: 'error', position: literal.position }];
  const others = [...new Set(parsed.facts.references.map((r) => r.path.split('.')[0]!))].filter((p) => !RENAME_INPUTS.has(p));
  if (others.length > 0) {
    return [{ path: at, message: `a rename expression sees only name (the group's name) and captures (the pattern's captures), not ${others.join(', ')}`, severity: 'error' }];
  }
  return [];
}

/** Every problem of a target's group rules; the rules are usable when none is an error. */
export function validateGroupRules(config: GroupRulesConfig, ctx: { capabilities: TargetCapabilities; hasGroupsRule: boolean }): GroupRulesIssue[] {
  const issues: GroupRulesIssue[] = [];
  if (!ctx.capabilities.fields.some((f) => f.name === 'groups')) {
    issues.push({ path: '', message: `${ctx.capabilities.kind} has no group memberships idsync can write; remove groupRules from this target`, severity: 'error' });
    return issues;
  }
  for (const [i, rule] of config.rules.entries()) {
    const at = `rules[${i}]`;
    const key = rule.include !== undefined ? 'include' : 'exclude';
    const pattern = rule.include ?? rule.exclude;
    if (pattern === undefined) continue; // the schema has said so
    const { issues: found, captureCount } = patternIssues(pattern, `${at}.${key}`);
    issues.push(...found);
    if (typeof rule.rename === 'string') issues.push(...templateIssues(rule.rename, captureCount, `${at}.rename`));
    else if (rule.rename) issues.push(...expressionIssues(rule.rename.expression, `${at}.rename.expression`));
  }
  const seen = new Set<string>();
  for (const [i, name] of config.defaultGroups.entries()) {
    const problem = groupNameProblem(name);
    if (problem) issues.push({ path: `defaultGroups[${i}]`, message: `the default group ${JSON.stringify(name)} ${problem}`, severity: 'error' });
    else if (seen.has(name.toLowerCase())) issues.push({ path: `defaultGroups[${i}]`, message: `"${name}" is listed twice (group names ignore case)`, severity: 'warning' });
    seen.add(name.toLowerCase());
  }
  const drop = config.dropUnmatched ?? !ctx.hasGroupsRule;
  if (config.rules.length > 0 && drop && config.rules.every((r) => r.exclude !== undefined)) {
    issues.push({
      path: 'rules',
      message: 'there are only exclude rules and groups no rule matches are dropped, so no source group reaches the target; add an include rule (include: "*" for all others) or set dropUnmatched: false',
      severity: 'warning',
    });
  }
  return issues;
}
