// The webhook sender against a real local HTTP server: the Slack and Teams bodies those services
// accept, a 5xx and a 429 tried again (Retry-After honoured), a 4xx not, a receiver that never
// answers given up on, and the URL (which carries the webhook's token) never in an error.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { notificationsSchema, type WebhookChannel } from '../../src/notify/config.ts';
import { Notifier } from '../../src/notify/notifier.ts';
import { sendWebhook } from '../../src/notify/webhook.ts';
import type { RunFailedEvent } from '../../src/notify/events.ts';
import { startWebhookReceiver, type LocalWebhook } from './servers.ts';

const TOKEN_PATH = '/services/T0000/B0000/XXXXsecretTOKENxxxx';
const ENV = 'IDSYNC_TEST_WEBHOOK_URL';

const failed: RunFailedEvent = {
  kind: 'run-failed',
  connectorId: 'entra-jira',
  connectorName: 'Entra to Jira',
  runId: 'run-123',
  runKind: 'full',
  status: 'failed',
  error: 'Microsoft Graph answered 401: invalid_client',
  startedAt: '2026-12-01T10:00:00.000Z',
  finishedAt: '2026-12-01T10:00:05.000Z',
};

function channel(over: Partial<WebhookChannel> & Pick<WebhookChannel, 'format'>): WebhookChannel {
  return { name: 'hook', type: 'webhook', url: { env: ENV }, events: ['run-failed', 'quarantine'], timeoutSeconds: 2, retries: 2, ...over };
}

function notifierFor(ch: WebhookChannel, publicUrl?: string): Notifier {
  const config = notificationsSchema.parse({ ...(publicUrl ? { publicUrl } : {}), quietMinutes: 0, channels: [ch] });
  return new Notifier(config, { webhook: { baseDelayMs: 10 }, log: { info: () => undefined, warn: () => undefined } });
}

