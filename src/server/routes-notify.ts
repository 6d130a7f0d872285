// Notification settings as the API shows them (administrators: recipients are people's
// addresses), and "send a test notification": one message to every channel, or the one named,
// answered with each channel's success or error. The settings themselves are the operator's
// (`idsync serve --notifications FILE`, see src/notify/config.ts): the API reads, never writes them.
import { z } from 'zod';
import type { Notifier } from '../notify/index.ts';
import { HttpError, type ApiRouter } from './routes.ts';

const outcome = z.object({ channel: z.string(), type: z.enum(['webhook', 'email']), ok: z.boolean(), error: z.string().optional() });
const channel = z.object({
  name: z.string(),
  type: z.enum(['webhook', 'email']),
  events: z.array(z.string()),
  connectors: z.array(z.string()).optional(),
  format: z.string().optional(),
  host: z.string().optional().describe('a webhook by its host only: the URL carries its token'),
  to: z.array(z.string()).optional(),
  problem: z.string().optional(),
});

export function notifyRoutes(api: ApiRouter, deps: { notifier: Notifier }): void {
  const { notifier } = deps;
  const noneConfigured = () =>
    new HttpError(409, 'no notification channels are configured; the operator lists them in a notifications file given with idsync serve --notifications FILE (or IDSYNC_NOTIFICATIONS_FILE)');

  api.route(
    {
      method: 'GET', path: '/api/v1/notifications', tag: 'notifications', access: 'administrator', summary: 'The notification channels: what each hears about and where it goes (never a webhook URL)',
      response: z.object({ configured: z.boolean(), publicUrl: z.string().optional(), smtp: z.object({ host: z.string(), from: z.string() }).optional(), channels: z.array(channel) }),
    },
    async () => {
      const smtp = notifier.config?.smtp;
      return {
        configured: notifier.channels.length > 0,
        ...(notifier.config?.publicUrl ? { publicUrl: notifier.config.publicUrl } : {}),
        ...(smtp ? { smtp: { host: smtp.host, from: smtp.from } } : {}),
        channels: notifier.summary(),
      };
    },
  );

  api.route(
    {
      method: 'POST', path: '/api/v1/notifications/test', tag: 'notifications', access: 'administrator', summary: 'Sends a test notification to every channel (or the one named) and says how each went',
      body: z.object({ channel: z.string().min(1).optional() }).strict(),
      response: z.object({ ok: z.boolean(), channels: z.array(outcome) }),
      errors: { 404: 'no channel of that name', 409: 'no channel is configured' },
    },
    async ({ body, principal }) => {
      if (notifier.channels.length === 0) throw noneConfigured();
      if (body.channel && !notifier.channels.some((c) => c.name === body.channel)) {
        throw new HttpError(404, `no notification channel "${body.channel}"; the channels are ${notifier.channels.map((c) => c.name).join(', ')}`);
      }
      const channels = await notifier.test({ ...(body.channel ? { channel: body.channel } : {}), ...(principal ? { sentBy: principal.user.username } : {}) });
      return { ok: channels.every((c) => c.ok), channels };
    },
  );
}
