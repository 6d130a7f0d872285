// Checks a mapping table against a target's capabilities (and, when known, the source's
// attributes) at save/load time and in the mapping editor. Every issue names its row and
// field so the UI can show it in place; errors block saving, warnings inform.
import type { AttributeInfo, Json, MappingRule, TargetCapabilities } from '../core/types.ts';
import { IdsyncError } from '../core/errors.ts';
import type { MappingIssue, MappingValidationInput } from './api.ts';
import { endlessFunctions, neverProducesValue, type ExpressionFacts, type Node } from './ast.ts';
import { literalArgumentProblems, parseExpression } from './expressions.ts';
import { describeKnownFields, resolveTargetField, type FieldType } from './fields.ts';
import { BUILTIN_PATHS, parsePlainPath } from './paths.ts';
import { PRESET_FUNCTION_NAMES } from './presets.ts';
import { coerceToFieldType, describeValue, isEmptyValue } from './values.ts';

/** Row number used for issues about the table as a whole (e.g. a required field nobody maps). */
export const TABLE_ROW = -1;

/** Thrown by compileMapping when the table has errors; `issues` lists all of them, warnings too. */
export class MappingValidationError extends IdsyncError {
  readonly issues: MappingIssue[];
  constructor(targetKind: string, issues: MappingIssue[]) {
    const errors = issues.filter((i) => i.severity === 'error');
    const listed = errors
      .slice(0, 5)
      .map((i) => (i.row === TABLE_ROW ? i.message : `row ${i.row + 1} (${i.field}): ${i.message}`))
      .join('; ');
    const more = errors.length > 5 ? `; and ${errors.length - 5} more` : '';
    super('CONFIG', `the mapping for ${targetKind} has ${errors.length} error${errors.length === 1 ? '' : 's'}: ${listed}${more}`, {
      hint: 'fix the listed mapping rows and save the mapping again',
    });
    this.name = 'MappingValidationError';
    this.issues = issues;
  }
}

// JSONata 2's own functions, so a misspelt call ($lowerCase) is caught before any user runs.
const JSONATA_FUNCTIONS = new Set(
  (
    'sum count max min average string substring substringBefore substringAfter lowercase uppercase length trim pad ' +
    'match contains replace split join formatNumber formatBase formatInteger parseInteger number floor ceil round abs ' +
    'sqrt power random boolean not map zip filter single reduce sift keys lookup append exists spread merge reverse ' +
    'each error assert type sort shuffle distinct base64encode base64decode encodeUrlComponent encodeUrl ' +
    'decodeUrlComponent decodeUrl eval toMillis fromMillis clone now millis'
  ).split(' '),
);
const KNOWN_FUNCTIONS = new Set<string>([...JSONATA_FUNCTIONS, ...PRESET_FUNCTION_NAMES]);

const FLOWS = new Set<string>(['always', 'onCreate', 'ifEmpty']);
const WHEN_EMPTY = new Set<string>(['keep', 'clear']);

/** Whether the source is known to have `path`: listed, under a listed object, or a parent of listed paths. */
export function isKnownAttribute(path: string, attributes: readonly AttributeInfo[]): boolean {
  if (BUILTIN_PATHS.has(path)) return true;
  return attributes.some(
    (a) => a.path === path || (a.type === 'object' && path.startsWith(`${a.path}.`)) || a.path.startsWith(`${path}.`),
  );
}

function attributeType(path: string, attributes: readonly AttributeInfo[] | undefined): AttributeInfo['type'] | undefined {
  if (path === 'groups') return 'string[]';
  if (path === 'id' || path === 'manager.targetUsername') return 'string';
  return attributes?.find((a) => a.path === path)?.type;
}

/**
 * How well an attribute type fits a field type: undefined when it fits, else the issue.
 * Errors are for combinations that fail for every user; warnings for those that fail for some.
 */
function typeFit(attribute: AttributeInfo['type'], field: FieldType, path: string): Pick<MappingIssue, 'severity' | 'message'> | undefined {
  if (field === 'json') return undefined;
  const pair = `${attribute} → ${field}`;
  switch (field) {
    case 'string':
      if (attribute === 'object') return { severity: 'error', message: `"${path}" is an object and the field needs text; pick one of its fields (${path}.<name>)` };
      if (attribute === 'string[]')
        return { severity: 'warning', message: `"${path}" is a list and the field holds one value; users with several values will fail. Use ${path}[0] or $join(${path}, ", ")` };
      return undefined;
    case 'boolean':
      if (attribute === 'boolean') return undefined;
      if (attribute === 'string' || attribute === 'number')
        return { severity: 'warning', message: `"${path}" is a ${attribute}; only true/false, "true"/"false" and 1/0 can be written to this yes/no field` };
      return { severity: 'error', message: `type mismatch (${pair}): a ${attribute} cannot become true/false; use an expression such as ${path} = "yes"` };
    case 'string[]':
      if (attribute === 'string' || attribute === 'string[]') return undefined;
      if (attribute === 'number' || attribute === 'datetime')
        return { severity: 'warning', message: `"${path}" is a ${attribute} and the field holds a list of names` };
      return { severity: 'error', message: `type mismatch (${pair}): the field needs a list of names and "${path}" is ${attribute === 'object' ? 'an object' : `a ${attribute}`}` };
  }
}

