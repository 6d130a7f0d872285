// Okta as a source, through the Okta management API (/api/v1).
import type { SourceDefinition } from '../registry.ts';
import { oktaConfigSchema, type OktaConfig } from './config.ts';
import { STATIC_ATTRIBUTES } from './catalogue.ts';
import { OktaSource } from './connector.ts';

export { OktaSource, lifecycleOf } from './connector.ts';
export { oktaConfigSchema, type OktaConfig } from './config.ts';

export const definition: SourceDefinition<OktaConfig> = {
  type: 'okta',
  label: 'Okta',
  configSchema: oktaConfigSchema,
  secretFields: ['apiToken', 'oauth.privateKey'],
  knownAttributes: STATIC_ATTRIBUTES,
  // Users updated since a checkpoint (lastUpdated): see checkpoint.ts.
  changeFeed: true,
  create: (config, ctx) => new OktaSource(config, ctx),
};
