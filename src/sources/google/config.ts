// Settings of a Google Workspace source: a service account with domain-wide delegation (its
// JSON key as a secret reference, never inline), the administrator it acts as, and which
// users of the account to read.
import { z } from 'zod';
import { sourceBaseSchema } from '../../config/schema.ts';
import { secretRefSchema } from '../../config/secrets.ts';

const email = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export const googleConfigSchema = sourceBaseSchema
  .extend({
    type: z.literal('google'),
    serviceAccountKey: secretRefSchema.meta({
      title: 'Service account key (JSON)',
      description: 'The JSON key file of the service account (Cloud console > IAM & Admin > Service accounts > Keys > Add key > JSON)',
    }),
    subject: z.string().regex(email, 'subject must be the e-mail address of an administrator of the Google Workspace account').meta({
      title: 'Administrator to act as',
      description: 'The e-mail address of an administrator whose rights the service account uses (domain-wide delegation); it needs at least the Users > Read privilege',
    }),
    /** `my_customer` (the account of the subject) or a customer id (C0…). */
    customer: z.string().regex(/^(my_customer|C[0-9a-z]+)$/, 'customer must be my_customer or the customer ID (C0…) from Admin console > Account > Account settings').default('my_customer'),
    /** Only the users of this domain (instead of every domain of the account). */
    domain: z.string().regex(/^[a-z0-9.-]+\.[a-z]{2,}$/i, 'domain must be a domain name such as example.com').optional(),
    /** A Directory API search query (Google's syntax), passed as written, e.g. `isSuspended=false orgUnitPath=/Sales`. */
    query: z.string().min(1).optional(),
    /** Custom schemas always read (projection=custom); those the mapping names are read anyway. */
    customSchemas: z.array(z.string().regex(/^[A-Za-z][\w]*$/, 'a custom schema name (letters, digits, _)')).default([]),
    /** Read group memberships (needs the group scope in the delegation). */
    readGroups: z.boolean().default(true),
    /** maxResults of users.list: 1..500. */
    pageSize: z.number().int().min(1).max(500).default(500),
    /** Root of the Directory API. */
    apiUrl: z.url().default('https://admin.googleapis.com'),
    /** Token endpoint; default: the key file's token_uri. */
    tokenUrl: z.url().optional(),
  })
  .strict();

export type GoogleConfig = z.output<typeof googleConfigSchema>;
