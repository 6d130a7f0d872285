// Group rules at run time: the groups a user has (from the source, or from the target's
// `groups` mapping rule when it has one) go through the rules in order, the first rule whose
// pattern matches decides each group (include, possibly renamed, or exclude), groups no rule
// matches are kept or dropped, and the default groups are added. The result is the target's
// `groups` value; the planner then removes only memberships idsync added (planner.ts).
// Every group's fate is recorded as a decision, for the preview.
import type { GroupRulesConfig, GroupRule } from '../config/group-rules.ts';
import type { TargetCapabilities } from '../core/types.ts';
import { IdsyncError } from '../core/errors.ts';
import { CompiledExpression, DEFAULT_EXPRESSION_TIMEOUT_MS } from './expressions.ts';
import { compilePattern, fillTemplate, groupNameProblem, parseTemplate, type GroupMatcher, type TemplatePart } from './group-patterns.ts';
import { validateGroupRules, type GroupRulesIssue } from './group-rules-validate.ts';

export interface GroupDecision {
  /** The group as the rules received it; absent for a default group. */
  source?: string;
  /** Index of the rule that decided (in `rules`); absent when no rule matched or for a default group. */
  rule?: number;
  outcome: 'included' | 'excluded' | 'kept' | 'dropped' | 'default' | 'failed';
  /** The group's name in the target (included, kept, default). */
  name?: string;
  /** Why a rename failed for this group (outcome `failed`). */
  error?: string;
}

export interface GroupRulesOutcome {
  /** The target's `groups`: sorted, one entry per group whatever its case. */
  groups: string[];
  decisions: GroupDecision[];
  /** Renames that failed; the user's groups are then left as they are (see compileMapping). */
  errors: string[];
}

export interface CompiledGroupRules {
  /** Whether the source's groups are read at all: not for default groups alone. */
  readsSourceGroups: boolean;
  /** The effective dropUnmatched (its default depends on a `groups` mapping rule). */
  dropUnmatched: boolean;
  apply(groups: readonly string[]): Promise<GroupRulesOutcome>;
}

export interface GroupRulesContext {
  capabilities: TargetCapabilities;
  /** Whether the target's mapping has a `groups` rule, whose output the rules then receive. */
  hasGroupsRule: boolean;
  timeoutMs?: number;
}

/** Thrown by compileGroupRules when the rules have errors; `issues` lists all of them. */
export class GroupRulesValidationError extends IdsyncError {
  constructor(
    readonly issues: GroupRulesIssue[],
    targetKind: string,
  ) {
    const errors = issues.filter((i) => i.severity === 'error');
    super('CONFIG', `the group rules for ${targetKind} have ${errors.length} error${errors.length === 1 ? '' : 's'}: ${errors.map((i) => `groupRules.${i.path}: ${i.message}`).join('; ')}`, {
      hint: 'fix the listed group rules and save again',
    });
    this.name = 'GroupRulesValidationError';
  }
}

/** See GroupRulesConfig.dropUnmatched. */
export function effectiveDropUnmatched(config: Pick<GroupRulesConfig, 'dropUnmatched'>, hasGroupsRule: boolean): boolean {
  return config.dropUnmatched ?? !hasGroupsRule;
}

type Rename = { kind: 'template'; parts: TemplatePart[] } | { kind: 'expression'; expression: CompiledExpression };

interface RuleRuntime {
  index: number;
  rule: GroupRule;
  matcher: GroupMatcher;
  rename?: Rename;
}

const DECISION_CACHE_LIMIT = 50_000;
const NO_LOOKUPS = { targetUsernameOf: () => undefined, onUnresolved: () => {} };

function prepare(rule: GroupRule, index: number, timeoutMs: number): RuleRuntime {
  const matcher = compilePattern((rule.include ?? rule.exclude)!);
  let rename: Rename | undefined;
  if (typeof rule.rename === 'string') rename = { kind: 'template', parts: parseTemplate(rule.rename) };
  else if (rule.rename) rename = { kind: 'expression', expression: new CompiledExpression(rule.rename.expression, timeoutMs) };
  return { index, rule, matcher, rename };
}

