// The notifications block: what is refused and how it is said (with the place, and the line in
// a file), defaults, file paths taken relative to the file, and the block inside the idsync
// configuration file the CLI reads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { notificationsSchema } from '../../src/notify/config.ts';
import { loadNotificationsFile, notificationsFrom } from '../../src/notify/load.ts';
import { ConfigError } from '../../src/config/validate.ts';

function problems(value: unknown): string[] {
  const r = notificationsSchema.safeParse(value);
  assert.equal(r.success, false, 'expected a refusal');
  return r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

test('defaults: failed runs and quarantines, STARTTLS, 60 quiet minutes, 2 retries', () => {
  const n = notificationsSchema.parse({
    smtp: { host: 'smtp.example.com', from: 'idsync@example.com' },
    channels: [{ name: 'mail', type: 'email', to: ['a@example.com'] }, { name: 'slack', type: 'webhook', format: 'slack', url: { env: 'SLACK_URL' } }],
  });
  assert.equal(n.smtp!.security, 'starttls');
  assert.equal(n.quietMinutes, 60);
  assert.deepEqual(n.channels[0]!.events, ['run-failed', 'quarantine']);
  assert.equal(n.channels[1]!.type === 'webhook' && n.channels[1]!.retries, 2);
});

test('refusals say what and where', () => {
  assert.deepEqual(problems({ channels: [{ name: 'm', type: 'email', to: ['a@example.com'] }] }), ['channels.0.type: an email channel needs the smtp block (host, from, ...) beside channels']);
  assert.match(problems({ channels: [{ name: 's', type: 'webhook', format: 'slack', url: 'https://hooks.slack.com/services/x' }] })[0]!, /channels\.0\.url: a secret must be given as \{env: VAR\}/);
  assert.match(problems({ channels: [{ name: 's', type: 'webhook', format: 'slack', url: { stored: 'x' } }] })[0]!, /\{env: VAR\} or \{file: PATH\}/);
  assert.match(problems({ channels: [{ name: 's', type: 'webhook', url: { env: 'X' } }] })[0]!, /format is slack, teams or generic/);
  assert.match(problems({ channels: [{ name: 'm', type: 'sms' }] })[0]!, /a channel has type webhook or email/);
  assert.deepEqual(problems({ smtp: { host: 'h', from: 'i@example.com', security: 'none', user: 'u', password: { env: 'P' } } }), ['smtp.security: the password would cross the network unencrypted: use starttls or tls with a log-in']);
  assert.match(problems({ smtp: { host: 'h', from: 'i@example.com', user: 'u' } })[0]!, /smtp\.password: a user needs a password/);
  assert.match(problems({ smtp: { host: 'h', from: 'i@example.com' }, channels: [{ name: 'm', type: 'email', to: ['it@example.com\r\nBcc: x@evil.example'] }] })[0]!, /channels\.0\.to\.0: use a plain e-mail address/);
  assert.match(problems({ channels: [{ name: 'a', type: 'email', to: ['a@example.com'], event: ['quarantine'] }], smtp: { host: 'h', from: 'i@example.com' } }).join(), /"event" \(did you mean "events"\?\)/);
  assert.match(problems({ channels: [{ name: 'a', type: 'webhook', format: 'teams', url: { env: 'X' }, events: ['run-succeeded'] }] })[0]!, /channels\.0\.events\.0/);
  assert.match(problems({ publicUrl: 'idsync.example.com' })[0]!, /publicUrl: give the address of the web UI/);
  assert.match(
    problems({ channels: [{ name: 'a', type: 'webhook', format: 'slack', url: { env: 'X' } }, { name: 'a', type: 'webhook', format: 'teams', url: { env: 'Y' } }] })[0]!,
    /channels\.1\.name: channel name "a" is used twice/,
  );
});

test('a file: problems placed by line, secret and CA paths relative to it, the block read from an idsync configuration file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'idsync-notify-config-'));
  try {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'notifications:\n  channels:\n    - name: hook\n      type: webhook\n      format: slak\n      url: {env: X}\n');
    assert.throws(() => loadNotificationsFile(bad), (e: unknown) => {
      assert.ok(e instanceof ConfigError, 'a ConfigError');
      assert.equal(e.issues[0]!.path, 'notifications.channels[0].format');
      assert.equal(e.issues[0]!.line, 5);
      return true;
    });
    const good = join(dir, 'idsync.yaml');
    writeFileSync(good, 'version: 1\nconnectors: []\nnotifications:\n  smtp: {host: smtp.example.com, from: idsync@example.com, user: idsync, password: {file: secrets/smtp}, caFile: ca.pem}\n  channels:\n    - {name: hook, type: webhook, format: teams, url: {file: secrets/teams-url}}\n');
    const n = loadNotificationsFile(good);
    assert.deepEqual(n.smtp!.password, { file: join(dir, 'secrets/smtp') });
    assert.equal(n.smtp!.caFile, join(dir, 'ca.pem'));
    assert.deepEqual(n.channels[0]!.type === 'webhook' && n.channels[0]!.url, { file: join(dir, 'secrets/teams-url') });
    assert.throws(() => loadNotificationsFile(join(dir, 'missing.yaml')), /cannot read the notifications file .*ENOENT/);
    const none = join(dir, 'none.yaml');
    writeFileSync(none, 'version: 1\n');
    assert.throws(() => loadNotificationsFile(none), /has no notifications block/);
    // Order: --notifications, then the --config file's block, then IDSYNC_NOTIFICATIONS_FILE.
    assert.equal(notificationsFrom({ configFile: none }, {}), undefined);
    assert.equal(notificationsFrom({ configFile: none }, { IDSYNC_NOTIFICATIONS_FILE: good })!.channels[0]!.name, 'hook');
    assert.throws(() => notificationsFrom({ flag: bad, configFile: good }, {}), ConfigError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the README's notifications example is a valid block", async () => {
  const { readFileSync } = await import('node:fs');
  const { parse } = await import('yaml');
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('## Notifications'), readme.indexOf('\n## ', readme.indexOf('## Notifications') + 5));
  const yaml = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(yaml, 'the Notifications section has a YAML example');
  const n = notificationsSchema.parse(parse(yaml).notifications);
  assert.deepEqual(n.channels.map((c) => [c.name, c.type === 'webhook' ? c.format : 'email']), [['it-slack', 'slack'], ['it-teams', 'teams'], ['hr-systems-mail', 'email']]);
});

