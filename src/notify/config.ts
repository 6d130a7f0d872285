// The `notifications` block: where idsync sends word of a failed run or a held cleanup. It is the
// operator's, like the server's other settings (flags and environment, src/server/deployment.ts):
// one block per idsync installation, in a YAML file named with `idsync serve --notifications FILE`
// or IDSYNC_NOTIFICATIONS_FILE, or at the top of the `--config` file the CLI syncs from. It holds
// the SMTP transport once and a list of channels (a webhook or a list of e-mail recipients), each
// with the events it wants and, optionally, the connectors it is about: per-connector recipients
// are a channel limited to those connectors. Secrets (the webhook URL, which carries its token,
// and the SMTP password) are {env} / {file} references; there is no store for them, so {stored}
// is refused.
// This file is the schema only (src/config/schema.ts imports it); reading and placing problems is load.ts.
import { z } from 'zod';
import '../config/unknown-keys.ts';
import { secretRefSchema } from '../config/secrets.ts';
import { EVENT_TYPES } from './events.ts';

const operatorSecret = secretRefSchema.refine((r) => !('stored' in r), {
  message: 'a notification secret is given as {env: VAR} or {file: PATH} (there is no stored secret outside a connector)',
});

/** A single address, no display name and no line break (a header could be injected with one). */
const address = z.string().regex(/^[^\s@<>,;"]+@[^\s@<>,;"]+\.[^\s@<>,;"]+$/, 'use a plain e-mail address such as it-ops@example.com');

const seconds = (max: number, dflt: number) => z.number().int().min(1, 'at least 1 second').max(max, `at most ${max} seconds`).default(dflt);

export const smtpSchema = z
  .object({
    host: z.string().min(1, 'the SMTP server name is required'),
    /** Default: 465 with `tls`, 587 with `starttls`, 25 with `none`. */
    port: z.number().int().min(1).max(65535).optional(),
    /**
     * `starttls` (default): plain connection upgraded with STARTTLS, which is required (port 587);
     * `tls`: TLS from the start (port 465); `none`: no encryption (a relay on the same host or network).
     */
    security: z.enum(['starttls', 'tls', 'none']).default('starttls'),
    user: z.string().min(1).optional(),
    password: operatorSecret.optional(),
    /** The sender, e.g. `idsync <idsync@example.com>`. */
    from: z.string().regex(/^[^\r\n]*[^\s@<>]+@[^\s@<>]+[^\r\n]*$/, 'give the sender as an address, e.g. idsync@example.com or "idsync <idsync@example.com>"'),
    /** A PEM file with the CA that signed the SMTP server's certificate (a company CA). */
    caFile: z.string().min(1).optional(),
    /** Connecting and the server's greeting, each. */
    timeoutSeconds: seconds(120, 10),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.user && !s.password) ctx.addIssue({ code: 'custom', path: ['password'], message: 'a user needs a password ({env: VAR} or {file: PATH}); leave both out for a relay without log-in' });
    if (s.password && !s.user) ctx.addIssue({ code: 'custom', path: ['user'], message: 'a password needs the user it belongs to' });
    if (s.password && s.security === 'none') ctx.addIssue({ code: 'custom', path: ['security'], message: 'the password would cross the network unencrypted: use starttls or tls with a log-in' });
  });

const channelBase = {
  /** Names the channel in test results and logs. */
  name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'use lower-case letters, digits and dashes'),
  /** What the channel hears about; `run-partial` (runs that finished with failed users) is off unless listed. */
  events: z.array(z.enum(EVENT_TYPES)).min(1, 'list at least one of run-failed, run-partial, quarantine').default(['run-failed', 'quarantine']),
  /** Only these connectors (ids); absent: every connector. */
  connectors: z.array(z.string().min(1)).min(1, 'list connector ids, or leave connectors out for all').optional(),
};

export const webhookChannelSchema = z
  .object({
    ...channelBase,
    type: z.literal('webhook'),
    /** `slack` (incoming webhook), `teams` (Workflows "when a Teams webhook request is received", or a legacy connector), `generic` (the event as JSON). */
    format: z.enum(['slack', 'teams', 'generic'], { error: 'format is slack, teams or generic' }),
    /** The webhook URL carries its token: a secret reference. */
    url: operatorSecret,
    timeoutSeconds: seconds(60, 10),
    /** Further attempts after a 5xx, a 429 or no answer (never after another 4xx). */
    retries: z.number().int().min(0).max(5).default(2),
  })
  .strict();

export const emailChannelSchema = z
  .object({
    ...channelBase,
    type: z.literal('email'),
    to: z.array(address).min(1, 'list at least one recipient'),
  })
  .strict();

export const channelSchema = z.discriminatedUnion('type', [webhookChannelSchema, emailChannelSchema], { error: 'a channel has type webhook or email' });

export const notificationsSchema = z
  .object({
    /** Where the web UI is reached (https://idsync.example.com): messages link to the run. */
    publicUrl: z.url({ protocol: /^https?$/, error: 'give the address of the web UI, e.g. https://idsync.example.com' }).optional(),
    smtp: smtpSchema.optional(),
    /**
     * The same failure (connector, event and error text) is told again only after this many
     * minutes: an incremental sync every minute against a provider that is down would otherwise
     * send sixty messages an hour. 0 tells every failed run.
     */
    quietMinutes: z.number().int().min(0).max(7 * 24 * 60).default(60),
    channels: z.array(channelSchema).default([]),
  })
  .strict()
  .superRefine((n, ctx) => {
    const seen = new Set<string>();
    for (const [i, c] of n.channels.entries()) {
      if (seen.has(c.name)) ctx.addIssue({ code: 'custom', path: ['channels', i, 'name'], message: `channel name "${c.name}" is used twice` });
      seen.add(c.name);
      if (c.type === 'email' && !n.smtp) ctx.addIssue({ code: 'custom', path: ['channels', i, 'type'], message: 'an email channel needs the smtp block (host, from, ...) beside channels' });
    }
  });

export type NotificationsConfig = z.infer<typeof notificationsSchema>;
export type SmtpConfig = z.infer<typeof smtpSchema>;
export type WebhookChannel = z.infer<typeof webhookChannelSchema>;
export type EmailChannel = z.infer<typeof emailChannelSchema>;
export type ChannelConfig = z.infer<typeof channelSchema>;
