// Sends a notification as e-mail through the configured SMTP server (nodemailer): plain text and
// HTML, STARTTLS required unless told otherwise, a company CA when given, bounded waits for the
// connection and the greeting. An error says what the server said or why it was not reached,
// never the password.
import { readFileSync } from 'node:fs';
import nodemailer, { type Transporter } from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import { resolveSecret } from '../config/secrets.ts';
import type { EmailChannel, SmtpConfig } from './config.ts';
import { htmlOf, subjectOf, textOf, type Message } from './render.ts';
import { NotifyError } from './webhook.ts';

const DEFAULT_PORT = { tls: 465, starttls: 587, none: 25 } as const;

function transportOf(smtp: SmtpConfig): { transport: Transporter<SMTPTransport.SentMessageInfo>; password?: string } {
  const password = smtp.password ? resolveSecret(smtp.password, 'notifications.smtp.password').reveal() : undefined;
  let ca: string | undefined;
  if (smtp.caFile) {
    try {
      ca = readFileSync(smtp.caFile, 'utf8');
    } catch (e) {
      throw new NotifyError(`notifications.smtp.caFile: cannot read ${smtp.caFile}: ${(e as NodeJS.ErrnoException).code ?? e}`);
    }
  }
  const ms = smtp.timeoutSeconds * 1000;
  const transport = nodemailer.createTransport({
    host: smtp.host,
    port: smtp.port ?? DEFAULT_PORT[smtp.security],
    secure: smtp.security === 'tls',
    // STARTTLS is required, not merely tried: a server (or someone between) that does not offer it fails the send.
    requireTLS: smtp.security === 'starttls',
    ignoreTLS: smtp.security === 'none',
    ...(smtp.user && password !== undefined ? { auth: { user: smtp.user, pass: password } } : {}),
    ...(ca ? { tls: { ca } } : {}),
    connectionTimeout: ms,
    greetingTimeout: ms,
    socketTimeout: Math.max(ms, 30_000),
  });
  return { transport, ...(password !== undefined ? { password } : {}) };
}

/** Sends the message to the channel's recipients; throws a NotifyError when the server refused it or any recipient. */
export async function sendEmail(smtp: SmtpConfig, channel: EmailChannel, message: Message): Promise<void> {
  const where = `email channel "${channel.name}"`;
  const { transport, password } = transportOf(smtp);
  try {
    const info = await transport.sendMail({ from: smtp.from, to: channel.to, subject: subjectOf(message), text: textOf(message), html: htmlOf(message) });
    const rejected = (info.rejected ?? []).map((r: string | { address: string }) => (typeof r === 'string' ? r : r.address));
    if (rejected.length) throw new NotifyError(`${where}: ${smtp.host} refused the recipient${rejected.length > 1 ? 's' : ''} ${rejected.join(', ')}`);
  } catch (e) {
    if (e instanceof NotifyError) throw e;
    const err = e as { code?: string; response?: string; message?: string };
    let said = (err.response ?? err.message ?? String(e)).replace(/\s+/g, ' ').slice(0, 200);
    if (password) said = said.split(password).join('[redacted]');
    const next =
      err.code === 'EAUTH'
        ? '; check notifications.smtp.user and password'
        : err.code === 'ETLS' && smtp.security === 'starttls'
          ? '; the server did not take STARTTLS, and idsync sends nothing unencrypted: use security tls (port 465), or none only for a relay on a trusted network'
          : err.code === 'ETIMEDOUT' || err.code === 'ECONNECTION' || err.code === 'ESOCKET' || err.code === 'ETLS'
            ? '; check notifications.smtp.host, port and security'
            : '';
    throw new NotifyError(`${where}: sending through ${smtp.host} failed${err.code ? ` (${err.code})` : ''}: ${said}${next}`);
  } finally {
    transport.close();
  }
}
