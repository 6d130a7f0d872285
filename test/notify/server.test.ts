// Failed runs told from the server, with the real engine against the emulators: a sync whose
// identity provider refuses idsync's credentials fails, and exactly one webhook post and one
// e-mail arrive at the local servers, with the run's id and error and no secret, whether the API
// or the job runner (the scheduled path) started it; a successful
// run and a simulation tell nobody. The REST API's test action reports per channel, for
// administrators only, and the channel list never shows a webhook URL.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startSuite, type Suite } from '../../emulators/launch.ts';
import { demoConnector, demoSecrets } from '../../src/cli/demo.ts';
import { startServer, type RunningServer } from '../../src/server/index.ts';
import { Store } from '../../src/store/index.ts';
import { notificationsSchema } from '../../src/notify/config.ts';
import type { RunFinished } from '../../src/server/progress-bus.ts';
import { startSmtp, startWebhookReceiver, type LocalSmtp, type LocalWebhook } from './servers.ts';
import { unscheduled } from '../helpers/unscheduled.ts';

const HOOK_ENV = 'IDSYNC_TEST_SERVER_WEBHOOK';
const HOOK_TOKEN = '/hooks/very-secret-token-0123456789';
const WRONG_SECRET = 'not-the-client-secret-at-all';

describe('notifications from the server', { timeout: 120_000 }, () => {
  let suite: Suite;
  let store: Store;
  let server: RunningServer;
  let hook: LocalWebhook;
  let smtp: LocalSmtp;
  let admin: string;
  let viewer: string;
  let connectorId: string;

  before(async () => {
    [suite, hook, smtp] = await Promise.all([startSuite({ users: 6, confluence: false }), startWebhookReceiver(), startSmtp()]);
    process.env[HOOK_ENV] = `${hook.url}${HOOK_TOKEN}`;
    store = await Store.open({ databaseUrl: ':memory:' });
    const connector = unscheduled(demoConnector(suite.info));
    connectorId = connector.id;
    await store.connectors.save(connector, { secrets: { ...demoSecrets(suite.info), 'source.clientSecret': WRONG_SECRET } });
    const notifications = notificationsSchema.parse({
      publicUrl: 'https://idsync.example.com',
      // Every failure told, so "nobody is told" below is the simulation rule, not the quiet time.
      quietMinutes: 0,
      smtp: { host: '127.0.0.1', port: smtp.port, security: 'none', from: 'idsync@example.com' },
      channels: [
        { name: 'ops-hook', type: 'webhook', format: 'generic', url: { env: HOOK_ENV } },
        { name: 'ops-mail', type: 'email', to: ['it-ops@example.com'] },
      ],
    });
    server = await startServer({ store, port: 0, logger: false, connectorContext: { ca: suite.info.graph.ca, fastRetries: true }, notifications });
    const a = await server.auth.createUser('admin', 'not-used-for-log-in', 'administrator');
    admin = (await server.auth.createToken(a.id, 'test', 'administrator')).secret;
    const v = await server.auth.createUser('viewer', 'not-used-for-log-in', 'viewer');
    viewer = (await server.auth.createToken(v.id, 'test', 'viewer')).secret;
  });

  after(async () => {
    delete process.env[HOOK_ENV];
    await server?.close();
    await store?.close();
    await Promise.all([suite?.close(), hook?.close(), smtp?.close()]);
  });

  const call = (method: string, path: string, token: string, body?: unknown) =>
    fetch(`${server.url}${path}`, { method, headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });

  async function syncAndWait(body: Record<string, unknown>): Promise<RunFinished> {
    const finished = new Promise<RunFinished>((resolve) => {
      const stop = server.bus.subscribe((e) => {
        if (e.type === 'run-finished') {
          stop();
          resolve(e);
        }
      });
    });
    const started = await call('POST', `/api/v1/connectors/${connectorId}/sync`, admin, body);
    assert.equal(started.status, 202, await started.text());
    const run = await finished;
    // The bus publishes the end from inside the engine; the notifier hears of it once the run's
    // promise has settled, a few microtasks later.
    await new Promise((r) => setImmediate(r));
    await server.notifier.drain();
    return run;
  }

  test('a failed run is told once on each channel', async () => {
    const run = await syncAndWait({ kind: 'full' });
    assert.equal(run.status, 'failed', JSON.stringify(run));
    assert.equal(hook.posts.length, 1, 'one webhook post');
    assert.equal(smtp.mails.length, 1, 'one e-mail');
    const posted = hook.posts[0]!;
    assert.equal(posted.path, HOOK_TOKEN);
    assert.equal(posted.body.event.kind, 'run-failed');
    assert.equal(posted.body.event.runId, run.runId);
    assert.equal(posted.body.event.connectorId, connectorId);
    assert.equal(posted.body.event.status, 'failed');
    assert.equal(posted.body.event.error, run.error);
    assert.equal(posted.body.event.link, `https://idsync.example.com/#/runs/${run.runId}`);
    const mail = smtp.mails[0]!;
    assert.match(mail.subject, new RegExp(`^\\[idsync\\] Full sync failed: .*${connectorId}`));
    assert.ok(mail.text.includes(run.runId), 'the e-mail names the run');
    for (const text of [JSON.stringify(posted.body), mail.raw]) assert.ok(!text.includes(WRONG_SECRET), 'no secret in a notification');
    // Nothing more comes later.
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(hook.posts.length, 1);
    assert.equal(smtp.mails.length, 1);
  });

  test('a scheduled run, done by the job runner, is told the same way', async () => {
    hook.posts.length = 0;
    smtp.mails.length = 0;
    assert.ok(server.jobs, 'startServer runs the job queue');
    await server.jobs.runner.handle({ connectorId, kind: 'full', trigger: 'schedule', slot: '2026-12-01T10:00:00.000Z' }, { jobId: 'job-notify-1', attempt: 0 });
    await new Promise((r) => setImmediate(r));
    await server.notifier.drain();
    assert.equal(hook.posts.length, 1);
    assert.equal(smtp.mails.length, 1);
    const [last] = await store.runs.list({ connectorId, limit: 1 });
    assert.equal(last!.trigger, 'schedule');
    assert.equal(hook.posts[0]!.body.event.runId, last!.id);
  });

  test('a simulation that fails tells nobody', async () => {
    hook.posts.length = 0;
    smtp.mails.length = 0;
    const run = await syncAndWait({ kind: 'full', dryRun: true });
    assert.equal(run.status, 'failed');
    assert.equal(hook.posts.length + smtp.mails.length, 0);
  });

  test('a successful run tells nobody', async () => {
    hook.posts.length = 0;
    smtp.mails.length = 0;
    await store.connectors.save((await store.connectors.get(connectorId))!.config, { secrets: { 'source.clientSecret': suite.info.graph.clientSecret } });
    const run = await syncAndWait({ kind: 'full' });
    assert.equal(run.status, 'succeeded', JSON.stringify(run));
    assert.equal(hook.posts.length + smtp.mails.length, 0);
  });

  test('the test action: per channel, administrators only, and the URL never shown', async () => {
    hook.posts.length = 0;
    smtp.mails.length = 0;
    const res = await call('POST', '/api/v1/notifications/test', admin, {});
    assert.equal(res.status, 200);
    const body = (await res.json()) as { ok: boolean; channels: Array<{ channel: string; ok: boolean }> };
    assert.deepEqual(body, { ok: true, channels: [{ channel: 'ops-hook', type: 'webhook', ok: true }, { channel: 'ops-mail', type: 'email', ok: true }] });
    assert.equal(hook.posts.length, 1);
    assert.equal(hook.posts[0]!.body.event.kind, 'test');
    assert.equal(smtp.mails.length, 1);
    assert.equal(smtp.mails[0]!.subject, '[idsync] Test notification from idsync');
    assert.match(smtp.mails[0]!.text, /Sent by: admin/);

    const one = await call('POST', '/api/v1/notifications/test', admin, { channel: 'ops-mail' });
    assert.deepEqual(((await one.json()) as { channels: unknown[] }).channels, [{ channel: 'ops-mail', type: 'email', ok: true }]);
    const unknown = await call('POST', '/api/v1/notifications/test', admin, { channel: 'nope' });
    assert.equal(unknown.status, 404);
    assert.match(((await unknown.json()) as { error: string }).error, /no notification channel "nope"; the channels are ops-hook, ops-mail/);
    assert.equal((await call('POST', '/api/v1/notifications/test', viewer, {})).status, 403);
    assert.equal((await call('GET', '/api/v1/notifications', viewer)).status, 403);

    const list = await call('GET', '/api/v1/notifications', admin);
    const text = await list.text();
    assert.equal(list.status, 200);
    assert.ok(!text.includes('very-secret-token'), `the webhook URL is shown: ${text}`);
    const channels = JSON.parse(text).channels;
    assert.equal(channels[0].host, new URL(hook.url).host);
    assert.deepEqual(channels[1].to, ['it-ops@example.com']);
  });

  test('a failing channel is reported by the test action, by host only', async () => {
    const saved = process.env[HOOK_ENV];
    const dead = await startWebhookReceiver((_p, _n, res) => void res.writeHead(410).end('gone'));
    process.env[HOOK_ENV] = `${dead.url}${HOOK_TOKEN}`;
    try {
      const res = await call('POST', '/api/v1/notifications/test', admin, { channel: 'ops-hook' });
      const body = (await res.json()) as { ok: boolean; channels: Array<{ ok: boolean; error: string }> };
      assert.equal(body.ok, false);
      assert.match(body.channels[0]!.error, new RegExp(`${new URL(dead.url).host} answered 410 \\(gone\\)`));
      assert.ok(!body.channels[0]!.error.includes('very-secret-token'), 'the webhook token is not in the error');
    } finally {
      process.env[HOOK_ENV] = saved;
      await dead.close();
    }
  });
});
