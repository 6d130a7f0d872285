// The CLI's side of notifications: which settings a command uses (--notifications FILE, else the
// `notifications` block of --config, else IDSYNC_NOTIFICATIONS_FILE), the notifier `idsync sync`
// tells a failed run to, and `idsync notify test`.
import type { Command } from 'commander';
import { Notifier, notificationsFrom } from '../notify/index.ts';
import { printJson } from './output.ts';

export function cliNotifier(opts: { notifications?: string; config?: string }): Notifier {
  const config = notificationsFrom({ ...(opts.notifications ? { flag: opts.notifications } : {}), ...(opts.config ? { configFile: opts.config } : {}) });
  return new Notifier(config, { log: { info: () => undefined, warn: (obj, msg) => console.error(`warning: ${msg}: ${(obj as { err?: string }).err ?? ''}`) } });
}

/** `idsync notify test`: a test message to each channel, one line per channel; exit 1 when any failed. */
export function notifyCommand(program: Command, globals: (cmd: Command) => Record<string, unknown>): void {
  const notify = program.command('notify').description('notifications of failed runs and held cleanups (webhook, e-mail)');
  notify
    .command('test')
    .description('send a test notification to every channel (or one) and say how each went')
    .option('--notifications <file>', 'YAML file with the notifications block (default: the --config file, else IDSYNC_NOTIFICATIONS_FILE)')
    .option('-c, --config <file>', 'idsync YAML configuration whose notifications block to use')
    .option('--channel <name>', 'only this channel')
    .option('--json', 'machine-readable output')
    .action(async (_o, cmd: Command) => {
      const opts = globals(cmd) as { notifications?: string; config?: string; channel?: string; json?: boolean };
      const notifier = cliNotifier(opts);
      if (notifier.channels.length === 0) {
        throw new Error('no notification channels are configured: give --notifications FILE (or a --config file with a notifications block, or IDSYNC_NOTIFICATIONS_FILE)');
      }
      if (opts.channel && !notifier.channels.some((c) => c.name === opts.channel)) {
        throw new Error(`no notification channel "${opts.channel}"; the channels are ${notifier.channels.map((c) => c.name).join(', ')}`);
      }
      const outcomes = await notifier.test(opts.channel ? { channel: opts.channel } : {});
      if (opts.json) printJson({ ok: outcomes.every((o) => o.ok), channels: outcomes });
      else for (const o of outcomes) console.log(`${o.ok ? '✓' : '✗'} ${o.channel} (${o.type}): ${o.ok ? 'sent' : o.error}`);
      if (!outcomes.every((o) => o.ok)) process.exitCode = 1;
    });
}
