// Settings of an Okta source. The credential is a secret reference (never inline): an API
// token (SSWS) or an OAuth 2.0 service app's private key (private_key_jwt).
import { z } from 'zod';
import { sourceBaseSchema } from '../../config/schema.ts';
import { secretRefSchema } from '../../config/secrets.ts';

export const OKTA_SCOPES = ['okta.users.read', 'okta.groups.read', 'okta.schemas.read'] as const;

export const oktaOAuthSchema = z
  .object({
    clientId: z.string().min(1, 'clientId is required').meta({ title: 'Client ID', description: 'Client ID of the API Services app (Applications > Applications > your app > General)' }),
    privateKey: secretRefSchema.meta({ title: 'Private key (PEM)', description: 'The private key whose public key is registered on the app (Client Credentials > Public key / private key)' }),
    keyId: z.string().min(1).optional().meta({ title: 'Key ID (kid)', description: "The key's KID as the app's Public Keys list shows it; needed when the app has more than one key" }),
    scopes: z
      .array(z.enum(OKTA_SCOPES))
      .min(1)
      .default(['okta.users.read', 'okta.groups.read'])
      .meta({ title: 'Scopes', description: 'Granted on the app\'s Okta API Scopes tab. okta.schemas.read is optional: with it the mapping editor lists your custom attributes from the user schema' }),
  })
  .strict();

export const oktaConfigSchema = sourceBaseSchema
  .extend({
    type: z.literal('okta'),
    orgUrl: z
      .url()
      .refine((u) => !/-admin\./i.test(new URL(u).hostname), 'use the org URL without -admin (https://example.okta.com, not https://example-admin.okta.com)')
      .meta({ title: 'Okta org URL', description: 'e.g. https://example.okta.com (your Okta domain, without -admin)' }),
    apiToken: secretRefSchema.optional().meta({ title: 'API token', description: 'Security > API > Tokens. Created by an admin with the Read-only Administrator role; idsync sends it as SSWS' }),
    oauth: oktaOAuthSchema.optional().meta({ title: 'OAuth 2.0 service app', description: 'Instead of an API token: an API Services app with client credentials and a public/private key pair' }),
    /** Okta `search` expression on /api/v1/users, passed as written. */
    search: z.string().min(1).optional().meta({ title: 'Search expression', description: 'Okta search on users, e.g. profile.department eq "Engineering" (see Okta\'s List all users: search)' }),
    /** Okta `filter` expression (only status, lastUpdated, id, login, email, first and last name). */
    filter: z.string().min(1).optional().meta({ title: 'Filter expression', description: 'Okta filter, e.g. status eq "ACTIVE"; prefer search, which supports more properties' }),
    /** Which Okta group types appear in `groups`. */
    groupTypes: z
      .array(z.enum(['OKTA_GROUP', 'APP_GROUP', 'BUILT_IN']))
      .min(1)
      .default(['OKTA_GROUP', 'APP_GROUP'])
      .meta({ title: 'Group types', description: 'OKTA_GROUP: groups made in Okta; APP_GROUP: imported from AD, LDAP or apps; BUILT_IN: the Everyone group' }),
    /** How a full listing reads memberships: per user, per group, or whichever needs fewer calls. */
    membershipStrategy: z.enum(['auto', 'perUser', 'perGroup']).default('auto'),
    manager: z
      .object({
        /** Profile attribute holding the manager reference. */
        attribute: z.string().min(1).default('managerId'),
        /** What it holds: the manager's Okta id, login, e-mail or employee number. */
        refersTo: z.enum(['id', 'login', 'email']).default('id'),
      })
      .strict()
      .default({ attribute: 'managerId', refersTo: 'id' })
      .meta({ title: 'Manager', description: "Which profile attribute names the manager (Okta's base profile has managerId) and what it holds: the manager's Okta user id, login or e-mail" }),
    /** Users per page (Okta's maximum is 200). */
    pageSize: z.number().int().min(1).max(200).default(200),
    /**
     * Rate-limit headroom: once X-Rate-Limit-Remaining falls to this share of the limit, idsync
     * waits for X-Rate-Limit-Reset instead of spending the rest (other integrations share it).
     */
    rateLimitReservePercent: z.number().min(0).max(90).default(10).meta({ title: 'Rate-limit reserve (%)', description: 'Share of each Okta rate limit idsync leaves for other integrations: it waits for the window to reset instead of using it' }),
  })
  .strict()
  .refine((c) => (c.apiToken === undefined) !== (c.oauth === undefined), { message: 'configure exactly one credential: apiToken or oauth', path: ['apiToken'] })
  .refine((c) => !(c.search && c.filter), { message: 'Okta takes a search or a filter expression, not both', path: ['filter'] });

export type OktaConfig = z.output<typeof oktaConfigSchema>;
