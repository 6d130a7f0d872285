// Validation of a whole connector: the common model, each source's and target's own settings,
// and every mapping table against its target's capabilities. Problems come back placed (a path
// like `targets[0].mapping[2].source`) so the CLI and the UI can say what is wrong and where.
import { z } from 'zod';
import { IdsyncError, errorText } from '../core/errors.ts';
import { connectorSchema, mappingRuleSchema, type ConnectorConfig } from './schema.ts';
import { groupRulesSchema } from './group-rules.ts';
import { sourceDefinition, type SourceDefinition } from '../sources/registry.ts';
import { capabilitiesOf, targetDefinition, type TargetDefinition } from '../targets/registry.ts';
import { matchingProblems } from '../engine/matching.ts';
import { matchingSchema } from './matching.ts';
import { validateMapping, validateGroupRules } from '../mapping/index.ts';
import type { MappingIssue, MappingValidationInput } from '../mapping/api.ts';
import type { AttributeInfo, MappingRule } from '../core/types.ts';
import { incrementalProblem, scheduleProblem } from '../server/schedule.ts';
import { cleanupIssues } from './cleanup-schema.ts';

export interface ConfigIssue {
  /** Where, e.g. `targets[0].mapping[2].source` (relative to the connector). */
  path: string;
  message: string;
  severity: 'error' | 'warning';
  /** Character offset inside an expression. */
  position?: number;
  /** Where in a YAML file (1-based), when the connector came from one. */
  line?: number;
  column?: number;
}

/** ", line 12, column 9" when the issue has a place in a file. */
const inFile = (i: ConfigIssue): string => (i.line !== undefined ? `, line ${i.line}, column ${i.column}` : '');

export class ConfigError extends IdsyncError {
  readonly issues: ConfigIssue[];
  readonly where: string;
  /** Ids of the connector's targets by position, so messages can name `targets[0]` as "jira". */
  targetIds: string[] = [];
  constructor(where: string, issues: ConfigIssue[]) {
    const errors = issues.filter((i) => i.severity === 'error');
    super('CONFIG', `${where}: ${errors.map((i) => `${i.path || '(top)'}${inFile(i)}: ${i.message}`).join('; ')}`, {
      hint: 'fix the settings named above and try again',
    });
    this.issues = issues;
    this.where = where;
  }
}

/** An issue's place as a person reads it: `targets[0].mapping[2].source (target "jira"), line 12, column 9`. */
export function describePlace(issue: ConfigIssue, targetIds: string[]): string {
  const path = issue.path || '(top)';
  const m = /^targets\[(\d+)\]/.exec(issue.path);
  const id = m ? targetIds[Number(m[1])] : undefined;
  return `${id ? `${path} (target "${id}")` : path}${inFile(issue)}`;
}

export function formatZodPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out;
}

export function zodIssues(error: z.ZodError, prefix = ''): ConfigIssue[] {
  return error.issues.map((i) => {
    // One unknown key is placed at the key itself (its line in a YAML file), several at their object.
    const at = i.code === 'unrecognized_keys' && i.keys.length === 1 ? [...i.path, i.keys[0]!] : i.path;
    const path = formatZodPath(at);
    return { path: prefix && path ? `${prefix}.${path}` : prefix || path, message: i.message, severity: 'error' as const };
  });
}

/** Parses one section with its module's schema; throws a ConfigError that names the section. */
export function parseSection<T>(schema: z.ZodType<T>, value: unknown, where: string): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new ConfigError(where, zodIssues(r.error));
  return r.data;
}

/** Where validation finds source and target definitions and mapping checks (tests inject fakes). */
export interface ValidationDeps {
  source(type: string): Promise<SourceDefinition>;
  target(type: string): Promise<TargetDefinition>;
  validateMapping(input: MappingValidationInput): MappingIssue[] | Promise<MappingIssue[]>;
}

const registryDeps: ValidationDeps = { source: sourceDefinition, target: targetDefinition, validateMapping };

