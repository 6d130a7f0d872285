// Validates a whole connector before anything is saved: the common model, the source's and each
// target's own settings, every mapping table against its target's capabilities, and the schedule.
// Each problem is placed by path so the UI can show it next to the field or mapping row.
import type { ConnectorConfig } from '../config/schema.ts';
import { pathKeys, validateConnector as validateAll, type ConfigIssue } from '../config/validate.ts';
import type { AttributeInfo } from '../core/types.ts';
import type { FieldIssue } from './routes.ts';
import type { Services } from './services.ts';

export interface ValidationOutcome {
  /** The parsed configuration (defaults filled in) when there is no error. */
  config?: ConnectorConfig;
  errors: FieldIssue[];
  warnings: FieldIssue[];
}

/**
 * The REST API's view of the one connector validation (src/config/validate.ts): the registries
 * and mapper come from `services` (tests hand in fakes) and each problem is placed as a list of
 * keys for the UI.
 */
export async function validateConnector(
  input: unknown,
  services: Pick<Services, 'registry' | 'mapping'>,
  /**
   * Attributes discovered from the provider. Attribute names are checked only when these are
   * known: the source type's built-in list alone would refuse extension attributes it cannot know.
   */
  opts: { discoveredAttributes?: AttributeInfo[] } = {},
): Promise<ValidationOutcome> {
  let attributes: AttributeInfo[] | undefined;
  if (opts.discoveredAttributes) {
    const sourceType = (input as { source?: { type?: unknown } } | undefined)?.source?.type;
    const known = typeof sourceType === 'string' ? await services.registry.source(sourceType).then((d) => d.knownAttributes, () => []) : [];
    attributes = mergeAttributes(known, opts.discoveredAttributes);
  }
  const { config, issues } = await validateAll(input, {
    attributes,
    deps: { source: (t) => services.registry.source(t), target: (t) => services.registry.target(t), validateMapping: (i) => services.mapping.validate(i) },
  });
  const place = (i: ConfigIssue): FieldIssue => ({ path: pathKeys(i.path), message: i.message, ...(i.position !== undefined ? { position: i.position } : {}) });
  const errors = issues.filter((i) => i.severity === 'error').map(place);
  const warnings = issues.filter((i) => i.severity === 'warning').map(place);
  return config && errors.length === 0 ? { config, errors, warnings } : { errors, warnings };
}

/** Known attributes first, then discovered ones not already listed. */
export function mergeAttributes(known: AttributeInfo[], discovered: AttributeInfo[]): AttributeInfo[] {
  const byPath = new Map<string, AttributeInfo>();
  for (const a of [...known, ...discovered]) if (!byPath.has(a.path)) byPath.set(a.path, a);
  return [...byPath.values()];
}
