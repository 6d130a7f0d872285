// Registry entry of the Atlassian Cloud organisation (admin API) target.
import { z } from 'zod';
import { HttpClient } from '../../core/http.ts';
import { targetSettingsSchema } from '../../config/schema.ts';
import { resolveSecret, secretRefSchema } from '../../config/secrets.ts';
import type { TargetDefinition } from '../registry.ts';
import { AtlassianAdminApi, adminErrorMessage } from './api.ts';
import { AtlassianAdminTarget, atlassianAdminCapabilities } from './connector.ts';

export const atlassianAdminConfigSchema = targetSettingsSchema({
  type: z.literal('atlassian-admin'),
  /** Organisation id, from the admin.atlassian.com URL or the API key page. */
  orgId: z.string().min(1, 'orgId is required (see admin.atlassian.com → Settings → API keys)'),
  /** Organisation API key (Bearer). */
  apiKey: secretRefSchema,
  /** Directory searched for accounts; `-` searches every directory the key may manage. */
  directoryId: z.string().min(1).default('-'),
  /** Only for tests and proxies; the real API lives at api.atlassian.com. */
  baseUrl: z.url().default('https://api.atlassian.com'),
  deactivationMessage: z.string().max(500).default('Your account was deactivated by your organisation (synchronised by idsync).'),
  /** The admin API cannot create accounts. */
  createUsers: z.boolean().default(false),
});
export type AtlassianAdminConfig = z.infer<typeof atlassianAdminConfigSchema>;

export const definition: TargetDefinition<AtlassianAdminConfig> = {
  type: 'atlassian-admin',
  label: 'Atlassian Cloud organisation (admin API)',
  configSchema: atlassianAdminConfigSchema,
  secretFields: ['apiKey'],
  capabilities: atlassianAdminCapabilities,
  create(config, ctx) {
    const key = resolveSecret(config.apiKey, `target ${config.id}: apiKey`, ctx.storedSecret);
    const http = new HttpClient({
      service: 'Atlassian admin API',
      baseUrl: config.baseUrl,
      ca: ctx.ca,
      recorder: ctx.recorder,
      authHeaders: () => ({ authorization: `Bearer ${key.reveal()}` }),
      errorMessage: adminErrorMessage,
      retry: ctx.fastRetries ? { baseDelayMs: 1, maxDelayMs: 5, maxRetryAfterMs: 5_000 } : undefined,
    });
    const api = new AtlassianAdminApi(http, config.orgId, config.directoryId);
    return new AtlassianAdminTarget(config.id, http, api, config.orgId, { deactivationMessage: config.deactivationMessage });
  },
};
