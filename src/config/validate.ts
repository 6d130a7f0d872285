// Validation of a whole connector: the common model, each source's and target's own settings,
// and every mapping table against its target's capabilities. Problems come back placed (a path
// like `targets[0].mapping[2].source`) so the CLI and the UI can say what is wrong and where.
import type { z } from 'zod';
import { IdsyncError } from '../core/errors.ts';
import { connectorSchema, type ConnectorConfig } from './schema.ts';
import { sourceDefinition, sourceTypes } from '../sources/registry.ts';
import { capabilitiesOf, targetDefinition, targetTypes } from '../targets/registry.ts';
import { validateMapping } from '../mapping/index.ts';
import type { AttributeInfo, MappingRule } from '../core/types.ts';
import { scheduleProblem } from '../server/schedule.ts';

export interface ConfigIssue {
  /** Where, e.g. `targets[0].mapping[2].source` (relative to the connector). */
  path: string;
  message: string;
  severity: 'error' | 'warning';
  /** Character offset inside an expression. */
  position?: number;
}

export class ConfigError extends IdsyncError {
  readonly issues: ConfigIssue[];
  readonly where: string;
  /** Ids of the connector's targets by position, so messages can name `targets[0]` as "jira". */
  targetIds: string[] = [];
  constructor(where: string, issues: ConfigIssue[]) {
    const errors = issues.filter((i) => i.severity === 'error');
    super('CONFIG', `${where}: ${errors.map((i) => `${i.path || '(top)'}: ${i.message}`).join('; ')}`, {
      hint: 'fix the settings named above and try again',
    });
    this.issues = issues;
    this.where = where;
  }
}

/** An issue's place as a person reads it: `targets[0].mapping[2].source (target "jira")`. */
export function describePlace(issue: ConfigIssue, targetIds: string[]): string {
  const path = issue.path || '(top)';
  const m = /^targets\[(\d+)\]/.exec(issue.path);
  const id = m ? targetIds[Number(m[1])] : undefined;
  return id ? `${path} (target "${id}")` : path;
}

export function formatZodPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out;
}

export function zodIssues(error: z.ZodError, prefix = ''): ConfigIssue[] {
  return error.issues.map((i) => {
    const path = formatZodPath(i.path);
    return { path: prefix && path ? `${prefix}.${path}` : prefix || path, message: i.message, severity: 'error' as const };
  });
}

/** Parses one section with its module's schema; throws a ConfigError that names the section. */
export function parseSection<T>(schema: z.ZodType<T>, value: unknown, where: string): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new ConfigError(where, zodIssues(r.error));
  return r.data;
}

/**
 * Checks a connector completely. Returns every issue found (errors and warnings); the
 * connector is valid when none is an error. `attributes` (from the source's discovery) lets
 * the mapping check flag unknown attribute paths.
 */
export async function validateConnector(input: unknown, opts: { attributes?: AttributeInfo[] } = {}): Promise<{ config?: ConnectorConfig; issues: ConfigIssue[] }> {
  const base = connectorSchema.safeParse(input);
  if (!base.success) return { issues: zodIssues(base.error) };
  const config = base.data;
  const issues: ConfigIssue[] = [];

  if (!sourceTypes.includes(config.source.type)) {
    issues.push({ path: 'source.type', message: `unknown source type "${config.source.type}"; use one of ${sourceTypes.join(', ')}`, severity: 'error' });
  } else {
    const def = await sourceDefinition(config.source.type);
    const r = def.configSchema.safeParse(config.source);
    if (!r.success) issues.push(...zodIssues(r.error, 'source'));
  }

  const ids = new Set<string>();
  for (const [i, t] of config.targets.entries()) {
    const at = `targets[${i}]`;
    if (ids.has(t.id)) issues.push({ path: `${at}.id`, message: `target id "${t.id}" is used twice in this connector`, severity: 'error' });
    ids.add(t.id);
    if (!targetTypes.includes(t.type)) {
      issues.push({ path: `${at}.type`, message: `unknown target type "${t.type}"; use one of ${targetTypes.join(', ')}`, severity: 'error' });
      continue;
    }
    const def = await targetDefinition(t.type);
    const r = def.configSchema.safeParse(t);
    if (!r.success) issues.push(...zodIssues(r.error, at));
    const capabilities = r.success ? capabilitiesOf(def, r.data) : def.capabilities;
    const mappingIssues = validateMapping({ rules: t.mapping as MappingRule[], capabilities, attributes: opts.attributes });
    for (const m of mappingIssues) {
      issues.push({ path: `${at}.mapping[${m.row}].${m.field}`, message: m.message, severity: m.severity, position: m.position });
    }
    if (t.createUsers && !def.capabilities.canCreateUsers) {
      issues.push({ path: `${at}.createUsers`, message: `${def.label} cannot create users; users must exist there already (set createUsers: false)`, severity: 'warning' });
    }
  }
  if (config.schedule) {
    const problem = scheduleProblem(config.schedule.cron, config.schedule.timezone);
    if (problem) issues.push({ path: `schedule.${problem.field}`, message: problem.message, severity: 'error' });
  }
  return { config, issues };
}

/** validateConnector, throwing a ConfigError when there is any error. */
export async function assertValidConnector(input: unknown, where: string, opts: { attributes?: AttributeInfo[] } = {}): Promise<ConnectorConfig> {
  const { config, issues } = await validateConnector(input, opts);
  if (!config || issues.some((i) => i.severity === 'error')) throw new ConfigError(where, issues);
  return config;
}
