// A quarantined cleanup is told like a failed run: the identity provider suddenly answers an
// empty directory while five users are linked in Jira, the run holds the cleanup (nobody is
// disabled), and exactly one webhook post and one e-mail arrive at the local servers, naming the
// quarantine, how many users it holds and a link to its page. A normal run tells nobody.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { memoryDataset, person, type MemoryDataset } from '../helpers/memory-source.ts';
import { startJiraDcEmulator, type JiraDcEmulator } from '../../emulators/jira-dc/index.ts';
import { startServer, type RunningServer } from '../../src/server/index.ts';
import { Store } from '../../src/store/index.ts';
import { notificationsSchema } from '../../src/notify/config.ts';
import type { ConnectorConfig } from '../../src/config/schema.ts';
import type { RunFinished } from '../../src/server/progress-bus.ts';
import { startSmtp, startWebhookReceiver, type LocalSmtp, type LocalWebhook } from './servers.ts';

const HOOK_ENV = 'IDSYNC_TEST_QUARANTINE_WEBHOOK';
const HOOK_PATH = '/hooks/quarantine-secret-token-0123456789';
process.env.TEST_JIRA_PAT_NOTIFY = 'admin-pat';

describe('a quarantined cleanup notifies', { timeout: 120_000 }, () => {
  let jira: JiraDcEmulator;
  let dataset: MemoryDataset;
  let store: Store;
  let server: RunningServer;
  let hook: LocalWebhook;
  let smtp: LocalSmtp;
  let admin: string;

  before(async () => {
    [jira, hook, smtp] = await Promise.all([startJiraDcEmulator({ groups: ['staff'] }), startWebhookReceiver(), startSmtp()]);
    process.env[HOOK_ENV] = `${hook.url}${HOOK_PATH}`;
    dataset = memoryDataset('notify-quarantine', ['Ada Dev', 'Bea Boss', 'Carl Coder', 'Dana Ops', 'Eve Admin'].map((n, i) => person(`u-${i + 1}`, n, {}, ['staff'])));
    store = await Store.open({ databaseUrl: ':memory:' });
    const connector: ConnectorConfig = {
      id: 'notify-q',
      source: { type: 'memory', dataset: 'notify-quarantine', requiredGroups: [] },
      targets: [
        {
          id: 'jira',
          type: 'jira-dc',
          url: jira.url,
          auth: { type: 'pat', token: { env: 'TEST_JIRA_PAT_NOTIFY' } },
          mapping: [
            { target: 'user.username', source: '$lower($stripDomain(userPrincipalName))', flow: 'always', whenEmpty: 'keep' },
            { target: 'user.displayName', source: 'displayName', flow: 'always', whenEmpty: 'keep' },
            { target: 'user.email', source: 'mail', flow: 'always', whenEmpty: 'keep' },
          ],
          createUsers: true,
          createMissingGroups: false,
          concurrency: 4,
        },
      ],
    };
    await store.connectors.save(connector);
    const notifications = notificationsSchema.parse({
      publicUrl: 'https://idsync.example.com',
      smtp: { host: '127.0.0.1', port: smtp.port, security: 'none', from: 'idsync@example.com' },
      channels: [
        { name: 'ops-hook', type: 'webhook', format: 'generic', url: { env: HOOK_ENV } },
        { name: 'ops-mail', type: 'email', to: ['it-ops@example.com'] },
      ],
    });
    server = await startServer({ store, port: 0, logger: false, connectorContext: { fastRetries: true }, notifications });
    const a = await server.auth.createUser('admin', 'not-used-for-log-in', 'administrator');
    admin = (await server.auth.createToken(a.id, 'test', 'administrator')).secret;
  });

  after(async () => {
    delete process.env[HOOK_ENV];
    await server?.close();
    await store?.close();
    await Promise.all([jira?.close(), hook?.close(), smtp?.close()]);
  });

  async function syncAndWait(): Promise<RunFinished> {
    const finished = new Promise<RunFinished>((resolve) => {
      const stop = server.bus.subscribe((e) => {
        if (e.type === 'run-finished') {
          stop();
          resolve(e);
        }
      });
    });
    const started = await fetch(`${server.url}/api/v1/connectors/notify-q/sync`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'full' }),
    });
    assert.equal(started.status, 202, await started.text());
    const run = await finished;
    await new Promise((r) => setImmediate(r));
    await server.notifier.drain();
    return run;
  }

  test('a normal run tells nobody; an empty read quarantines and is told once per channel with the quarantine named', async () => {
    const first = await syncAndWait();
    assert.equal(first.status, 'succeeded', JSON.stringify(first));
    assert.equal(hook.posts.length + smtp.mails.length, 0, 'a run that went well sends nothing');

    dataset.users = [];
    const held = await syncAndWait();
    const run = await store.runs.get(held.runId);
    assert.ok(run?.quarantine, `the run holds its cleanup: ${JSON.stringify(run)}`);
    assert.equal(run.quarantine.affected, 5);
    const active = await Promise.all(['ada.dev', 'bea.boss'].map(async (u) => (await (await fetch(`${jira.url}/rest/api/2/user?username=${u}`, { headers: { authorization: 'Bearer admin-pat' } })).json()) as { active: boolean }));
    assert.deepEqual(active.map((u) => u.active), [true, true], 'nobody was disabled');

    assert.equal(hook.posts.length, 1, 'one webhook post');
    const event = hook.posts[0]!.body.event;
    assert.equal(event.kind, 'quarantine');
    assert.equal(event.quarantineId, run.quarantine.id);
    assert.equal(event.runId, held.runId);
    assert.equal(event.affected, 5);
    assert.equal(event.link, `https://idsync.example.com/#/quarantines/${run.quarantine.id}`);
    assert.ok(event.sample.length > 0 && event.sample.length <= 10, `a sample of the held users: ${JSON.stringify(event.sample)}`);
    const mails = smtp.mails.filter((m) => /quarantin|held/i.test(m.subject));
    assert.equal(mails.length, 1, `one e-mail about the quarantine: ${smtp.mails.map((m) => m.subject).join(' | ')}`);
    assert.ok(mails[0]!.text.includes(run.quarantine.id) || mails[0]!.text.includes(`#/quarantines/${run.quarantine.id}`), 'the e-mail leads to the quarantine');
    assert.ok(!JSON.stringify(hook.posts).includes('admin-pat'), 'no secret in a notification');
  });
});
