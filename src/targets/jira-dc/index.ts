// Jira Data Center target (also Jira Server): users, groups and user properties through
// /rest/api/2, authenticated by a personal access token or Basic auth.
import type { TargetDefinition } from '../registry.ts';
import { jiraDcCapabilities } from './capabilities.ts';
import { createJiraDcHttp } from './client.ts';
import { jiraDcConfigSchema, type JiraDcConfig } from './config.ts';
import { JiraDcTarget } from './connector.ts';

export { JiraDcTarget } from './connector.ts';
export { jiraDcConfigSchema, type JiraDcConfig } from './config.ts';

export const definition: TargetDefinition<JiraDcConfig> = {
  type: 'jira-dc',
  label: 'Jira Data Center',
  configSchema: jiraDcConfigSchema,
  secretFields: ['auth.token', 'auth.password'],
  capabilities: jiraDcCapabilities,
  create: (config, ctx) =>
    new JiraDcTarget(config.id, createJiraDcHttp(config, ctx), config.auth.type === 'pat' ? 'the personal access token' : `the password of ${config.auth.username}`),
};
