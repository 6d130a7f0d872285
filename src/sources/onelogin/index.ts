// OneLogin as a source, through the OneLogin API (v2 users and roles, v1 groups).
import type { SourceDefinition } from '../registry.ts';
import { oneLoginConfigSchema, type OneLoginConfig } from './config.ts';
import { ONELOGIN_ATTRIBUTES, OneLoginSource } from './connector.ts';

export { OneLoginSource, isActive } from './connector.ts';
export { oneLoginConfigSchema, type OneLoginConfig } from './config.ts';

export const definition: SourceDefinition<OneLoginConfig> = {
  type: 'onelogin',
  label: 'OneLogin',
  configSchema: oneLoginConfigSchema,
  secretFields: ['clientSecret'],
  knownAttributes: ONELOGIN_ATTRIBUTES,
  // No change feed: updated_since sees neither deletions nor role changes (connector.ts).
  changeFeed: false,
  create: (config, ctx) => new OneLoginSource(config, ctx),
};