/**
 * Checks a connector completely: the common model, the source's and each target's own settings,
 * every mapping table against what that target (with these settings) can write, and the
 * schedule. Returns every issue found (errors and warnings); the connector is valid when none is
 * an error. `attributes` (from the source's discovery) lets the mapping check flag unknown paths.
 * The CLI, the YAML loader, the REST API and config import all validate through here.
 */
export async function validateConnector(
  input: unknown,
  opts: { attributes?: AttributeInfo[]; deps?: ValidationDeps } = {},
): Promise<{ config?: ConnectorConfig; issues: ConfigIssue[] }> {
  const deps = opts.deps ?? registryDeps;
  const base = connectorSchema.safeParse(input);
  const issues: ConfigIssue[] = base.success ? [] : zodIssues(base.error);
  // A common-model problem (say, a bad id) does not hide the section problems: the sections
  // are still checked as far as their shape allows, so one save reports everything at once.
  const config: Sections = base.success ? base.data : sectionsOf(input);

  if (config.source) {
    try {
      const def = await deps.source(config.source.type);
      const r = def.configSchema.safeParse(config.source);
      if (!r.success) issues.push(...zodIssues(r.error, 'source'));
    } catch (e) {
      issues.push({ path: 'source.type', message: errorText(e), severity: 'error' });
    }
  }

  const ids = new Set<string>();
  for (const [i, t] of config.targets.entries()) {
    if (!t) continue; // not even an id and a type: the common model said so
    const at = `targets[${i}]`;
    if (ids.has(t.id)) issues.push({ path: `${at}.id`, message: `target id "${t.id}" is used twice in this connector`, severity: 'error' });
    ids.add(t.id);
    let def: TargetDefinition;
    try {
      def = await deps.target(t.type);
    } catch (e) {
      issues.push({ path: `${at}.type`, message: errorText(e), severity: 'error' });
      continue;
    }
    const r = def.configSchema.safeParse(t);
    // Mapping rows are reported by the mapping check below, placed by row and field.
    if (!r.success) issues.push(...zodIssues(r.error, at).filter((x) => !x.path.startsWith(`${at}.mapping`)));
    const capabilities = r.success ? capabilitiesOf(def, r.data) : def.capabilities;
    // Rows the common model already refused (not even a target and a source) are not checked twice.
    if (base.success || t.mapping.every(isRuleShaped)) {
      const rules = base.success ? t.mapping : t.mapping.map(withRuleDefaults);
      const mappingIssues = await deps.validateMapping({ rules: rules as MappingRule[], capabilities, attributes: opts.attributes });
      for (const m of mappingIssues) {
        issues.push({ path: `${at}.mapping[${m.row}].${m.field}`, message: m.message, severity: m.severity, position: m.position });
      }
    }
    // Its shape is the common model's to report; what the target can look up is checked here.
    const matching = matchingSchema.safeParse(t.matching);
    if (matching.success) for (const m of matchingProblems(matching.data, capabilities, t.createUsers !== false)) issues.push({ ...m, path: `${at}.${m.path}` });
    // Shape problems were reported by the schema; the rules' meaning is checked when they parse.
    const groupRules = t.groupRules === undefined ? undefined : groupRulesSchema.safeParse(t.groupRules).data;
    if (groupRules) {
      const hasGroupsRule = t.mapping.some((r) => isObject(r) && r.target === 'groups');
      for (const g of validateGroupRules(groupRules, { capabilities, hasGroupsRule })) {
        issues.push({ path: g.path ? `${at}.groupRules.${g.path}` : `${at}.groupRules`, message: g.message, severity: g.severity, position: g.position });
      }
    }
    // Cleanup of leavers: only what this target's lifecycle can do (src/config/cleanup-schema.ts).
    const connectorId = isObject(input) && typeof input.id === 'string' ? input.id : undefined;
    issues.push(...cleanupIssues(t.cleanup, capabilities.lifecycle, { path: `${at}.cleanup`, targetId: t.id, connectorId, label: def.label }));
    if (t.createUsers && !def.capabilities.canCreateUsers) {
      issues.push({ path: `${at}.createUsers`, message: `${def.label} cannot create users; users must exist there already (set createUsers: false)`, severity: 'warning' });
    }
  }
  if (config.schedule && typeof config.schedule.cron === 'string') {
    const problem = scheduleProblem(config.schedule.cron, config.schedule.timezone);
    if (problem) issues.push({ path: `schedule.${problem.field}`, message: problem.message, severity: 'error' });
    // A bad time zone must not hide a bad cron expression: check the cron on its own too.
    const cronProblem = problem?.field === 'timezone' ? scheduleProblem(config.schedule.cron, 'UTC') : undefined;
    if (cronProblem) issues.push({ path: `schedule.${cronProblem.field}`, message: cronProblem.message, severity: 'error' });
  }
  const incremental = config.schedule?.incremental;
  const tooOften = typeof incremental === 'string' ? incrementalProblem(incremental) : undefined;
  if (tooOften) issues.push({ path: 'schedule.incremental', message: tooOften, severity: 'error' });
  return base.success ? { config: base.data, issues } : { issues: uniqueIssues(issues) };
}

