// Registry entry of the Confluence Cloud target: settings, secrets and the factory.
import { z } from 'zod';
import { HttpClient } from '../../core/http.ts';
import { targetSettingsSchema } from '../../config/schema.ts';
import { resolveSecret, secretRefSchema } from '../../config/secrets.ts';
import type { TargetDefinition } from '../registry.ts';
import { accessGroupsSchema, withAccessGroups } from '../access-groups.ts';
import { confluenceCloudErrorMessage } from './api.ts';
import { ConfluenceCloudTarget, confluenceCloudCapabilities } from './connector.ts';

export { ConfluenceCloudTarget, confluenceCloudCapabilities } from './connector.ts';

export const confluenceCloudConfigSchema = targetSettingsSchema({
  type: z.literal('confluence-cloud'),
  /** Site URL, e.g. https://acme.atlassian.net (the /wiki/rest/api path is added). */
  baseUrl: z.url('baseUrl must be the site URL, e.g. https://acme.atlassian.net'),
  /** Email of the Atlassian account that owns the API token (a site admin, for group writes). */
  email: z.string().min(3, 'email of the API token owner is required'),
  apiToken: secretRefSchema,
  /** Confluence Cloud cannot create accounts; the default reflects that. */
  createUsers: z.boolean().default(false),
  /**
   * The Confluence product-access groups of this site. The cleanup action "remove access" takes a
   * leaver out of these (freeing the licence seat); empty: that action is not available.
   */
  accessGroups: accessGroupsSchema,
});
export type ConfluenceCloudConfig = z.infer<typeof confluenceCloudConfigSchema>;

export const definition: TargetDefinition<ConfluenceCloudConfig> = {
  type: 'confluence-cloud',
  label: 'Confluence Cloud',
  configSchema: confluenceCloudConfigSchema,
  secretFields: ['apiToken'],
  capabilities: confluenceCloudCapabilities,
  capabilitiesFor: (config) => withAccessGroups(confluenceCloudCapabilities, config.accessGroups, 'Confluence'),
  create(config, ctx) {
    const token = resolveSecret(config.apiToken, `target ${config.id}: apiToken`, ctx.storedSecret);
    const basic = `Basic ${Buffer.from(`${config.email}:${token.reveal()}`).toString('base64')}`;
    const http = new HttpClient({
      service: 'Confluence Cloud',
      baseUrl: `${config.baseUrl.replace(/\/+$/, '')}/wiki/rest/api`,
      ca: ctx.ca,
      recorder: ctx.recorder,
      authHeaders: () => ({ authorization: basic }),
      errorMessage: confluenceCloudErrorMessage,
      connections: Math.max(4, config.concurrency * 2),
      retry: ctx.fastRetries ? { baseDelayMs: 1, maxDelayMs: 5, maxRetryAfterMs: 5_000 } : undefined,
    });
    return new ConfluenceCloudTarget(config.id, http, config.accessGroups);
  },
};