/** The renamed name, or an error message naming the rule. */
async function renamed(r: RuleRuntime, name: string, captures: string[]): Promise<{ name: string } | { error: string }> {
  if (!r.rename) return { name };
  const rule = `group rule ${r.index + 1} (groupRules.rules[${r.index}])`;
  let raw: unknown;
  try {
    raw = r.rename.kind === 'template' ? fillTemplate(r.rename.parts, name, captures) : await r.rename.expression.evaluate({ name, captures }, NO_LOOKUPS);
  } catch (e) {
    return { error: `${rule} could not rename "${name}": ${e instanceof Error ? e.message : String(e)}` };
  }
  if (typeof raw !== 'string') {
    return { error: `${rule} renamed "${name}" to ${raw === undefined ? 'nothing' : JSON.stringify(raw)}, not a text; make the rename give a group name` };
  }
  const result = raw.trim();
  const problem = groupNameProblem(result);
  return problem ? { error: `${rule} renamed "${name}" to a name that ${problem}; fix the rename` } : { name: result };
}

/**
 * Validates and compiles a target's group rules. Throws GroupRulesValidationError when they
 * have errors; warnings do not stop compilation.
 */
export function compileGroupRules(config: GroupRulesConfig, ctx: GroupRulesContext): CompiledGroupRules {
  const issues = validateGroupRules(config, ctx);
  if (issues.some((i) => i.severity === 'error')) throw new GroupRulesValidationError(issues, ctx.capabilities.kind);
  const timeoutMs = ctx.timeoutMs ?? DEFAULT_EXPRESSION_TIMEOUT_MS;
  const rules = config.rules.map((r, i) => prepare(r, i, timeoutMs));
  const dropUnmatched = effectiveDropUnmatched(config, ctx.hasGroupsRule);
  const defaults = [...config.defaultGroups];

  /** The first matching rule's decision for one group name; it depends on the name alone. */
  const decide = async (source: string): Promise<GroupDecision> => {
    for (const r of rules) {
      const captures = r.matcher.match(source);
      if (!captures) continue;
      if (r.rule.exclude !== undefined) return { source, rule: r.index, outcome: 'excluded' };
      const result = await renamed(r, source, captures);
      return 'error' in result ? { source, rule: r.index, outcome: 'failed', error: result.error } : { source, rule: r.index, outcome: 'included', name: result.name };
    }
    return dropUnmatched ? { source, outcome: 'dropped' } : { source, outcome: 'kept', name: source };
  };
  // Users share groups: each name is decided once per run (one compilation), not once per user,
  // which matters most for rename expressions that run in the evaluation worker.
  const decided = new Map<string, GroupDecision>();

  return {
    readsSourceGroups: rules.length > 0 || !dropUnmatched,
    dropUnmatched,
    async apply(input) {
      const decisions: GroupDecision[] = [];
      const errors: string[] = [];
      for (const source of input) {
        let decision = decided.get(source);
        if (!decision) {
          decision = await decide(source);
          // A failure may be a timeout of a busy machine: decided again for the next user.
          if (decision.outcome !== 'failed') {
            if (decided.size >= DECISION_CACHE_LIMIT) decided.clear();
            decided.set(source, decision);
          }
        }
        if (decision.error) errors.push(decision.error);
        decisions.push(decision);
      }
      for (const name of defaults) decisions.push({ outcome: 'default', name });
      // One entry per group whatever its case; the first spelling in sorted order wins.
      const byKey = new Map<string, string>();
      for (const name of decisions.flatMap((d) => (d.name !== undefined ? [d.name] : [])).sort()) {
        if (!byKey.has(name.toLowerCase())) byKey.set(name.toLowerCase(), name);
      }
      return { groups: [...byKey.values()].sort(), decisions, errors };
    },
  };
}
