// Validates a whole connector before anything is saved: the common model, the source's and each
// target's own settings, every mapping table against its target's capabilities, and the schedule.
// Each problem is placed by path so the UI can show it next to the field or mapping row.
import { z } from 'zod';
import { connectorSchema, type ConnectorConfig } from '../config/schema.ts';
import type { AttributeInfo } from '../core/types.ts';
import { errorText } from '../core/errors.ts';
import type { MappingIssue } from '../mapping/api.ts';
import type { FieldIssue } from './routes.ts';
import type { Services } from './services.ts';
import { scheduleProblem } from './schedule.ts';
import { capabilitiesOf } from '../targets/registry.ts';

export interface ValidationOutcome {
  /** The parsed configuration (defaults filled in) when there is no error. */
  config?: ConnectorConfig;
  errors: FieldIssue[];
  warnings: FieldIssue[];
}

function zodIssues(error: z.ZodError, prefix: Array<string | number> = []): FieldIssue[] {
  return error.issues.map((i) => ({ path: [...prefix, ...i.path.map((p) => (typeof p === 'symbol' ? String(p) : p))], message: i.message }));
}

function mappingIssue(targetIndex: number, i: MappingIssue): FieldIssue {
  return { path: ['targets', targetIndex, 'mapping', i.row, i.field], message: i.message, ...(i.position !== undefined ? { position: i.position } : {}) };
}

export async function validateConnector(
  input: unknown,
  services: Pick<Services, 'registry' | 'mapping'>,
  /**
   * Attributes discovered from the provider. Attribute names are checked only when these are
   * known: the source type's built-in list alone would refuse extension attributes it cannot know.
   */
  opts: { discoveredAttributes?: AttributeInfo[] } = {},
): Promise<ValidationOutcome> {
  const parsed = connectorSchema.safeParse(input);
  if (!parsed.success) return { errors: zodIssues(parsed.error), warnings: [] };
  const config = parsed.data;
  const errors: FieldIssue[] = [];
  const warnings: FieldIssue[] = [];

  let attributes: AttributeInfo[] | undefined;
  try {
    const def = await services.registry.source(config.source.type);
    const res = def.configSchema.safeParse(config.source);
    if (!res.success) errors.push(...zodIssues(res.error, ['source']));
    if (opts.discoveredAttributes) attributes = mergeAttributes(def.knownAttributes, opts.discoveredAttributes);
  } catch (e) {
    errors.push({ path: ['source', 'type'], message: errorText(e) });
  }

  const seen = new Set<string>();
  for (const [i, target] of config.targets.entries()) {
    if (seen.has(target.id)) errors.push({ path: ['targets', i, 'id'], message: `another target already has the id "${target.id}"` });
    seen.add(target.id);
    try {
      const def = await services.registry.target(target.type);
      const res = def.configSchema.safeParse(target);
      if (!res.success) errors.push(...zodIssues(res.error, ['targets', i]).filter((x) => x.path[2] !== 'mapping'));
      const capabilities = res.success ? capabilitiesOf(def, res.data) : def.capabilities;
      const issues = await services.mapping.validate({ rules: target.mapping, capabilities, attributes });
      for (const issue of issues) (issue.severity === 'error' ? errors : warnings).push(mappingIssue(i, issue));
    } catch (e) {
      errors.push({ path: ['targets', i, 'type'], message: errorText(e) });
    }
  }

  if (config.schedule) {
    const problem = scheduleProblem(config.schedule.cron, config.schedule.timezone);
    if (problem) errors.push({ path: ['schedule', problem.field], message: problem.message });
  }
  return errors.length ? { errors, warnings } : { config, errors, warnings };
}

/** Known attributes first, then discovered ones not already listed. */
export function mergeAttributes(known: AttributeInfo[], discovered: AttributeInfo[]): AttributeInfo[] {
  const byPath = new Map<string, AttributeInfo>();
  for (const a of [...known, ...discovered]) if (!byPath.has(a.path)) byPath.set(a.path, a);
  return [...byPath.values()];
}
