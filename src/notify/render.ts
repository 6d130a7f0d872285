// Turns an event into what each channel sends: one neutral message (a title that says what
// happened and where, facts, the error or reason, the sample of users, a link), then its forms:
// e-mail subject, plain text and HTML; a Slack incoming-webhook body; a Teams body; a generic one.
import type { RunKind } from '../core/types.ts';
import type { NotificationEvent } from './events.ts';
import { SAMPLE_LIMIT } from './events.ts';

export interface Message {
  /** What happened and where, e.g. `Full sync failed: Entra to Jira (entra-jira)`. */
  title: string;
  facts: Array<[label: string, value: string]>;
  /** The run's error or the quarantine's reason. */
  detail: string;
  /** Users concerned (a quarantine's sample), at most SAMPLE_LIMIT. */
  sample: string[];
  /** How many more users there are than the sample shows. */
  more: number;
  link?: string;
}

const KIND_LABEL: Record<RunKind, string> = { full: 'Full sync', incremental: 'Incremental sync', user: 'User sync', cleanup: 'Approved cleanup', push: 'SCIM push' };

function connectorLabel(e: NotificationEvent): string {
  return e.connectorName && e.connectorName !== e.connectorId ? `${e.connectorName} (${e.connectorId})` : e.connectorId;
}

/** A reason as a sentence of its own: capital first letter, one full stop. */
const sentence = (s: string) => {
  const t = s.trim().replace(/\.+$/, '');
  return `${t.charAt(0).toUpperCase()}${t.slice(1)}.`;
};

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

export function describe(e: NotificationEvent): Message {
  const where = connectorLabel(e);
  if (e.kind === 'quarantine') {
    const sample = e.sample.slice(0, SAMPLE_LIMIT);
    return {
      title: `Cleanup held for approval: ${plural(e.affected, 'user')} in ${where}`,
      facts: [
        ['Connector', where],
        ['Users affected', String(e.affected)],
        ['Run', e.runId],
        ['Quarantine', e.quarantineId],
      ],
      detail: `Nothing was disabled or deleted. ${sentence(e.reason)} An administrator approves or rejects the cleanup in idsync.`,
      sample,
      more: Math.max(0, e.affected - sample.length),
      ...(e.link ? { link: e.link } : {}),
    };
  }
  const what = KIND_LABEL[e.runKind] ?? 'Sync';
  const title = e.status === 'partial' ? `${what} finished with ${e.failedUsers !== undefined ? plural(e.failedUsers, 'failed user') : 'failed users'}: ${where}` : `${what} failed: ${where}`;
  return {
    title,
    facts: [
      ['Connector', where],
      ['Run', e.runId],
      ['Started', e.startedAt],
      ['Finished', e.finishedAt],
    ],
    detail: e.error,
    sample: [],
    more: 0,
    ...(e.link ? { link: e.link } : {}),
  };
}

export function subjectOf(m: Message): string {
  // A header must stay on one line whatever the connector's name holds.
  return `[idsync] ${m.title}`.replace(/[\r\n]+/g, ' ');
}

export function textOf(m: Message): string {
  const lines = [m.title, '', ...m.facts.map(([k, v]) => `${k}: ${v}`), '', m.detail];
  if (m.sample.length) lines.push('', 'Users:', ...m.sample.map((s) => `  - ${s}`), ...(m.more ? [`  ... and ${m.more} more`] : []));
  if (m.link) lines.push('', `Open in idsync: ${m.link}`);
  return `${lines.join('\n')}\n`;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export function htmlOf(m: Message): string {
  const facts = m.facts.map(([k, v]) => `<tr><th align="left" style="padding-right:12px">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('');
  const sample = m.sample.length ? `<p>Users:</p><ul>${m.sample.map((s) => `<li>${escapeHtml(s)}</li>`).join('')}${m.more ? `<li>... and ${m.more} more</li>` : ''}</ul>` : '';
  const link = m.link ? `<p><a href="${escapeHtml(m.link)}">Open in idsync</a></p>` : '';
  return `<!doctype html><html><body style="font-family:sans-serif"><h2>${escapeHtml(m.title)}</h2><table>${facts}</table><p>${escapeHtml(m.detail)}</p>${sample}${link}</body></html>`;
}

/** Slack's mrkdwn treats &, < and > as markup (links, mentions): they are escaped as Slack documents. */
const slackEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * A Slack incoming webhook body: `text` (the notification's and fallback text) and blocks. Slack
 * caps a section's text at 3,000 characters, so long errors are cut.
 */
export function slackPayload(m: Message): Record<string, unknown> {
  const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
  const facts = m.facts.map(([k, v]) => `*${slackEscape(k)}:* ${slackEscape(v)}`).join('\n');
  const sample = m.sample.length ? `\n*Users:* ${m.sample.map(slackEscape).join(', ')}${m.more ? ` and ${m.more} more` : ''}` : '';
  const blocks: unknown[] = [
    { type: 'header', text: { type: 'plain_text', text: cut(m.title, 150) } },
    { type: 'section', text: { type: 'mrkdwn', text: cut(facts, 3000) } },
    { type: 'section', text: { type: 'mrkdwn', text: cut(slackEscape(m.detail) + sample, 3000) } },
  ];
  if (m.link) blocks.push({ type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'Open in idsync' }, url: m.link }] });
  return { text: slackEscape(m.title), blocks };
}

/**
 * A Teams body: a message with one Adaptive Card attachment. This is what the Workflows trigger
 * "When a Teams webhook request is received" (template "Send webhook alerts to a channel") posts,
 * and what a legacy Incoming Webhook connector accepts too (Microsoft: "Send Adaptive Cards using
 * an Incoming Webhook"); a card of version 1.4 renders in both.
 */
export function teamsPayload(m: Message): Record<string, unknown> {
  const body: unknown[] = [
    { type: 'TextBlock', text: m.title, weight: 'Bolder', size: 'Medium', wrap: true },
    { type: 'FactSet', facts: m.facts.map(([title, value]) => ({ title, value })) },
    { type: 'TextBlock', text: m.detail, wrap: true },
  ];
  if (m.sample.length) body.push({ type: 'TextBlock', text: `Users: ${m.sample.join(', ')}${m.more ? ` and ${m.more} more` : ''}`, wrap: true });
  const card = {
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    type: 'AdaptiveCard',
    version: '1.4',
    body,
    ...(m.link ? { actions: [{ type: 'Action.OpenUrl', title: 'Open in idsync', url: m.link }] } : {}),
  };
  return { type: 'message', attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', contentUrl: null, content: card }] };
}

/** For a receiver of one's own: the event as idsync knows it, plus the rendered title and text. */
export function genericPayload(e: NotificationEvent, m: Message): Record<string, unknown> {
  return { source: 'idsync', title: m.title, text: textOf(m), event: e };
}
