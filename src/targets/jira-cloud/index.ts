// Registry entry of the Jira Cloud target: settings, secrets and the factory.
import { z } from 'zod';
import { HttpClient } from '../../core/http.ts';
import { targetSettingsSchema } from '../../config/schema.ts';
import { resolveSecret, secretRefSchema } from '../../config/secrets.ts';
import type { TargetDefinition } from '../registry.ts';
import { accessGroupsSchema, withAccessGroups } from '../access-groups.ts';
import { jiraErrorMessage } from './api.ts';
import { JiraCloudTarget, jiraCloudCapabilities } from './connector.ts';

export const jiraCloudConfigSchema = targetSettingsSchema({
  type: z.literal('jira-cloud'),
  /** Site URL, e.g. https://acme.atlassian.net (the REST path is added). */
  baseUrl: z.url('baseUrl must be the site URL, e.g. https://acme.atlassian.net'),
  /** Email of the Atlassian account that owns the API token (a site admin). */
  email: z.string().min(3, 'email of the API token owner is required'),
  apiToken: secretRefSchema,
  /** Jira Cloud cannot create accounts; the default reflects that. */
  createUsers: z.boolean().default(false),
  /**
   * The Jira product-access groups of this site. The cleanup action "remove access" takes a
   * leaver out of these (freeing the licence seat); empty: that action is not available.
   */
  accessGroups: accessGroupsSchema,
});
export type JiraCloudConfig = z.infer<typeof jiraCloudConfigSchema>;

export const definition: TargetDefinition<JiraCloudConfig> = {
  type: 'jira-cloud',
  label: 'Jira Cloud',
  configSchema: jiraCloudConfigSchema,
  secretFields: ['apiToken'],
  capabilities: jiraCloudCapabilities,
  capabilitiesFor: (config) => withAccessGroups(jiraCloudCapabilities, config.accessGroups, 'Jira'),
  create(config, ctx) {
    const token = resolveSecret(config.apiToken, `target ${config.id}: apiToken`, ctx.storedSecret);
    const basic = `Basic ${Buffer.from(`${config.email}:${token.reveal()}`).toString('base64')}`;
    const http = new HttpClient({
      service: 'Jira Cloud',
      baseUrl: `${config.baseUrl.replace(/\/+$/, '')}/rest/api/3`,
      ca: ctx.ca,
      recorder: ctx.recorder,
      authHeaders: () => ({ authorization: basic }),
      errorMessage: jiraErrorMessage,
      retry: ctx.fastRetries ? { baseDelayMs: 1, maxDelayMs: 5, maxRetryAfterMs: 5_000 } : undefined,
    });
    return new JiraCloudTarget(config.id, http, config.accessGroups);
  },
};
