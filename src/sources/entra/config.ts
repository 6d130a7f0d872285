// Settings of an Entra ID source. Credentials are secret references (never inline values):
// either a client secret or a certificate (private key + certificate or its thumbprint).
import { z } from 'zod';
import { sourceBaseSchema } from '../../config/schema.ts';
import { secretRefSchema } from '../../config/secrets.ts';

const pemCertificate = z.string().refine((s) => s.includes('-----BEGIN CERTIFICATE-----'), 'certificate must be a PEM (-----BEGIN CERTIFICATE-----) or a secret reference');

export const entraCertificateSchema = z
  .object({
    /** PEM private key of the certificate registered on the app. */
    privateKey: secretRefSchema.meta({ title: 'Private key (PEM)', description: 'The private key of the certificate (-----BEGIN PRIVATE KEY-----)' }),
    /** The certificate (PEM), inline or as a secret reference; used for its thumbprint. */
    certificate: z.union([secretRefSchema, pemCertificate]).optional().meta({ title: 'Certificate (PEM)', description: 'The certificate uploaded to the app registration (-----BEGIN CERTIFICATE-----); idsync takes its thumbprint from it' }),
    /** Thumbprint (hex) when the certificate itself is not given: SHA-256 (64 digits, preferred) or SHA-1 (40, as the Azure portal shows it). */
    thumbprint: z
      .string()
      .regex(/^[0-9A-Fa-f]{2}(:?[0-9A-Fa-f]{2}){19}((:?[0-9A-Fa-f]{2}){12})?$/, 'thumbprint must be the SHA-256 (64 hex digits) or SHA-1 (40 hex digits) thumbprint')
      .optional()
      .meta({ title: 'Thumbprint', description: 'Instead of the certificate: its SHA-256 thumbprint (64 hex digits), or the SHA-1 thumbprint the Azure portal shows (Certificates & secrets)' }),
  })
  .strict()
  .refine((c) => c.certificate !== undefined || c.thumbprint !== undefined, { message: 'give the certificate (PEM) or its thumbprint', path: ['certificate'] });

const guidOrDomain = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[a-z0-9.-]+\.[a-z]{2,})$/i;

export const entraConfigSchema = sourceBaseSchema
  .extend({
    type: z.literal('entra'),
    /** Directory (tenant) id, or the tenant's domain (contoso.onmicrosoft.com). */
    tenantId: z.string().regex(guidOrDomain, 'tenantId must be the Directory (tenant) ID (a GUID) or a tenant domain'),
    /** Application (client) id of the app registration. */
    clientId: z.string().min(1, 'clientId is required'),
    clientSecret: secretRefSchema.optional().meta({ description: "The Value (not the Secret ID) of a client secret of the app registration" }),
    certificate: entraCertificateSchema.optional().meta({ title: 'Certificate', description: 'A certificate uploaded to the app registration: its private key, and the certificate or its thumbprint' }),
    authorityHost: z.url().default('https://login.microsoftonline.com'),
    graphUrl: z.url().default('https://graph.microsoft.com'),
    /** Server-side OData $filter on /users, passed as written. */
    filter: z.string().min(1).optional(),
    /** Count memberships through nested groups too (transitiveMemberOf). */
    transitiveGroups: z.boolean().default(false),
    /**
     * How group memberships are read for a full listing: per user (memberOf, 20 users per
     * $batch), per group (each group's member list) or `auto`, whichever needs fewer requests.
     */
    membershipStrategy: z.enum(['auto', 'perUser', 'perGroup']).default('auto'),
    /** Server-side OData $filter on /groups, passed as written: only matching groups appear in `groups`. */
    groupFilter: z.string().min(1).optional(),
    /** $top of the user listing (Graph allows 1..999; $expand=manager caps pages at 100 anyway). */
    pageSize: z.number().int().min(1).max(999).default(999),
  })
  .strict()
  .refine((c) => (c.clientSecret === undefined) !== (c.certificate === undefined), {
    message: 'configure exactly one credential: clientSecret or certificate',
    path: ['clientSecret'],
  });

export type EntraConfig = z.output<typeof entraConfigSchema>;
