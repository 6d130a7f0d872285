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

export type * from './api.ts';
export { collectNeeds, type MappingNeeds } from './needs.ts';
export { validateMapping, MappingValidationError, TABLE_ROW, isKnownAttribute, hasErrors } from './validate.ts';
export { previewRule, previewMapping, type PreviewOptions } from './preview.ts';
export { PRESET_CATALOG, presetsFor, type PresetRow } from './presets-catalog.ts';
export { DEFAULT_EXPRESSION_TIMEOUT_MS } from './expressions.ts';

export interface CompileOptions {
  /** Time budget for one expression evaluation for one user (default 1,000 ms). */
  timeoutMs?: number;
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

  return {
    rules: frozenRules,
    needs: collectNeeds(rules),
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
      return mapped;
    },
  };
}
