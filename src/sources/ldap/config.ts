// Settings of an LDAP / Active Directory source. Everything about the directory's shape is
// data: a preset (activeDirectory, openldap) gives object classes, the id, username, mail and
// name attributes, the membership model and how a disabled account looks; every item can be
// overridden. The bind password is a secret reference, never an inline value.
import { z } from 'zod';
import { FilterParser } from 'ldapts';
import { sourceBaseSchema } from '../../config/schema.ts';
import { secretRefSchema } from '../../config/secrets.ts';

const pem = z.string().refine((s) => s.includes('-----BEGIN CERTIFICATE-----'), 'ca must be PEM text (-----BEGIN CERTIFICATE-----) or a secret reference');
const scope = z.enum(['sub', 'one']);

/** Whether `f` is one RFC 4515 filter: balanced parentheses (ldapts forgives a missing one), and parsable. */
export function filterProblem(f: string): string | undefined {
  let depth = 0;
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '\\') i++;
    else if (f[i] === '(') depth++;
    else if (f[i] === ')' && --depth < 0) return 'a closing parenthesis without its opening one';
  }
  if (depth !== 0) return 'unbalanced parentheses';
  try {
    FilterParser.parseString(f);
  } catch (e) {
    return (e as Error).message;
  }
  return undefined;
}

const ldapFilter = z
  .string()
  .min(1)
  .superRefine((f, ctx) => {
    const problem = filterProblem(f);
    if (problem) ctx.addIssue({ code: 'custom', message: `not a valid LDAP filter (${problem}); write it as in RFC 4515, e.g. (department=Sales)` });
  });
const attributeName = z.string().regex(/^[A-Za-z][A-Za-z0-9-]*$/, 'an LDAP attribute name (letters, digits, dashes)');

export const ldapDisabledSchema = z
  .object({
    /** The attribute that says an account is disabled. */
    attribute: attributeName,
    /**
     * `bit`: disabled when (value & bit) != 0 (AD userAccountControl, bit 2: ACCOUNTDISABLE);
     * `present`: disabled when the attribute has any value (ppolicy's pwdAccountLockedTime);
     * `equals`: disabled when the value equals `value` (case-insensitive), e.g. nsAccountLock TRUE.
     */
    when: z.enum(['bit', 'present', 'equals']),
    value: z.union([z.number().int(), z.string()]).optional(),
  })
  .strict()
  .refine((d) => d.when === 'present' || d.value !== undefined, { message: "give `value` (the bit, or the value that means disabled) unless `when` is 'present'", path: ['value'] });

export const ldapConfigSchema = sourceBaseSchema
  .extend({
    type: z.literal('ldap'),
    /** Defaults for the directory product; any item below overrides it. */
    preset: z.enum(['activeDirectory', 'openldap']).meta({ title: 'Directory', description: 'Active Directory or OpenLDAP: the object classes, attributes and membership model to start from' }),
    /** ldap://host:389 (with startTls) or ldaps://host:636. */
    url: z
      .string()
      .regex(/^ldaps?:\/\/[^/\s]+\/?$/i, 'url must be ldap://host[:port] or ldaps://host[:port]')
      .meta({ title: 'Server URL', description: 'ldaps://dc1.corp.example.com:636, or ldap://host:389 with StartTLS' }),
    /** Upgrade an ldap:// connection with StartTLS before binding (recommended; required for a password over ldap://). */
    startTls: z.boolean().default(false).meta({ title: 'StartTLS', description: 'Upgrade ldap:// to TLS before binding' }),
    /** The CA (PEM) that signed the server's certificate, when it is a private one. */
    ca: z.union([secretRefSchema, pem]).optional().meta({ title: 'CA certificate (PEM)', description: "The private CA that signed the directory's certificate (-----BEGIN CERTIFICATE-----)" }),
    /** The account idsync binds as (read access is enough). */
    bindDn: z.string().min(1, 'bindDn is required').meta({ title: 'Bind DN', description: 'e.g. CN=idsync,OU=Service Accounts,DC=corp,DC=example,DC=com' }),
    bindPassword: secretRefSchema.meta({ title: 'Bind password' }),
    connectTimeoutMs: z.number().int().min(100).max(120_000).default(10_000),
    /** Per operation (one page of a search). */
    timeoutMs: z.number().int().min(100).max(600_000).default(60_000),
    /** Entries per page of every search (RFC 2696 paged results; AD's MaxPageSize is 1000). */
    pageSize: z.number().int().min(1).max(5000).default(500),
    users: z
      .object({
        baseDn: z.string().min(1, 'users.baseDn is required'),
        /** An LDAP filter ANDed with the preset's user filter, e.g. (department=Engineering). */
        filter: ldapFilter.optional(),
        scope: scope.default('sub'),
        /** Overrides the preset's user filter (object classes), e.g. (objectClass=person). */
        objectFilter: ldapFilter.optional(),
      })
      .strict(),
    groups: z
      .object({
        baseDn: z.string().min(1).optional(),
        filter: ldapFilter.optional(),
        scope: scope.default('sub'),
        objectFilter: ldapFilter.optional(),
      })
      .strict()
      .optional(),
    idAttribute: attributeName.optional().meta({ description: 'The immutable id (objectGUID on AD, entryUUID on OpenLDAP)' }),
    usernameAttribute: attributeName.optional(),
    mailAttribute: attributeName.optional(),
    nameAttribute: attributeName.optional(),
    /** How memberships are read: the users' memberOf, or the groups' member / uniqueMember (DNs) / memberUid (usernames). */
    membership: z.enum(['memberOf', 'member', 'uniqueMember', 'memberUid']).optional(),
    /** Count memberships through nested groups too. */
    nestedGroups: z.boolean().default(false),
    disabled: ldapDisabledSchema.optional(),
    /** Attributes read as binary (base64 in the mapping) besides those the schema says are binary. */
    binaryAttributes: z.array(attributeName).default([]),
    /** Attributes always given as a list, even with one value (others: a string, a list only when several values come). */
    multiValued: z.array(attributeName).default([]),
  })
  .strict()
  .refine((c) => !c.url.toLowerCase().startsWith('ldaps:') || !c.startTls, { message: 'startTls is for ldap:// URLs; ldaps:// is TLS already', path: ['startTls'] });

export type LdapConfig = z.output<typeof ldapConfigSchema>;
export type LdapDisabled = z.output<typeof ldapDisabledSchema>;
