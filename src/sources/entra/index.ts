// Microsoft Entra ID (Azure AD) as a source, through Microsoft Graph v1.0.
import type { SourceDefinition } from '../registry.ts';
import { entraConfigSchema, type EntraConfig } from './config.ts';
import { STATIC_ATTRIBUTES } from './catalogue.ts';
import { EntraSource } from './connector.ts';

export { EntraSource } from './connector.ts';
export { entraConfigSchema, type EntraConfig } from './config.ts';

export const definition: SourceDefinition<EntraConfig> = {
  type: 'entra',
  label: 'Microsoft Entra ID',
  configSchema: entraConfigSchema,
  secretFields: ['clientSecret', 'certificate.privateKey'],
  knownAttributes: STATIC_ATTRIBUTES,
  // Graph's delta queries (/users/delta, /groups/delta): see delta.ts.
  changeFeed: true,
  create: (config, ctx) => new EntraSource(config, ctx),
};