function checkDefault(rule: MappingRule, fieldType: FieldType | undefined, maxLength: number | undefined): Omit<MappingIssue, 'row'> | undefined {
  if (!('default' in rule) || rule.default === undefined) return undefined;
  if (isEmptyValue(rule.default)) {
    return {
      field: 'default',
      severity: 'warning',
      message: `a default of ${describeValue(rule.default)} is itself empty and has no effect; use whenEmpty: clear to clear the field`,
    };
  }
  if (!fieldType) return undefined;
  const coerced = coerceToFieldType(rule.default, fieldType, maxLength);
  if (!coerced.ok) return { field: 'default', severity: 'error', message: `invalid default for a ${fieldType} field: ${coerced.message}` };
  return undefined;
}

/** A literal expression (`"x"`, `42`, `true`, `null`) as its value, or undefined when not literal. */
function literalValue(facts: ExpressionFacts, ast: { type: string; value?: unknown }): { value: Json } | undefined {
  if (facts.references.length > 0 || facts.calls.length > 0) return undefined;
  if (ast.type === 'string' || ast.type === 'number' || ast.type === 'value') return { value: ast.value as Json };
  return undefined;
}

function checkRow(rule: MappingRule, row: number, input: MappingValidationInput, issues: MappingIssue[]): void {
  const { capabilities, attributes } = input;
  const add = (issue: Omit<MappingIssue, 'row'>) => issues.push({ row, ...issue });

  if (!FLOWS.has(rule.flow)) add({ field: 'flow', severity: 'error', message: `unknown flow "${rule.flow}"; use always, onCreate or ifEmpty` });
  if (!WHEN_EMPTY.has(rule.whenEmpty)) add({ field: 'whenEmpty', severity: 'error', message: `unknown whenEmpty "${rule.whenEmpty}"; use keep or clear` });
  if (rule.flow === 'onCreate' && !capabilities.canCreateUsers) {
    add({ field: 'flow', severity: 'warning', message: `${capabilities.kind} cannot create users, so an onCreate rule never applies; use always or ifEmpty` });
  }

  // --- target
  let fieldType: FieldType | undefined;
  let maxLength: number | undefined;
  const target = typeof rule.target === 'string' ? rule.target : '';
  if (target === '') {
    add({ field: 'target', severity: 'error', message: 'choose a target field' });
  } else {
    const resolved = resolveTargetField(target, capabilities);
    switch (resolved.kind) {
      case 'field':
        fieldType = resolved.field.type;
        maxLength = resolved.field.maxLength;
        break;
      case 'unsupported':
        add({ field: 'target', severity: 'error', message: `${capabilities.kind} cannot write ${target}: ${resolved.reason}` });
        break;
      case 'bad-key':
        add({ field: 'target', severity: 'error', message: `invalid ${resolved.family}<key> field "${target}": ${resolved.message}` });
        break;
      case 'unknown':
        add({ field: 'target', severity: 'error', message: `unknown target field "${target}" for ${capabilities.kind}; it can write: ${describeKnownFields(capabilities)}` });
        break;
    }
  }

  const defaultIssue = checkDefault(rule, fieldType, maxLength);
  if (defaultIssue) add(defaultIssue);
  const hasDefault = rule.default !== undefined && !isEmptyValue(rule.default);

  // --- source
  const source = typeof rule.source === 'string' ? rule.source : '';
  if (source.trim() === '') {
    add({ field: 'source', severity: 'error', message: 'enter a source attribute (e.g. department) or an expression' });
    return;
  }
  const path = parsePlainPath(source);
  if (path) {
    const dotted = path.join('.');
    if (attributes && !isKnownAttribute(dotted, attributes)) {
      add({ field: 'source', severity: 'error', message: `unknown source attribute "${dotted}"; the source does not list it (check the spelling, or whether the attribute is selected in the source)` });
      return;
    }
    const type = attributeType(dotted, attributes);
    if (type && fieldType) {
      const fit = typeFit(type, fieldType, dotted);
      if (fit) add({ field: 'source', ...fit });
    }
    return;
  }

  const parsed = parseExpression(source);
  if (!parsed.ok) {
    add({ field: 'source', severity: 'error', message: parsed.problem.message, position: parsed.problem.position });
    return;
  }
  const { facts } = parsed;
  for (const problem of literalArgumentProblems(facts.calls, parsed.expression.ast() as Node)) {
    add({ field: 'source', severity: 'error', message: problem.message, position: problem.position });
  }
  for (const endless of endlessFunctions(parsed.expression.ast())) {
    add({
      field: 'source',
      severity: 'error',
      position: endless.position,
      message: `expression error at position ${endless.position}: $${endless.name} calls itself on every path and never ends; give it a base case, e.g. $n > 0 ? $${endless.name}($n - 1) : 0`,
    });
  }
  for (const call of facts.calls) {
    if (!KNOWN_FUNCTIONS.has(call.name) && !facts.boundVariables.has(call.name)) {
      add({ field: 'source', severity: 'error', position: call.position, message: `expression error at position ${call.position}: unknown function $${call.name}` });
    }
  }
  if (facts.readsWholeRecord) {
    add({
      field: 'source',
      severity: 'warning',
      message: 'the expression reads the whole user record ($, $$, * or **); only attributes named elsewhere in the mapping are fetched from the source',
    });
  }

  let unknownReferences = false;
  if (attributes) {
    const reported = new Set<string>();
    for (const reference of facts.references) {
      if (isKnownAttribute(reference.path, attributes) || reported.has(reference.path)) continue;
      reported.add(reference.path);
      unknownReferences = true;
      add({ field: 'source', severity: 'warning', position: reference.position, message: `unknown source attribute "${reference.path}" in the expression; it will be empty for every user` });
    }
  }

  // A rule that can never produce a value. Reported when the expression is a constant with no
  // value, or when it reads only attributes the source does not have.
  const isMissing = (p: string) => (attributes ? !isKnownAttribute(p, attributes) : false);
  if ((facts.references.length === 0 || unknownReferences) && neverProducesValue(parsed.expression.ast(), isMissing)) {
    const what = facts.references.length === 0 ? 'the expression is a constant with no value' : 'the expression only reads attributes the source does not have';
    if (hasDefault || rule.whenEmpty === 'clear') {
      add({ field: 'source', severity: 'warning', message: `${what}, so this rule always ${hasDefault ? 'writes its default' : 'clears the field'}; use a constant expression to say so` });
    } else {
      add({ field: 'source', severity: 'error', message: `this rule can never produce a value: ${what}` });
    }
    return;
  }

  const literal = literalValue(facts, parsed.expression.ast());
  if (literal && fieldType && !isEmptyValue(literal.value)) {
    const coerced = coerceToFieldType(literal.value, fieldType, maxLength);
    if (!coerced.ok) add({ field: 'source', severity: 'error', message: `type mismatch: the constant ${describeValue(literal.value)} cannot be written to a ${fieldType} field: ${coerced.message}` });
  }
}

