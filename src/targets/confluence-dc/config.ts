// Settings of a Confluence Data Center target. Credentials are secret references, resolved
// only when the connector is created and never stored or logged as values.
import { z } from 'zod';
import { targetSettingsSchema } from '../../config/schema.ts';
import { secretRefSchema } from '../../config/secrets.ts';

export const confluenceDcAuthSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('pat'), token: secretRefSchema }).strict(),
  z.object({ type: z.literal('basic'), username: z.string().min(1, 'username is required'), password: secretRefSchema }).strict(),
]);

export const confluenceDcConfigSchema = targetSettingsSchema({
  type: z.literal('confluence-dc'),
  /** Base URL of Confluence with its context path, e.g. https://wiki.example.com/confluence. */
  url: z.url({ error: 'url must be the base URL of Confluence, e.g. https://wiki.example.com' }),
  /** REST credentials of a Confluence administrator (the admin user API needs that permission). */
  auth: confluenceDcAuthSchema,
  /**
   * How profile fields (confluence.profile.*) are written: `form` posts the administrator's
   * Edit User Details form (needs an administrator's password for the secure administrator
   * session; see docs/confluence-profile-fields.md), `off` declares them unsupported.
   */
  profileFields: z
    .enum(['form', 'off'])
    .default('form')
    .meta({ title: 'Profile fields', description: "form: write confluence.profile.* through the Edit User Details form (needs an administrator's password); off: do not write them" }),
  /** Administrator login for the profile form when `auth` is a personal access token. */
  formLogin: z
    .object({ username: z.string().min(1), password: secretRefSchema })
    .strict()
    .optional()
    .meta({
      title: 'Administrator login for profile fields',
      description:
        "Profile fields are written through Confluence's Edit User Details form, which asks for an administrator's password (secure administrator session); a personal access token cannot answer it. Enter a Confluence administrator's username and password.",
    }),
  /**
   * New users get a random password (for SSO/directory logins) or Confluence's own
   * "set your password" email.
   */
  newUserPassword: z.enum(['random', 'notify']).default('random'),
  /**
   * Confluence has no REST search by email: matching by email reads the whole user list once
   * per run (one request per 200 users). Turn off on very large instances and link by username.
   */
  matchByEmail: z.boolean().default(true),
});

export type ConfluenceDcConfig = z.infer<typeof confluenceDcConfigSchema>;