test('the idsync configuration file carries the block, its paths taken from the file', async () => {
  await import('../helpers/memory-source.ts');
  const { loadConfigFile } = await import('../../src/config/load.ts');
  const dir = mkdtempSync(join(tmpdir(), 'idsync-notify-configfile-'));
  try {
    const file = join(dir, 'idsync.yaml');
    const connector = 'connectors:\n  - id: c1\n    source: {type: memory, dataset: d}\n    targets:\n      - {id: jira, type: jira-dc, url: "https://jira.example.com", auth: {type: pat, token: {env: JIRA_PAT}}}\n';
    writeFileSync(file, `version: 1\n${connector}notifications:\n  channels:\n    - {name: hook, type: webhook, format: generic, url: {file: hook-url}}\n`);
    const loaded = await loadConfigFile(file);
    assert.deepEqual(loaded.notifications!.channels[0]!.type === 'webhook' && loaded.notifications!.channels[0]!.url, { file: join(dir, 'hook-url') });
    writeFileSync(file, `version: 1\n${connector}notifications:\n  channels:\n    - {name: hook, type: webhook, format: generic, url: {file: hook-url}, retries: 9}\n`);
    await assert.rejects(loadConfigFile(file), (e: unknown) => {
      assert.ok(e instanceof ConfigError, 'a ConfigError');
      assert.equal(e.issues[0]!.path, 'notifications.channels[0].retries');
      assert.equal(e.issues[0]!.line, 9);
      return true;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