export function validateMapping(input: MappingValidationInput): MappingIssue[] {
  const issues: MappingIssue[] = [];
  const firstRowOf = new Map<string, number>();
  input.rules.forEach((rule, row) => {
    checkRow(rule, row, input, issues);
    if (typeof rule.target === 'string' && rule.target !== '') {
      const first = firstRowOf.get(rule.target);
      if (first === undefined) firstRowOf.set(rule.target, row);
      else {
        issues.push({ row, field: 'target', severity: 'error', message: `duplicate target field ${rule.target}: row ${first + 1} already maps it; a field can have only one rule` });
      }
    }
  });

  const { capabilities } = input;
  if (capabilities.canCreateUsers) {
    for (const field of capabilities.fields) {
      if (!field.requiredOnCreate || field.name.endsWith('.')) continue;
      if (!firstRowOf.has(field.name)) {
        issues.push({
          row: TABLE_ROW,
          field: 'target',
          severity: 'warning',
          message: `no rule maps ${field.name} (${field.label}), which ${capabilities.kind} needs to create a user; users that do not exist there yet will fail`,
        });
      }
    }
  }
  return issues;
}

export function hasErrors(issues: readonly MappingIssue[]): boolean {
  return issues.some((i) => i.severity === 'error');
}

export function assertValidMapping(rules: MappingRule[], capabilities: TargetCapabilities): MappingIssue[] {
  const issues = validateMapping({ rules, capabilities });
  if (hasErrors(issues)) throw new MappingValidationError(capabilities.kind, issues);
  return issues;
}
