// Fans an event out to the channels that want it (by event type and connector), each on its
// own: one channel failing never stops another, and nothing here ever throws into the caller.
// `notify` does not wait (a run's end must not wait for Slack); `drain` waits for what is in
// flight (the CLI before it exits, tests). A failure to deliver is logged, without the URL.
import { errorText } from '../core/errors.ts';
import { resolveSecret } from '../config/secrets.ts';
import type { ChannelConfig, NotificationsConfig } from './config.ts';
import { eventTypeOf, type NotificationEvent } from './events.ts';
import { describe, genericPayload, slackPayload, teamsPayload, type Message } from './render.ts';
import { sendEmail } from './email.ts';
import { sendWebhook, type WebhookOptions } from './webhook.ts';

export interface ChannelOutcome {
  channel: string;
  type: ChannelConfig['type'];
  ok: boolean;
  error?: string;
  /** Not sent because the same failure was told less than `quietMinutes` ago. */
  suppressed?: boolean;
}

interface Logger {
  info(obj: unknown, msg?: string): void;
  warn(obj: unknown, msg?: string): void;
}

/** A channel as the API shows it: what it hears and where it goes, a webhook by its host only. */
export interface ChannelSummary {
  name: string;
  type: ChannelConfig['type'];
  events: string[];
  connectors?: string[];
  format?: string;
  host?: string;
  to?: string[];
  /** Why it cannot send as configured (its URL's reference is not set, say). */
  problem?: string;
}

export interface NotifierOptions {
  log?: Logger;
  webhook?: WebhookOptions;
  now?: () => number;
}

const quietLog: Logger = { info: () => undefined, warn: (obj, msg) => console.error(msg ?? '', obj) };

export class Notifier {
  private readonly pending = new Set<Promise<unknown>>();
  /** When each failure was last told, per channel (see `quietMinutes`). */
  private readonly lastTold = new Map<string, number>();
  private readonly log: Logger;
  private readonly now: () => number;

  constructor(
    readonly config: NotificationsConfig | undefined,
    private readonly opts: NotifierOptions = {},
  ) {
    this.log = opts.log ?? quietLog;
    this.now = opts.now ?? Date.now;
  }

  get channels(): ChannelConfig[] {
    return this.config?.channels ?? [];
  }

  /** Every channel, without its secrets. */
  summary(): ChannelSummary[] {
    return this.channels.map((c) => {
      const base = { name: c.name, type: c.type, events: [...c.events], ...(c.connectors ? { connectors: [...c.connectors] } : {}) };
      if (c.type === 'email') return { ...base, to: [...c.to] };
      try {
        return { ...base, format: c.format, host: new URL(resolveSecret(c.url, `webhook channel "${c.name}": url`).reveal()).host };
      } catch (e) {
        return { ...base, format: c.format, problem: e instanceof TypeError ? 'the URL is not a URL' : errorText(e) };
      }
    });
  }

  /** A page of the web UI (its hash route, e.g. `#/runs/ID`), when the UI's public address is configured. */
  linkTo(route: string): string | undefined {
    const base = this.config?.publicUrl;
    return base ? `${base.replace(/\/+$/, '')}/${route.replace(/^\/+/, '')}` : undefined;
  }

  /** The UI page of a run. */
  linkToRun(runId: string): string | undefined {
    return this.linkTo(`#/runs/${encodeURIComponent(runId)}`);
  }

  /** The channels that want this event. */
  channelsFor(e: NotificationEvent): ChannelConfig[] {
    const type = eventTypeOf(e);
    return this.channels.filter((c) => c.events.includes(type) && (!c.connectors || c.connectors.includes(e.connectorId)));
  }

  /** Sends in the background; never throws, never waits. */
  notify(e: NotificationEvent): void {
    if (this.channelsFor(e).length === 0) return;
    const p = this.send(e).finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  /** Waits for every notification in flight (each is bounded by its channel's timeouts and retries). */
  async drain(): Promise<void> {
    while (this.pending.size) await Promise.allSettled([...this.pending]);
  }

  /** Sends to every channel that wants the event and says how each went; never throws. */
  async send(e: NotificationEvent): Promise<ChannelOutcome[]> {
    const withLink: NotificationEvent = e.link || !this.linkToRun(e.runId) ? e : { ...e, link: this.linkToRun(e.runId)! };
    const message = describe(withLink);
    const quietMs = (this.config?.quietMinutes ?? 0) * 60_000;
    return Promise.all(
      this.channelsFor(e).map(async (c): Promise<ChannelOutcome> => {
        // Quarantines are each a decision to take: always told. Run failures repeat.
        const key = e.kind === 'run-failed' ? `${c.name}\u0000${e.connectorId}\u0000${e.status}\u0000${e.error}` : undefined;
        const last = key ? this.lastTold.get(key) : undefined;
        if (key && last !== undefined && this.now() - last < quietMs) return { channel: c.name, type: c.type, ok: true, suppressed: true };
        const outcome = await this.deliver(c, message, genericPayload(withLink, message));
        if (outcome.ok && key) this.remember(key, quietMs);
        if (outcome.ok) this.log.info({ channel: c.name, connector: e.connectorId, run: e.runId, event: eventTypeOf(e) }, 'notification sent');
        else this.log.warn({ channel: c.name, connector: e.connectorId, run: e.runId, err: outcome.error }, 'a notification could not be sent');
        return outcome;
      }),
    );
  }

  /** A test message to every channel (or the one named), whatever events it subscribes to. */
  async test(opts: { channel?: string; sentBy?: string } = {}): Promise<ChannelOutcome[]> {
    const channels = opts.channel ? this.channels.filter((c) => c.name === opts.channel) : this.channels;
    const link = this.config?.publicUrl;
    const message: Message = {
      title: 'Test notification from idsync',
      facts: [['Sent', new Date(this.now()).toISOString()], ...(opts.sentBy ? ([['Sent by', opts.sentBy]] as Array<[string, string]>) : [])],
      detail: 'Nothing failed. idsync sends failed runs and cleanups held for approval to this channel.',
      sample: [],
      more: 0,
      ...(link ? { link } : {}),
    };
    return Promise.all(channels.map((c) => this.deliver(c, { ...message, facts: [['Channel', c.name], ...message.facts] }, { source: 'idsync', title: message.title, text: message.detail, event: { kind: 'test' } })));
  }

  /** Notes when a failure was told; entries past their quiet time are dropped, so the map stays small on a server up for months. */
  private remember(key: string, quietMs: number): void {
    const now = this.now();
    if (this.lastTold.size >= 1000) for (const [k, at] of this.lastTold) if (now - at >= quietMs) this.lastTold.delete(k);
    this.lastTold.set(key, now);
  }

  private async deliver(c: ChannelConfig, message: Message, generic: unknown): Promise<ChannelOutcome> {
    try {
      if (c.type === 'webhook') {
        const body = c.format === 'slack' ? slackPayload(message) : c.format === 'teams' ? teamsPayload(message) : generic;
        await sendWebhook(c, body, this.opts.webhook);
      } else {
        if (!this.config?.smtp) throw new Error(`email channel "${c.name}": no smtp block is configured`);
        await sendEmail(this.config.smtp, c, message);
      }
      return { channel: c.name, type: c.type, ok: true };
    } catch (e) {
      return { channel: c.name, type: c.type, ok: false, error: errorText(e) };
    }
  }
}
