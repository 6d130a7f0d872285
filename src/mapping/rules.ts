// One mapping rule made ready to run, and its evaluation for one user: read the value (plain
// path or expression), apply empty semantics (default, keep, clear), coerce to the field type.
import type { Json, MappingRule, SourceUser } from '../core/types.ts';
import type { MappingContext } from './api.ts';
import { CompiledExpression, DEFAULT_EXPRESSION_TIMEOUT_MS } from './expressions.ts';
import type { FieldType } from './fields.ts';
import { MANAGER_TARGET_USERNAME, parsePlainPath, readUserPath } from './paths.ts';
import { coerceToFieldType, isEmptyValue } from './values.ts';

type Reader =
  | { kind: 'path'; segments: string[] }
  | { kind: 'managerTargetUsername' }
  | { kind: 'expression'; expression: CompiledExpression };

export interface RuleRuntime {
  rule: MappingRule;
  type: FieldType;
  maxLength?: number;
  /** The default, already coerced to the field type; undefined when there is none. */
  defaultValue?: Json;
  reader: Reader;
}

export type RuleOutcome =
  /** `empty` tells whether the source gave nothing (the value then comes from default or clear). */
  | { kind: 'value'; value: Json; empty: boolean }
  /** Empty with whenEmpty: keep: the field is left alone. */
  | { kind: 'omit' }
  | { kind: 'pending' }
  | { kind: 'error'; message: string };

/**
 * Prepares a rule. Throws ExpressionProblem for an expression that does not parse, and an
 * Error when the default does not fit the field type; callers validate beforehand.
 */
export function prepareRule(rule: MappingRule, type: FieldType, maxLength: number | undefined, timeoutMs = DEFAULT_EXPRESSION_TIMEOUT_MS): RuleRuntime {
  let reader: Reader;
  const segments = parsePlainPath(rule.source);
  if (segments && segments.join('.') === MANAGER_TARGET_USERNAME) reader = { kind: 'managerTargetUsername' };
  else if (segments) reader = { kind: 'path', segments };
  else reader = { kind: 'expression', expression: new CompiledExpression(rule.source, timeoutMs) };

  let defaultValue: Json | undefined;
  if (rule.default !== undefined && !isEmptyValue(rule.default)) {
    const coerced = coerceToFieldType(rule.default, type, maxLength);
    if (!coerced.ok) throw new Error(`invalid default for ${rule.target}: ${coerced.message}`);
    defaultValue = coerced.value;
  }
  return { rule, type, maxLength, defaultValue, reader };
}

const NOT_LOOKED_UP = Symbol('not looked up');

/**
 * What evaluating rules for one user shares: the expression input (built once, only when an
 * expression runs) and the manager's target username (looked up once).
 */
export class UserScope {
  private input?: Record<string, unknown>;
  private managerUsername: string | null | undefined | typeof NOT_LOOKED_UP = NOT_LOOKED_UP;

  constructor(
    readonly user: SourceUser,
    readonly ctx: MappingContext,
  ) {}

  /** The manager's username in the target: null when there is none, undefined when not known yet. */
  managerTargetUsername(): string | null | undefined {
    if (this.managerUsername === NOT_LOOKED_UP) {
      const manager = this.user.attrs.manager as { id?: unknown } | null | undefined;
      const id = manager && typeof manager === 'object' ? manager.id : undefined;
      this.managerUsername = typeof id === 'string' && id !== '' ? this.ctx.targetUsernameOf(id) : null;
    }
    return this.managerUsername;
  }

  /**
   * For the shared expression input. A failed lookup leaves the username out: rules that read
   * it have already failed with that error before evaluating (see evaluateRule), and the
   * others do not need it.
   */
  private managerUsernameOrNothing(): string | undefined {
    try {
      return this.managerTargetUsername() ?? undefined;
    } catch {
      return undefined;
    }
  }

