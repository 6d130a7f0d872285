// Notifications: a failed run and a cleanup held in quarantine, told by webhook (Slack, Teams,
// a generic JSON receiver) and by e-mail. See config.ts for the settings and the README's
// "Notifications" section for what an administrator writes.
export type { NotificationEvent, QuarantineEvent, RunFailedEvent, EventType } from './events.ts';
export { EVENT_TYPES, SAMPLE_LIMIT } from './events.ts';
export { notificationsSchema, type NotificationsConfig, type ChannelConfig } from './config.ts';
export { loadNotificationsFile, notificationsFrom, parseNotifications, NOTIFICATIONS_FILE_ENV } from './load.ts';
export { Notifier, type ChannelOutcome } from './notifier.ts';
export { notifyingEngine, runAndNotify, runFailedEvent } from './runs.ts';
export { notifyQuarantine, type QuarantineNotice } from './quarantine.ts';
