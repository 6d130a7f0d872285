// Settings of a OneLogin source: an API credential pair (OAuth 2.0 client credentials) of the
// account's region, which of roles / groups feed `groups`, and the hourly floor of API calls
// idsync leaves for everyone else. The client secret is a reference (never inline).
import { z } from 'zod';
import { sourceBaseSchema } from '../../config/schema.ts';
import { secretRefSchema } from '../../config/secrets.ts';

export const oneLoginConfigSchema = sourceBaseSchema
  .extend({
    type: z.literal('onelogin'),
    region: z.enum(['us', 'eu']).default('us').meta({ title: 'Region', description: 'Where the OneLogin account lives: us (api.us.onelogin.com) or eu (api.eu.onelogin.com)' }),
    /** Overrides the region's host, e.g. https://example.onelogin.com (the account subdomain) or an emulator. */
    baseUrl: z.url().optional().meta({ title: 'API URL', description: 'Instead of the region: the account URL, e.g. https://example.onelogin.com' }),
    clientId: z.string().min(1, 'clientId is required').meta({ title: 'Client ID', description: 'Developers > API Credentials > your credential pair' }),
    clientSecret: secretRefSchema.meta({ title: 'Client secret', description: 'Shown with the client ID; the credential needs the scope "Read users" (or Read All)' }),
    /** What `groups` holds: the user's roles, its OneLogin group, or both. */
    groupSource: z.enum(['roles', 'groups', 'both']).default('roles').meta({ title: 'Groups from', description: 'roles: the names of the user\'s roles; groups: the name of its OneLogin group (one per user); both' }),
    /**
     * The account's API budget is hourly and shared by every credential: once
     * X-RateLimit-Remaining falls to this many calls, idsync waits for the hour to reset.
     */
    keepApiCallsPerHour: z
      .number()
      .int()
      .min(0)
      .default(500)
      .meta({ title: 'Keep at least N API calls per hour', description: 'idsync stops and waits for the next hour once OneLogin reports this many calls left, so other integrations keep working' }),
    /** Users per page (`limit`). */
    pageSize: z.number().int().min(1).max(1000).default(100),
  })
  .strict()
  .refine((c) => !c.baseUrl || /^https?:$/.test(new URL(c.baseUrl).protocol), { message: 'baseUrl must be an http(s) URL', path: ['baseUrl'] });

export type OneLoginConfig = z.output<typeof oneLoginConfigSchema>;

/** The API host: the configured URL, else the region's. */
export function apiBase(c: Pick<OneLoginConfig, 'baseUrl' | 'region'>): string {
  return (c.baseUrl ?? `https://api.${c.region}.onelogin.com`).replace(/\/+$/, '');
}
