// E-mail through a real local SMTP server (smtp-server on a loopback port): without log-in, with
// STARTTLS and a log-in against a private CA, a wrong password, a server that offers no STARTTLS
// when it is required, one that never greets. The message says what happened and where, and no
// secret is in it or in an error.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { notificationsSchema } from '../../src/notify/config.ts';
import { Notifier } from '../../src/notify/notifier.ts';
import type { QuarantineEvent, RunFailedEvent } from '../../src/notify/events.ts';
import { startSmtp, type LocalSmtp } from './servers.ts';

const PASSWORD = 'Smtp-Pa55word-never-shown';
const silent = { info: () => undefined, warn: () => undefined };

const failed: RunFailedEvent = {
  kind: 'run-failed', connectorId: 'entra-jira', connectorName: 'Entra to Jira', runId: 'run-42', runKind: 'incremental', status: 'failed',
  error: 'Jira answered 503 five times in a row', startedAt: '2026-12-01T10:00:00.000Z', finishedAt: '2026-12-01T10:01:00.000Z',
};

function notifier(smtp: Record<string, unknown>, to = ['it-ops@example.com', 'oncall@example.com']): Notifier {
  const config = notificationsSchema.parse({ publicUrl: 'https://idsync.example.com/', quietMinutes: 0, smtp: { from: 'idsync <idsync@example.com>', ...smtp }, channels: [{ name: 'mail', type: 'email', to }] });
  return new Notifier(config, { log: silent });
}

