// Settings of a Jira Data Center target. The credentials are secret references, resolved
// only when the connector is created, never stored or logged as values.
import { z } from 'zod';
import { targetSettingsSchema } from '../../config/schema.ts';
import { secretRefSchema } from '../../config/secrets.ts';

export const jiraDcAuthSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('pat'), token: secretRefSchema }).strict(),
  z.object({ type: z.literal('basic'), username: z.string().min(1, 'username is required'), password: secretRefSchema }).strict(),
]);

export const jiraDcConfigSchema = targetSettingsSchema({
  type: z.literal('jira-dc'),
  /** Base URL of Jira, e.g. https://jira.example.com (with the context path, if any). */
  url: z.url({ error: 'url must be the base URL of Jira, e.g. https://jira.example.com' }),
  auth: jiraDcAuthSchema,
});

export type JiraDcConfig = z.infer<typeof jiraDcConfigSchema>;
export type JiraDcAuth = z.infer<typeof jiraDcAuthSchema>;
