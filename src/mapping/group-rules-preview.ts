// The group rules editor's preview: for a sample user, the groups the rules receive (from the
// source, or from the target's `groups` mapping rule), what each rule decided for each group,
// and the resulting `groups` value — computed by the same compiled rules a sync runs.
import type { GroupRulesConfig } from '../config/group-rules.ts';
import type { MappingRule, SourceUser, TargetCapabilities } from '../core/types.ts';
import { compileGroupRules, effectiveDropUnmatched, type GroupDecision } from './group-rules.ts';
import { validateGroupRules, type GroupRulesIssue } from './group-rules-validate.ts';
import { previewRule } from './preview.ts';

export interface GroupRulesPreview {
  /** `mapping` when the target's `groups` mapping rule gave the rules their input. */
  inputFrom: 'source' | 'mapping';
  /** The groups the rules received. */
  input: string[];
  decisions: GroupDecision[];
  /** The target's `groups` value; absent when the rules have errors or a rename failed. */
  groups?: string[];
  dropUnmatched: boolean;
  /** Problems of the rules themselves (the preview does not run while one is an error). */
  issues: GroupRulesIssue[];
  /** Why there is no result for this user (a failed rename, a failed `groups` mapping rule). */
  errors: string[];
}

export async function previewGroupRules(
  config: GroupRulesConfig,
  sampleUser: SourceUser,
  opts: { capabilities: TargetCapabilities; mapping?: readonly MappingRule[]; timeoutMs?: number },
): Promise<GroupRulesPreview> {
  const groupsRule = opts.mapping?.find((r) => r.target === 'groups');
  const hasGroupsRule = groupsRule !== undefined;
  const base = { inputFrom: hasGroupsRule ? ('mapping' as const) : ('source' as const), dropUnmatched: effectiveDropUnmatched(config, hasGroupsRule) };
  const issues = validateGroupRules(config, { capabilities: opts.capabilities, hasGroupsRule });
  let input = sampleUser.groups ?? [];
  if (groupsRule) {
    const r = await previewRule(groupsRule, sampleUser, opts.capabilities, { timeoutMs: opts.timeoutMs });
    if (!r.ok) return { ...base, input: [], decisions: [], issues, errors: [`the groups mapping rule failed for this user: ${r.error}`] };
    input = Array.isArray(r.value) ? r.value.filter((g): g is string => typeof g === 'string') : [];
  }
  if (issues.some((i) => i.severity === 'error')) return { ...base, input, decisions: [], issues, errors: ['fix the group rules marked as errors to see the preview'] };
  const outcome = await compileGroupRules(config, { capabilities: opts.capabilities, hasGroupsRule, timeoutMs: opts.timeoutMs }).apply(input);
  return {
    ...base,
    input,
    decisions: outcome.decisions,
    ...(outcome.errors.length === 0 ? { groups: outcome.groups } : {}),
    issues,
    errors: outcome.errors,
  };
}