  /** `{...attrs, id, groups}`, with `manager.targetUsername` filled in when the manager is known. */
  expressionInput(withManagerUsername: boolean): Record<string, unknown> {
    if (!this.input) {
      const input: Record<string, unknown> = { ...this.user.attrs, id: this.user.id, groups: this.user.groups };
      const manager = this.user.attrs.manager;
      if (withManagerUsername && manager !== null && typeof manager === 'object' && !Array.isArray(manager)) {
        input.manager = { ...manager, targetUsername: this.managerUsernameOrNothing() };
      }
      this.input = input;
    }
    return this.input;
  }
}

/**
 * Account text that every Atlassian product stores trimmed. Writing it with surrounding spaces
 * would make the value differ from what the product keeps, so a reconcile would "repair" it on
 * every run without ever converging.
 */
const ACCOUNT_TEXT_FIELDS = new Set(['user.username', 'user.displayName', 'user.email']);

/** Applies empty semantics and coercion to a value read for a rule. */
export function settle(runtime: RuleRuntime, raw: unknown): RuleOutcome {
  if (!isEmptyValue(raw)) {
    const coerced = coerceToFieldType(raw, runtime.type, runtime.maxLength);
    if (!coerced.ok) return { kind: 'error', message: coerced.message };
    const value = ACCOUNT_TEXT_FIELDS.has(runtime.rule.target) && typeof coerced.value === 'string' ? coerced.value.trim() : coerced.value;
    if (!isEmptyValue(value)) return { kind: 'value', value, empty: false };
  }
  if (runtime.defaultValue !== undefined) return { kind: 'value', value: runtime.defaultValue, empty: true };
  return runtime.rule.whenEmpty === 'clear' ? { kind: 'value', value: null, empty: true } : { kind: 'omit' };
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Evaluates a rule whose reader is not an expression: synchronous, no JSONata involved. */
export function evaluateDirectRule(runtime: RuleRuntime, scope: UserScope): RuleOutcome {
  const { reader } = runtime;
  try {
    switch (reader.kind) {
      case 'path':
        return settle(runtime, readUserPath(scope.user, reader.segments));
      case 'managerTargetUsername': {
        const username = scope.managerTargetUsername();
        return username === undefined ? { kind: 'pending' } : settle(runtime, username);
      }
      case 'expression':
        throw new Error('expression rules are evaluated by evaluateRule');
    }
  } catch (e) {
    return { kind: 'error', message: errorMessage(e) };
  }
}

/**
 * Evaluates any rule for one user. `managerInInput` says whether the mapping's expressions
 * read `manager.targetUsername`, so the shared expression input carries it.
 */
export async function evaluateRule(runtime: RuleRuntime, scope: UserScope, managerInInput: boolean): Promise<RuleOutcome> {
  const { reader } = runtime;
  if (reader.kind !== 'expression') return evaluateDirectRule(runtime, scope);
  try {
    // Not worth running when a reference it reads is not resolved yet: the engine
    // evaluates the user again after the run's first pass.
    if (reader.expression.readsManagerTargetUsername && scope.managerTargetUsername() === undefined) return { kind: 'pending' };
    const lookups = new RuleLookups(scope);
    const raw = await reader.expression.evaluate(scope.expressionInput(managerInInput), lookups);
    // Even when a fallback produced something, a value computed without the reference
    // may be wrong; the second pass decides.
    return lookups.unresolved ? { kind: 'pending' } : settle(runtime, raw);
  } catch (e) {
    return { kind: 'error', message: errorMessage(e) };
  }
}

/** An expression's link lookups for one evaluation (a class: no closures made per user and rule). */
class RuleLookups {
  unresolved = false;
  constructor(private readonly scope: UserScope) {}
  targetUsernameOf(id: string): string | null | undefined {
    return this.scope.ctx.targetUsernameOf(id);
  }
  onUnresolved(): void {
    this.unresolved = true;
  }
}