describe('webhook', () => {
  let hook: LocalWebhook;
  let script: Array<(res: import('node:http').ServerResponse) => void> = [];
  before(async () => {
    hook = await startWebhookReceiver((_p, _n, res) => {
      const next = script.shift();
      if (next) next(res);
      else res.writeHead(200).end('ok');
    });
    process.env[ENV] = `${hook.url}${TOKEN_PATH}?sig=AnotherSecretSig123`;
  });
  after(async () => {
    delete process.env[ENV];
    await hook.close();
  });
  const fresh = () => {
    hook.posts.length = 0;
    script = [];
  };

  test('Slack: text and blocks, the error and a link to the run', async () => {
    fresh();
    const [outcome] = await notifierFor(channel({ format: 'slack' }), 'https://idsync.example.com').send(failed);
    assert.deepEqual(outcome, { channel: 'hook', type: 'webhook', ok: true });
    assert.equal(hook.posts.length, 1);
    const post = hook.posts[0]!;
    assert.equal(post.path, `${TOKEN_PATH}?sig=AnotherSecretSig123`, 'posted to the configured URL');
    assert.match(post.headers['content-type'] ?? '', /application\/json/);
    assert.equal(post.body.text, 'Full sync failed: Entra to Jira (entra-jira)');
    const texts = JSON.stringify(post.body.blocks);
    assert.match(texts, /invalid_client/);
    assert.match(texts, /run-123/);
    assert.equal(post.body.blocks[0].type, 'header');
    const actions = post.body.blocks.find((b: any) => b.type === 'actions');
    assert.equal(actions.elements[0].url, 'https://idsync.example.com/#/runs/run-123');
  });

  test('Slack: markup in a connector name or error is escaped', async () => {
    fresh();
    await notifierFor(channel({ format: 'slack' })).send({ ...failed, connectorName: '<!channel> & co', error: 'see <http://evil|here>' });
    // mrkdwn (the text and the sections) would turn <!channel> into a mention; the header is plain_text.
    const posted = hook.posts[0]!.body;
    const body = JSON.stringify([posted.text, ...posted.blocks.filter((b: any) => b.text?.type === 'mrkdwn')]);
    assert.ok(!body.includes('<!channel>'), 'a mention would ping the whole channel');
    assert.match(body, /&lt;!channel&gt; &amp; co/);
    assert.ok(!body.includes('<http://evil|here>'), 'Slack markup from the data is escaped');
  });

  test('Teams: a message with one Adaptive Card attachment', async () => {
    fresh();
    await notifierFor(channel({ format: 'teams' }), 'https://idsync.example.com').send({
      kind: 'quarantine', connectorId: 'entra-jira', runId: 'run-9', quarantineId: 'q-1', reason: 'the read returned nobody while 120 users are linked', affected: 120,
      sample: Array.from({ length: 12 }, (_, i) => `user${i}@example.com`),
    });
    const body = hook.posts[0]!.body;
    assert.equal(body.type, 'message');
    assert.equal(body.attachments.length, 1);
    const att = body.attachments[0];
    assert.equal(att.contentType, 'application/vnd.microsoft.card.adaptive');
    assert.equal(att.content.type, 'AdaptiveCard');
    assert.equal(att.content.version, '1.4');
    assert.match(att.content.body[0].text, /^Cleanup held for approval: 120 users in entra-jira$/);
    const all = JSON.stringify(att.content.body);
    assert.match(all, /user9@example\.com/);
    assert.ok(!all.includes('user10@example.com'), 'at most 10 users are listed');
    assert.match(all, /and 110 more/);
    assert.equal(att.content.actions[0].type, 'Action.OpenUrl');
  });

  test('generic: the event itself as JSON', async () => {
    fresh();
    await notifierFor(channel({ format: 'generic' })).send(failed);
    const body = hook.posts[0]!.body;
    assert.equal(body.source, 'idsync');
    assert.deepEqual(body.event, failed);
  });

  test('a 5xx is tried again, then accepted', async () => {
    fresh();
    script = [(res) => res.writeHead(503).end('busy'), (res) => res.writeHead(502).end()];
    await sendWebhook(channel({ format: 'slack' }), { text: 'x' }, { baseDelayMs: 10 });
    assert.equal(hook.posts.length, 3);
  });

  test('a 429 waits for Retry-After, then goes on', async () => {
    fresh();
    const waits: number[] = [];
    script = [(res) => res.writeHead(429, { 'retry-after': '1' }).end()];
    await sendWebhook(channel({ format: 'slack' }), { text: 'x' }, { baseDelayMs: 10, sleep: async (ms) => void waits.push(ms) });
    assert.equal(hook.posts.length, 2);
    assert.deepEqual(waits, [1000]);
  });

  test('a Retry-After longer than idsync waits ends the attempts', async () => {
    fresh();
    script = [(res) => res.writeHead(429, { 'retry-after': '3600' }).end()];
    await assert.rejects(sendWebhook(channel({ format: 'slack' }), { text: 'x' }, { baseDelayMs: 10 }), /asked to wait 3600 s/);
    assert.equal(hook.posts.length, 1);
  });

  test('a 4xx is not tried again; the error names the host, never the URL', async () => {
    fresh();
    // A receiver that echoes the path it was called on must not get the token into the error.
    script = [(res) => res.writeHead(404).end(`no_service for ${TOKEN_PATH}`)];
    const [outcome] = await notifierFor(channel({ format: 'slack' })).send(failed);
    assert.equal(hook.posts.length, 1, 'not retried');
    assert.equal(outcome!.ok, false);
    const host = new URL(hook.url).host;
    assert.match(outcome!.error!, new RegExp(`${host} answered 404`));
    assert.match(outcome!.error!, /no_service/);
    for (const secret of ['XXXXsecretTOKENxxxx', 'AnotherSecretSig123', 'T0000/B0000']) assert.ok(!outcome!.error!.includes(secret), `error shows ${secret}: ${outcome!.error}`);
  });

  test('5xx every time: bounded attempts, then an error without the URL', async () => {
    fresh();
    script = [(r) => r.writeHead(500).end(), (r) => r.writeHead(500).end(), (r) => r.writeHead(500).end(), (r) => r.writeHead(500).end()];
    await assert.rejects(sendWebhook(channel({ format: 'slack', retries: 2 }), { text: 'x' }, { baseDelayMs: 10 }), (e: Error) => {
      assert.match(e.message, /answered 500 \(3 attempts\)/);
      assert.ok(!e.message.includes('secretTOKEN'), 'the URL token is not in the error');
      return true;
    });
    assert.equal(hook.posts.length, 3);
  });

  test('a receiver that never answers is given up on after the timeout', async () => {
    fresh();
    script = [() => undefined]; // never answers
    const started = Date.now();
    await assert.rejects(sendWebhook(channel({ format: 'slack', timeoutSeconds: 1, retries: 0 }), { text: 'x' }), (e: Error) => {
      assert.match(e.message, /no answer within 1 s/);
      assert.ok(!e.message.includes('secretTOKEN'), 'the URL token is not in the error');
      return true;
    });
    assert.ok(Date.now() - started < 10_000, 'the timeout gives up long before 10 s');
  });

  test('nothing listening: the error says so, by host', async () => {
    const closed = await startWebhookReceiver();
    const url = `${closed.url}${TOKEN_PATH}`;
    await closed.close();
    process.env.IDSYNC_TEST_WEBHOOK_CLOSED = url;
    try {
      await assert.rejects(sendWebhook(channel({ format: 'slack', retries: 1, url: { env: 'IDSYNC_TEST_WEBHOOK_CLOSED' } }), { text: 'x' }, { baseDelayMs: 10 }), (e: Error) => {
        assert.match(e.message, /could not reach 127\.0\.0\.1:\d+: ECONNREFUSED/);
        assert.ok(!e.message.includes('secretTOKEN'), 'the URL token is not in the error');
        return true;
      });
    } finally {
      delete process.env.IDSYNC_TEST_WEBHOOK_CLOSED;
    }
  });

  test('a URL that is not one is refused without showing it', async () => {
    process.env.IDSYNC_TEST_WEBHOOK_BAD = 'secretTOKEN-but-no-scheme';
    try {
      await assert.rejects(sendWebhook(channel({ format: 'slack', url: { env: 'IDSYNC_TEST_WEBHOOK_BAD' } }), {}), (e: Error) => {
        assert.match(e.message, /environment variable IDSYNC_TEST_WEBHOOK_BAD is not a URL/);
        assert.ok(!e.message.includes('secretTOKEN'), 'the URL token is not in the error');
        return true;
      });
    } finally {
      delete process.env.IDSYNC_TEST_WEBHOOK_BAD;
    }
  });
});