/** What the section checks look at; a section the common model could not even read is absent. */
interface Sections {
  source?: ConnectorConfig['source'];
  /** By position, so problems keep their place (`targets[1]`) when an earlier target is unreadable. */
  targets: Array<ConnectorConfig['targets'][number] | undefined>;
  schedule?: ConnectorConfig['schedule'];
}

/** The parts of a connector the common model refused that can still be checked section by section. */
function sectionsOf(input: unknown): Sections {
  const raw = isObject(input) ? input : {};
  const source = isObject(raw.source) && typeof raw.source.type === 'string' ? (raw.source as Sections['source']) : undefined;
  const targets = (Array.isArray(raw.targets) ? raw.targets : []).map((t: unknown) =>
    isObject(t) && typeof t.type === 'string' && typeof t.id === 'string' ? ({ ...t, mapping: Array.isArray(t.mapping) ? t.mapping : [] } as ConnectorConfig['targets'][number]) : undefined,
  );
  return { source, targets, schedule: isObject(raw.schedule) ? (raw.schedule as Sections['schedule']) : undefined };
}

function isObject(v: unknown): v is Record<string, any> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Mapping rows keep their field checks when the common model failed: defaults filled in, unknown keys left for the common model to report. */
const lenientRule = z.object(mappingRuleSchema.shape);
function withRuleDefaults(rule: unknown): unknown {
  const r = lenientRule.safeParse(rule);
  return r.success ? r.data : rule;
}

function isRuleShaped(rule: unknown): boolean {
  return isObject(rule) && typeof rule.target === 'string' && typeof rule.source === 'string';
}

/** One issue per place and message (the common model and a section's own schema may both say it). */
function uniqueIssues(issues: ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${i.path}\u0000${i.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** A path as written by this module (`targets[0].mapping[2].source`) as a list of keys. */
export function pathKeys(path: string): Array<string | number> {
  if (!path) return [];
  return path.split('.').flatMap((part) => {
    const m = /^([^[]*)((?:\[-?\d+\])*)$/.exec(part);
    if (!m) return [part];
    const indexes = [...m[2]!.matchAll(/\[(-?\d+)\]/g)].map((x) => Number(x[1]));
    return [...(m[1] ? [m[1]] : []), ...indexes];
  });
}

/** validateConnector, throwing a ConfigError when there is any error. */
export async function assertValidConnector(input: unknown, where: string, opts: { attributes?: AttributeInfo[] } = {}): Promise<ConnectorConfig> {
  const { config, issues } = await validateConnector(input, opts);
  if (!config || issues.some((i) => i.severity === 'error')) throw new ConfigError(where, issues);
  return config;
}
