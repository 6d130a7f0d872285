// Previews for the mapping editor: what a rule (or a whole table) produces for a sample user.
// Each row is prepared on its own, so one broken row shows its error without hiding the others.
import type { MappingRule, SourceUser, TargetCapabilities } from '../core/types.ts';
import type { MappingContext, PreviewResult } from './api.ts';
import { DEFAULT_EXPRESSION_TIMEOUT_MS } from './expressions.ts';
import { conventionalFieldType, resolveTargetField, type FieldType } from './fields.ts';
import { evaluateRule, prepareRule, UserScope, type RuleRuntime } from './rules.ts';

export interface PreviewOptions {
  /** The target's capabilities, for the field's type; without them idsync's naming convention decides. */
  capabilities?: TargetCapabilities;
  timeoutMs?: number;
}

/** Without a link store every reference is "not known yet", which the preview reports as pending. */
const NO_LINKS: MappingContext = { targetUsernameOf: () => undefined };

function fieldTypeOf(target: string, capabilities: TargetCapabilities | undefined): { type: FieldType; maxLength?: number } {
  if (capabilities) {
    const resolved = resolveTargetField(target, capabilities);
    if (resolved.kind === 'field') return { type: resolved.field.type, maxLength: resolved.field.maxLength };
  }
  return { type: conventionalFieldType(target) };
}

function prepare(rule: MappingRule, opts: PreviewOptions): RuleRuntime | { error: string } {
  const { type, maxLength } = fieldTypeOf(rule.target, opts.capabilities);
  try {
    return prepareRule(rule, type, maxLength, opts.timeoutMs ?? DEFAULT_EXPRESSION_TIMEOUT_MS);
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e) };
  }
}

async function previewPrepared(runtime: RuleRuntime, scope: UserScope): Promise<PreviewResult> {
  const managerInInput = runtime.reader.kind === 'expression' && runtime.reader.expression.readsManagerTargetUsername;
  const outcome = await evaluateRule(runtime, scope, managerInInput);
  switch (outcome.kind) {
    case 'value':
      return { ok: true, value: outcome.value, empty: outcome.empty };
    case 'omit':
      return { ok: true, value: undefined, empty: true };
    case 'pending':
      return { ok: true, value: undefined, empty: true, pending: true };
    case 'error':
      return { ok: false, error: outcome.message };
  }
}

function isCapabilities(value: unknown): value is TargetCapabilities {
  return typeof value === 'object' && value !== null && Array.isArray((value as TargetCapabilities).fields);
}

/**
 * The third argument may be the link context or, for callers that have no links at hand, the
 * target's capabilities (so the preview coerces to the real field type).
 */
function splitArguments(third: MappingContext | TargetCapabilities | undefined, opts: PreviewOptions): [MappingContext, PreviewOptions] {
  if (isCapabilities(third)) return [NO_LINKS, { ...opts, capabilities: opts.capabilities ?? third }];
  return [third ?? NO_LINKS, opts];
}

/**
 * The value one rule gives for a sample user: after default / whenEmpty and coercion.
 * `value` undefined means the field would be left alone; null means it would be cleared.
 */
export async function previewRule(
  rule: MappingRule,
  sampleUser: SourceUser,
  ctxOrCapabilities?: MappingContext | TargetCapabilities,
  options: PreviewOptions = {},
): Promise<PreviewResult> {
  const [ctx, opts] = splitArguments(ctxOrCapabilities, options);
  const runtime = prepare(rule, opts);
  if ('error' in runtime) return { ok: false, error: runtime.error };
  return previewPrepared(runtime, new UserScope(sampleUser, ctx));
}

/** Previews every row of a table for a sample user; results are in row order. */
export async function previewMapping(
  rules: MappingRule[],
  sampleUser: SourceUser,
  ctxOrCapabilities?: MappingContext | TargetCapabilities,
  options: PreviewOptions = {},
): Promise<PreviewResult[]> {
  const [ctx, opts] = splitArguments(ctxOrCapabilities, options);
  const results: PreviewResult[] = [];
  for (const rule of rules) {
    const runtime = prepare(rule, opts);
    // A fresh scope per row: rows prepared alone disagree on whether the input carries
    // manager.targetUsername, and the shared input is built once per scope.
    results.push('error' in runtime ? { ok: false, error: runtime.error } : await previewPrepared(runtime, new UserScope(sampleUser, ctx)));
  }
  return results;
}
