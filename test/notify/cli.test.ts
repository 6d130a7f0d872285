// The command line as an administrator runs it (node bin/idsync.mjs in a child process): a
// `idsync sync --config` whose file has a notifications block tells a failed run once (the
// identity provider refuses the client secret), after the run's own output, and exits 1 as a
// failed run does; a successful run tells nobody; `idsync notify test` reports per channel.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startSuite, type Suite } from '../../emulators/launch.ts';
import { demoConnector } from '../../src/cli/demo.ts';
import { runCommand } from '../cli/processes.ts';
import { startSmtp, startWebhookReceiver, type LocalSmtp, type LocalWebhook } from './servers.ts';

const HOOK_PATH = '/hook/cli-secret-token-abcdef';

describe('notifications from the command line', { timeout: 120_000 }, () => {
  let suite: Suite;
  let hook: LocalWebhook;
  let smtp: LocalSmtp;
  let dir: string;
  let configFile: string;
  const env = (over: Record<string, string> = {}) => ({
    IDSYNC_EXTRA_CA: suite.info.graph.ca,
    IDSYNC_DATABASE_URL: undefined,
    IDSYNC_NOTIFICATIONS_FILE: undefined,
    CLI_TEST_GRAPH_SECRET: 'wrong-secret-for-the-cli-test',
    CLI_TEST_JIRA_PAT: suite.info.jira.pat,
    CLI_TEST_HOOK: `${hook.url}${HOOK_PATH}`,
    ...over,
  });
  const idsync = (args: string[], over: Record<string, string> = {}) => runCommand(process.execPath, ['bin/idsync.mjs', '--data-dir', join(dir, 'data'), ...args], env(over));

  before(async () => {
    [suite, hook, smtp] = await Promise.all([startSuite({ users: 4, confluence: false }), startWebhookReceiver(), startSmtp()]);
    dir = mkdtempSync(join(tmpdir(), 'idsync-notify-cli-'));
    const c = demoConnector(suite.info);
    const connector = {
      ...c,
      source: { ...c.source, clientSecret: { env: 'CLI_TEST_GRAPH_SECRET' } },
      targets: c.targets.map((t) => ({ ...t, auth: { type: 'pat', token: { env: 'CLI_TEST_JIRA_PAT' } } })),
    };
    delete (connector as { schedule?: unknown }).schedule;
    configFile = join(dir, 'idsync.yaml');
    writeFileSync(
      configFile,
      stringify({
        version: 1,
        connectors: [connector],
        notifications: {
          smtp: { host: '127.0.0.1', port: smtp.port, security: 'none', from: 'idsync@example.com' },
          channels: [
            { name: 'hook', type: 'webhook', format: 'slack', url: { env: 'CLI_TEST_HOOK' } },
            { name: 'mail', type: 'email', to: ['it-ops@example.com'] },
          ],
        },
      }),
    );
  });

  after(async () => {
    await Promise.all([suite?.close(), hook?.close(), smtp?.close()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('a failed sync is told once on each channel, and exits 1', async () => {
    const o = await idsync(['sync', '--config', configFile, '--json']);
    assert.equal(o.code, 1, o.stderr);
    const run = JSON.parse(o.stdout);
    assert.equal(run.status, 'failed');
    assert.equal(hook.posts.length, 1, `one webhook post (${o.stderr})`);
    assert.equal(smtp.mails.length, 1, 'one e-mail');
    assert.equal(hook.posts[0]!.path, HOOK_PATH);
    assert.match(hook.posts[0]!.body.text, /^Full sync failed: Contoso \(emulated Entra ID\) \(contoso-entra\)$/);
    assert.ok(smtp.mails[0]!.text.includes(run.run), 'the e-mail names the run');
    assert.ok(!JSON.stringify(hook.posts[0]!.body).includes('wrong-secret-for-the-cli-test'), 'no secret in the webhook post');
  });

  test('a sync that succeeds tells nobody', async () => {
    hook.posts.length = 0;
    smtp.mails.length = 0;
    const o = await idsync(['sync', '--config', configFile, '--json'], { CLI_TEST_GRAPH_SECRET: suite.info.graph.clientSecret });
    assert.equal(o.code, 0, o.stderr);
    assert.equal(hook.posts.length + smtp.mails.length, 0);
  });

  test('idsync notify test: one line per channel, exit 1 when one fails, the URL never shown', async () => {
    hook.posts.length = 0;
    smtp.mails.length = 0;
    const ok = await idsync(['notify', 'test', '--config', configFile]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /✓ hook \(webhook\): sent/);
    assert.match(ok.stdout, /✓ mail \(email\): sent/);
    assert.equal(hook.posts.length, 1);
    assert.equal(smtp.mails.length, 1);

    const bad = await idsync(['notify', 'test', '--config', configFile, '--channel', 'hook', '--json'], { CLI_TEST_HOOK: `http://127.0.0.1:1${HOOK_PATH}` });
    assert.equal(bad.code, 1, bad.stdout + bad.stderr);
    const out = JSON.parse(bad.stdout);
    assert.equal(out.ok, false);
    assert.match(out.channels[0].error, /could not reach 127\.0\.0\.1:1: ECONNREFUSED/);
    assert.ok(!(bad.stdout + bad.stderr).includes('cli-secret-token'), 'no secret in the output');

    const none = await idsync(['notify', 'test']);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no notification channels are configured/);
  });
});