describe('e-mail', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'idsync-mail-'));
    process.env.IDSYNC_TEST_SMTP_PASSWORD = PASSWORD;
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
    delete process.env.IDSYNC_TEST_SMTP_PASSWORD;
  });

  test('a relay without log-in: a failed run arrives with its subject, text and HTML', async () => {
    const smtp = await startSmtp();
    try {
      const [outcome] = await notifier({ host: '127.0.0.1', port: smtp.port, security: 'none' }).send(failed);
      assert.deepEqual(outcome, { channel: 'mail', type: 'email', ok: true });
      assert.equal(smtp.mails.length, 1);
      const m = smtp.mails[0]!;
      assert.deepEqual(m.to, ['it-ops@example.com', 'oncall@example.com']);
      assert.equal(m.from, 'idsync@example.com');
      assert.equal(m.subject, '[idsync] Incremental sync failed: Entra to Jira (entra-jira)');
      assert.match(m.text, /Jira answered 503 five times in a row/);
      assert.match(m.text, /Run: run-42/);
      assert.match(m.text, /Open in idsync: https:\/\/idsync\.example\.com\/#\/runs\/run-42/);
      assert.match(m.html, /<h2>Incremental sync failed: Entra to Jira \(entra-jira\)<\/h2>/);
    } finally {
      await smtp.close();
    }
  });

  test('STARTTLS with a log-in, trusting a private CA: the message arrives encrypted, without the password', async () => {
    const smtp = await startSmtp({ starttls: true, auth: { user: 'idsync', password: PASSWORD } });
    const caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, smtp.ca!);
    try {
      const q: QuarantineEvent = { kind: 'quarantine', connectorId: 'okta-crowd', runId: 'run-7', quarantineId: 'q-3', reason: 'the cleanup would disable 80% of the linked users.', affected: 2, sample: ['ann@example.com', '<b>bob</b>@example.com'] };
      const [outcome] = await notifier({ host: 'localhost', port: smtp.port, security: 'starttls', user: 'idsync', password: { env: 'IDSYNC_TEST_SMTP_PASSWORD' }, caFile }).send(q);
      assert.equal(outcome!.ok, true, outcome!.error);
      const m = smtp.mails[0]!;
      assert.equal(m.secure, true, 'sent after STARTTLS');
      assert.equal(m.user, 'idsync');
      assert.equal(m.subject, '[idsync] Cleanup held for approval: 2 users in okta-crowd');
      assert.match(m.text, /Nothing was disabled or deleted\. The cleanup would disable 80% of the linked users\. An administrator/);
      assert.match(m.text, /- ann@example\.com/);
      assert.match(m.html, /&lt;b&gt;bob&lt;\/b&gt;@example\.com/, 'labels are escaped in HTML');
      assert.ok(!m.raw.includes(PASSWORD), 'the password is not in the mail');
    } finally {
      await smtp.close();
    }
  });

  test('TLS from the start (port 465 style) with a log-in', async () => {
    const smtp = await startSmtp({ implicitTls: true, auth: { user: 'idsync', password: PASSWORD } });
    const caFile = join(dir, 'ca-implicit.pem');
    writeFileSync(caFile, smtp.ca!);
    try {
      const [outcome] = await notifier({ host: 'localhost', port: smtp.port, security: 'tls', user: 'idsync', password: { env: 'IDSYNC_TEST_SMTP_PASSWORD' }, caFile }).send(failed);
      assert.equal(outcome!.ok, true, outcome!.error);
      assert.equal(smtp.mails[0]!.secure, true);
      assert.equal(smtp.mails[0]!.user, 'idsync');
    } finally {
      await smtp.close();
    }
  });

  test('a certificate the client does not trust: refused, nothing sent', async () => {
    const smtp = await startSmtp({ starttls: true, auth: { user: 'idsync', password: PASSWORD } });
    try {
      const [outcome] = await notifier({ host: 'localhost', port: smtp.port, user: 'idsync', password: { env: 'IDSYNC_TEST_SMTP_PASSWORD' } }).send(failed);
      assert.equal(outcome!.ok, false);
      assert.match(outcome!.error!, /certificate/i);
      assert.ok(!outcome!.error!.includes(PASSWORD), 'the password is not in the error');
      assert.equal(smtp.mails.length, 0);
    } finally {
      await smtp.close();
    }
  });

  test('a wrong password: the error says to check the log-in and does not show the password', async () => {
    const smtp = await startSmtp({ starttls: true, auth: { user: 'idsync', password: 'the-right-one' } });
    const caFile = join(dir, 'ca2.pem');
    writeFileSync(caFile, smtp.ca!);
    try {
      const [outcome] = await notifier({ host: 'localhost', port: smtp.port, user: 'idsync', password: { env: 'IDSYNC_TEST_SMTP_PASSWORD' }, caFile }).send(failed);
      assert.equal(outcome!.ok, false);
      assert.match(outcome!.error!, /email channel "mail": sending through localhost failed \(EAUTH\)/);
      assert.match(outcome!.error!, /check notifications\.smtp\.user and password/);
      assert.ok(!outcome!.error!.includes(PASSWORD), 'the password is not in the error');
      assert.equal(smtp.mails.length, 0);
      assert.equal(smtp.refusedLogins, 1);
    } finally {
      await smtp.close();
    }
  });

  test('STARTTLS required but not offered: nothing is sent in the clear', async () => {
    const smtp = await startSmtp(); // offers neither STARTTLS nor AUTH
    try {
      const [outcome] = await notifier({ host: '127.0.0.1', port: smtp.port, security: 'starttls' }).send(failed);
      assert.equal(outcome!.ok, false);
      assert.match(outcome!.error!, /STARTTLS/i);
      assert.equal(smtp.mails.length, 0);
    } finally {
      await smtp.close();
    }
  });

  test('a server that never greets is given up on after the timeout', async () => {
    const silentServer: Server = createServer(() => undefined);
    await new Promise<void>((r) => silentServer.listen(0, '127.0.0.1', () => r()));
    const port = (silentServer.address() as { port: number }).port;
    try {
      const [outcome] = await notifier({ host: '127.0.0.1', port, security: 'none', timeoutSeconds: 1 }).send(failed);
      assert.equal(outcome!.ok, false);
      assert.match(outcome!.error!, /ETIMEDOUT|greeting/i);
      assert.match(outcome!.error!, /check notifications\.smtp\.host, port and security/);
    } finally {
      silentServer.close();
      // closeAllConnections is http-only; a net server keeps sockets until the client drops them (it did, on timeout).
    }
  });

  test('one failing channel does not stop another', async () => {
    const smtp = await startSmtp();
    try {
      const config = notificationsSchema.parse({
        quietMinutes: 0,
        smtp: { host: '127.0.0.1', port: smtp.port, security: 'none', from: 'idsync@example.com' },
        channels: [
          { name: 'broken-hook', type: 'webhook', format: 'slack', url: { env: 'IDSYNC_TEST_UNSET_WEBHOOK' } },
          { name: 'mail', type: 'email', to: ['it-ops@example.com'] },
        ],
      });
      const outcomes = await new Notifier(config, { log: silent }).send(failed);
      assert.deepEqual(outcomes.map((o) => [o.channel, o.ok]), [['broken-hook', false], ['mail', true]]);
      assert.match(outcomes[0]!.error!, /IDSYNC_TEST_UNSET_WEBHOOK is not set/);
      assert.equal(smtp.mails.length, 1);
    } finally {
      await smtp.close();
    }
  });
});
