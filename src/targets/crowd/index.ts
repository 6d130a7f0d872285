// Registry entry of the Atlassian Crowd target.
import { z } from 'zod';
import { HttpClient } from '../../core/http.ts';
import { targetSettingsSchema } from '../../config/schema.ts';
import { resolveSecret, secretRefSchema } from '../../config/secrets.ts';
import type { TargetDefinition } from '../registry.ts';
import { CrowdApi, crowdErrorMessage } from './api.ts';
import { CrowdTarget, crowdCapabilities } from './connector.ts';

export const crowdConfigSchema = targetSettingsSchema({
  type: z.literal('crowd'),
  /** Crowd's base URL including any context path, e.g. https://crowd.example.com/crowd. */
  baseUrl: z.url('baseUrl must be Crowd\'s URL, e.g. https://crowd.example.com/crowd'),
  /** The application idsync signs in as (Crowd → Applications), not a user. */
  applicationName: z.string().min(1, 'applicationName is required'),
  applicationPassword: secretRefSchema,
});
export type CrowdConfig = z.infer<typeof crowdConfigSchema>;

export const definition: TargetDefinition<CrowdConfig> = {
  type: 'crowd',
  label: 'Atlassian Crowd',
  configSchema: crowdConfigSchema,
  secretFields: ['applicationPassword'],
  capabilities: crowdCapabilities,
  create(config, ctx) {
    const password = resolveSecret(config.applicationPassword, `target ${config.id}: applicationPassword`, ctx.storedSecret);
    const basic = `Basic ${Buffer.from(`${config.applicationName}:${password.reveal()}`).toString('base64')}`;
    const http = new HttpClient({
      service: 'Crowd',
      baseUrl: `${config.baseUrl.replace(/\/+$/, '')}/rest/usermanagement/1`,
      ca: ctx.ca,
      recorder: ctx.recorder,
      authHeaders: () => ({ authorization: basic }),
      errorMessage: crowdErrorMessage,
      retry: ctx.fastRetries ? { baseDelayMs: 1, maxDelayMs: 5, maxRetryAfterMs: 5_000 } : undefined,
    });
    return new CrowdTarget(config.id, http, new CrowdApi(http));
  },
};
