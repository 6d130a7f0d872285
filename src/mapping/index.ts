// The mapper: turns a target's mapping table into a function from a source user to the
// target's field values. Plain attribute paths are read directly; anything else is a
// JSONata expression with idsync's preset functions, compiled once and time-bounded.
// See docs/mapping.md for the rule semantics administrators rely on.
import { IdsyncError } from '../core/errors.ts';
import type { MappingRule, SourceUser, TargetCapabilities } from '../core/types.ts';
import type { CompiledMapping, MappedUser, MappingContext } from './api.ts';
import { DEFAULT_EXPRESSION_TIMEOUT_MS } from './expressions.ts';
import { resolveTargetField } from './fields.ts';
import { collectNeeds } from './needs.ts';
import { evaluateDirectRule, evaluateRule, prepareRule, UserScope, type RuleRuntime } from './rules.ts';
import { assertValidMapping } from './validate.ts';
import type { GroupRulesConfig } from '../config/group-rules.ts';
import { compileGroupRules } from './group-rules.ts';

export type * from './api.ts';
export { collectNeeds, type MappingNeeds } from './needs.ts';
export { validateMapping, MappingValidationError, TABLE_ROW, isKnownAttribute, hasErrors } from './validate.ts';
export { previewRule, previewMapping, type PreviewOptions } from './preview.ts';
export { PRESET_CATALOG, presetsFor, type PresetRow } from './presets-catalog.ts';
export { DEFAULT_EXPRESSION_TIMEOUT_MS } from './expressions.ts';
export { compileGroupRules, effectiveDropUnmatched, GroupRulesValidationError, type GroupDecision, type GroupRulesOutcome } from './group-rules.ts';
export { validateGroupRules, type GroupRulesIssue } from './group-rules-validate.ts';
export { previewGroupRules, type GroupRulesPreview } from './group-rules-preview.ts';

export interface CompileOptions {
  /** Time budget for one expression evaluation for one user (default 1,000 ms). */
  timeoutMs?: number;
  /**
   * The target's group rules: they receive the `groups` rule's value when the mapping has one,
   * else the source's groups, and their result is the `groups` value (README "Group rules").
   */
  groupRules?: GroupRulesConfig;
}

/**
 * Validates and compiles a mapping table for one target.
 * Throws MappingValidationError (an IdsyncError with code CONFIG, listing `issues`) when the
 * table has errors; warnings do not stop compilation.
 */
export function compileMapping(rules: MappingRule[], capabilities: TargetCapabilities, opts: CompileOptions = {}): CompiledMapping {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_EXPRESSION_TIMEOUT_MS;
  // JSONata reads 0 as "no limit"; an unbounded expression must never be configured by accident.
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new IdsyncError('CONFIG', `invalid mapping expression timeout ${timeoutMs} ms`, { hint: 'use a positive number of milliseconds, e.g. 50' });
  }
  assertValidMapping(rules, capabilities);
  const runtimes: RuleRuntime[] = rules.map((rule) => {
    const resolved = resolveTargetField(rule.target, capabilities);
    // Validation has refused every other kind of resolution.
    if (resolved.kind !== 'field') throw new Error(`unreachable: ${rule.target} did not resolve`);
    return prepareRule(rule, resolved.field.type, resolved.field.maxLength, timeoutMs);
  });
  const managerInInput = runtimes.some((r) => r.reader.kind === 'expression' && r.reader.expression.readsManagerTargetUsername);
  const frozenRules = Object.freeze(rules.map((r) => Object.freeze({ ...r })));
  const groupsRule = rules.find((r) => r.target === 'groups');
  const hasGroupsRule = groupsRule !== undefined;
  const groupsFlow = groupsRule?.flow;
  const groupRules = opts.groupRules ? compileGroupRules(opts.groupRules, { capabilities, hasGroupsRule, timeoutMs }) : undefined;
  const needs = collectNeeds(rules);
  if (groupRules?.readsSourceGroups) needs.groups = true;

  return {
    rules: frozenRules,
    needs,
    async evaluate(user: SourceUser, ctx: MappingContext): Promise<MappedUser> {
      const mapped: MappedUser = { values: {}, flows: {}, pending: [], errors: [] };
      const scope = new UserScope(user, ctx);
      for (const runtime of runtimes) {
        const field = runtime.rule.target;
        // Plain paths stay synchronous: no promise per rule on the hot path.
        const outcome =
          runtime.reader.kind === 'expression' ? await evaluateRule(runtime, scope, managerInInput) : evaluateDirectRule(runtime, scope);
        switch (outcome.kind) {
          case 'value':
            mapped.values[field] = outcome.value;
            mapped.flows[field] = runtime.rule.flow;
            break;
          case 'pending':
            mapped.pending.push(field);
            break;
          case 'error':
            mapped.errors.push({ field, message: outcome.message });
            break;
          case 'omit':
            break;
        }
      }
      if (groupRules) await applyGroupRules(groupRules, groupsFlow, user, mapped);
      return mapped;
    },
  };
}

/**
 * Puts the group rules' result in `groups`. Their input is the `groups` rule's value when the
 * mapping has one (nothing while that rule is pending or failed: the user is evaluated again, or
 * fails), else the source's groups. A rename that fails leaves the user's groups as they are
 * and fails the user, naming the rule: a partial list would remove memberships wrongly.
 */
async function applyGroupRules(groupRules: ReturnType<typeof compileGroupRules>, groupsFlow: MappingRule['flow'] | undefined, user: SourceUser, mapped: MappedUser): Promise<void> {
  const hasGroupsRule = groupsFlow !== undefined;
  if (hasGroupsRule && (mapped.pending.includes('groups') || mapped.errors.some((e) => e.field === 'groups'))) return;
  // A source asked for groups always says which (an empty list for none); without an answer
  // the user's groups are left as they are rather than taken for "none" and removed.
  if (!hasGroupsRule && groupRules.readsSourceGroups && user.groups === undefined) return;
  const input = hasGroupsRule ? stringList(mapped.values.groups) : (user.groups ?? []);
  const outcome = await groupRules.apply(input);
  if (outcome.errors.length > 0) {
    delete mapped.values.groups;
    delete mapped.flows.groups;
    for (const message of outcome.errors) mapped.errors.push({ field: 'groups', message });
    return;
  }
  mapped.values.groups = outcome.groups;
  mapped.flows.groups = groupsFlow ?? 'always';
}

function stringList(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}
