// Keycloak as a source, through the admin REST API of one realm.
import type { SourceDefinition } from '../registry.ts';
import { keycloakConfigSchema, type KeycloakConfig } from './config.ts';
import { KEYCLOAK_ATTRIBUTES, KeycloakSource } from './connector.ts';

export { KeycloakSource } from './connector.ts';
export { keycloakConfigSchema, type KeycloakConfig } from './config.ts';

export const definition: SourceDefinition<KeycloakConfig> = {
  type: 'keycloak',
  label: 'Keycloak',
  configSchema: keycloakConfigSchema,
  secretFields: ['clientSecret'],
  knownAttributes: KEYCLOAK_ATTRIBUTES,
  // No change feed: Keycloak's admin events are off by default and not a complete record.
  changeFeed: false,
  create: (config, ctx) => new KeycloakSource(config, ctx),
};
