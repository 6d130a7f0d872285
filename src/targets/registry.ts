// Every target type idsync knows. A target module exports `definition: TargetDefinition`;
// its `capabilities` is the single declaration that the engine, mapping validation, the UI
// pickers and the README's capability table all come from.
import type { z } from 'zod';
import type { TargetCapabilities, TargetConnector } from '../core/types.ts';
import type { ConnectorContext } from '../sources/registry.ts';
import { IdsyncError } from '../core/errors.ts';

export interface TargetDefinition<C = any> {
  type: string;
  label: string;
  configSchema: z.ZodType<C>;
  secretFields: string[];
  capabilities: TargetCapabilities;
  /**
   * What a target with these settings can write, when settings narrow the type's capabilities
   * (e.g. Confluence DC profile fields need an administrator's password). Mapping validation
   * uses it, so such a rule is refused at save time with the reason.
   */
  capabilitiesFor?(config: C): TargetCapabilities;
  create(config: C, ctx: ConnectorContext): TargetConnector;
}

/** The capabilities a target with these (already parsed) settings has. */
export function capabilitiesOf(def: TargetDefinition, config: unknown): TargetCapabilities {
  return def.capabilitiesFor ? def.capabilitiesFor(config) : def.capabilities;
}

const loaders: Record<string, () => Promise<{ definition: TargetDefinition }>> = {
  'jira-dc': () => import('./jira-dc/index.ts'),
  'jira-cloud': () => import('./jira-cloud/index.ts'),
  'confluence-dc': () => import('./confluence-dc/index.ts'),
  'confluence-cloud': () => import('./confluence-cloud/index.ts'),
  'atlassian-admin': () => import('./atlassian-admin/index.ts'),
  crowd: () => import('./crowd/index.ts'),
};

export const targetTypes = Object.keys(loaders);

/** Adds a target type at run time (plugins, and test doubles in the engine's tests). */
export function registerTargetType(definition: TargetDefinition): void {
  loaders[definition.type] = async () => ({ definition });
  if (!targetTypes.includes(definition.type)) targetTypes.push(definition.type);
}

export async function targetDefinition(type: string): Promise<TargetDefinition> {
  const load = loaders[type];
  if (!load) {
    throw new IdsyncError('CONFIG', `unknown target type "${type}"`, { hint: `use one of: ${targetTypes.join(', ')}` });
  }
  return (await load()).definition;
}
