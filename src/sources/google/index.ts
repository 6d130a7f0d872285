// Google Workspace as a source, through the Admin SDK Directory API with a service account
// and domain-wide delegation.
import type { SourceDefinition } from '../registry.ts';
import { googleConfigSchema, type GoogleConfig } from './config.ts';
import { STATIC_ATTRIBUTES } from './catalogue.ts';
import { GoogleSource } from './connector.ts';

export { GoogleSource } from './connector.ts';
export { googleConfigSchema, type GoogleConfig } from './config.ts';

export const definition: SourceDefinition<GoogleConfig> = {
  type: 'google',
  label: 'Google Workspace',
  configSchema: googleConfigSchema,
  secretFields: ['serviceAccountKey'],
  knownAttributes: STATIC_ATTRIBUTES,
  // users.watch pushes to a web hook (no pollable change feed): changes are found by full reads.
  changeFeed: false,
  create: (config, ctx) => new GoogleSource(config, ctx),
};
