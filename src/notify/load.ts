// Reads and validates the `notifications` block, with each problem placed (`notifications.channels[1].url`,
// and its line in a YAML file), and finds the file to read: `--notifications FILE`, else
// IDSYNC_NOTIFICATIONS_FILE.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { ConfigError, pathKeys, zodIssues, type ConfigIssue } from '../config/validate.ts';
import { readYaml } from '../config/yaml.ts';
import { IdsyncError } from '../core/errors.ts';
import { notificationsSchema, type NotificationsConfig } from './config.ts';

export const NOTIFICATIONS_FILE_ENV = 'IDSYNC_NOTIFICATIONS_FILE';

/** Validates a `notifications` block; problems are placed under `notifications.` (and at their line, given the file's YAML). */
export function parseNotifications(value: unknown, where: string, positionOf?: (path: Array<string | number>) => { line: number; column: number } | undefined, base?: string): NotificationsConfig {
  const r = notificationsSchema.safeParse(value);
  if (!r.success) {
    const issues: ConfigIssue[] = zodIssues(r.error, 'notifications').map((i) => ({ ...i, ...positionOf?.(pathKeys(i.path)) }));
    throw new ConfigError(where, issues);
  }
  return base ? resolveNotificationPaths(r.data, base) : r.data;
}

/** File paths (secret files, the CA) written relative to the YAML file are taken from its folder. */
export function resolveNotificationPaths(n: NotificationsConfig, base: string): NotificationsConfig {
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  const ref = <R extends { env: string } | { file: string } | { stored: string }>(r: R): R => ('file' in r ? { file: abs(r.file) } : r) as R;
  return {
    ...n,
    ...(n.smtp ? { smtp: { ...n.smtp, ...(n.smtp.password ? { password: ref(n.smtp.password) } : {}), ...(n.smtp.caFile ? { caFile: abs(n.smtp.caFile) } : {}) } } : {}),
    channels: n.channels.map((c) => (c.type === 'webhook' ? { ...c, url: ref(c.url) } : c)),
  };
}

/**
 * Reads the `notifications` block of a YAML file: a file of its own, or the idsync configuration
 * file that also holds the connectors (its other keys are not looked at here).
 */
export function loadNotificationsFile(path: string): NotificationsConfig;
export function loadNotificationsFile(path: string, opts: { optional: true }): NotificationsConfig | undefined;
export function loadNotificationsFile(path: string, opts: { optional?: boolean } = {}): NotificationsConfig | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new IdsyncError('CONFIG', `cannot read the notifications file ${path}: ${(e as NodeJS.ErrnoException).code ?? e}`, {
      hint: `check the path given with --notifications or ${NOTIFICATIONS_FILE_ENV}`,
    });
  }
  const yaml = readYaml(text, path);
  const top = yaml.value as Record<string, unknown> | null;
  if (!top || typeof top !== 'object' || !('notifications' in top)) {
    if (opts.optional) return undefined;
    throw new IdsyncError('CONFIG', `${path} has no notifications block`, { hint: 'put the settings under a top-level "notifications:" key (see the README, Notifications)' });
  }
  return parseNotifications(top.notifications, path, (p) => yaml.positionOf(p), dirname(resolve(path)));
}

/**
 * Which settings a process uses: the file named by --notifications, else the `notifications`
 * block of the --config file (the CLI), else the file IDSYNC_NOTIFICATIONS_FILE names; none of
 * them: no notifications.
 */
export function notificationsFrom(opts: { flag?: string; configFile?: string }, env: NodeJS.ProcessEnv = process.env): NotificationsConfig | undefined {
  if (opts.flag) return loadNotificationsFile(opts.flag);
  const inConfig = opts.configFile ? loadNotificationsFile(opts.configFile, { optional: true }) : undefined;
  if (inConfig) return inConfig;
  const path = env[NOTIFICATIONS_FILE_ENV] || undefined;
  return path ? loadNotificationsFile(path) : undefined;
}
