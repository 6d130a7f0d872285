import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startJiraCloudEmulator, type JiraCloudEmulator } from '../../../emulators/jira-cloud/index.ts';
import type { TargetConnector } from '../../core/types.ts';
import { definition } from './index.ts';

async function setup(): Promise<{ emu: JiraCloudEmulator; target: TargetConnector; ada: string; zoe: string }> {
  const emu = await startJiraCloudEmulator();
  process.env.IDSYNC_TEST_JIRA_CLOUD_TOKEN = emu.credentials.apiToken;
  const config = definition.configSchema.parse({
    id: 'jira',
    type: 'jira-cloud',
    baseUrl: emu.url,
    email: emu.credentials.email,
    apiToken: { env: 'IDSYNC_TEST_JIRA_CLOUD_TOKEN' },
  });
  const target = definition.create(config, { fastRetries: true });
  const byEmail = (e: string) => [...emu.store.accounts.values()].find((a) => a.emailAddress === e)!.accountId;
  return { emu, target, ada: byEmail('ada@example.com'), zoe: byEmail('zoe@example.com') };
}

test('capabilities: groups and property.*, no user creation, identity fields refused with the admin-target hint', () => {
  const caps = definition.capabilities;
  assert.equal(caps.canCreateUsers, false);
  assert.deepEqual(caps.fields.map((f) => f.name), ['groups', 'property.']);
  for (const name of ['user.displayName', 'user.email', 'user.active', 'user.username']) {
    const u = caps.unsupported?.find((x) => x.name === name);
    assert.match(u?.reason ?? '', /cannot change identity fields or deactivate; add an atlassian-admin target/);
  }
  assert.equal(definition.configSchema.parse({ id: 'j', type: 'jira-cloud', baseUrl: 'https://a.atlassian.net', email: 'a@b.c', apiToken: { env: 'X' } }).createUsers, false);
});

test('test() signs in and confirms a Cloud site; a wrong token fails with an AUTH message and no secret', async () => {
  const { emu, target } = await setup();
  try {
    const ok = await target.test();
    assert.equal(ok.ok, true, JSON.stringify(ok));
    process.env.IDSYNC_TEST_JIRA_CLOUD_TOKEN = 'wrong-token-value';
    const bad = definition.create(
      definition.configSchema.parse({ id: 'j', type: 'jira-cloud', baseUrl: emu.url, email: emu.credentials.email, apiToken: { env: 'IDSYNC_TEST_JIRA_CLOUD_TOKEN' } }),
      { fastRetries: true },
    );
    const res = await bad.test();
    assert.equal(res.ok, false);
    assert.match(res.checks[0]!.message, /401/);
    assert.doesNotMatch(JSON.stringify(res), /wrong-token-value/);
    await bad.close?.();
  } finally {
    await target.close?.();
    await emu.close();
  }
});

test('findUser: by account id, then by email (also when the email is hidden), null when nothing matches', async () => {
  const { emu, target, ada, zoe } = await setup();
  try {
    const byKey = await target.findUser({ key: ada });
    assert.equal(byKey?.ref.key, ada);
    assert.deepEqual(byKey?.values.groups, ['engineering', 'jira-software-users']);
    const byEmail = await target.findUser({ key: 'no-such-account', email: 'ADA@example.com' });
    assert.equal(byEmail?.ref.key, ada);
    const hidden = await target.findUser({ email: 'zoe@example.com' });
    assert.equal(hidden?.ref.key, zoe);
    assert.equal(hidden?.values['user.email'], undefined);
    assert.equal(await target.findUser({ email: 'nobody@example.com' }), null);
    assert.equal(await target.findUser({ username: 'ada' }), null, 'Cloud has no usernames');
  } finally {
    await target.close?.();
    await emu.close();
  }
});

test('write: sets, reads back and clears a property; adds and removes groups; a missing group fails only that field', async () => {
  const { emu, target, ada } = await setup();
  try {
    const ref = { key: ada };
    const res = await target.write({
      op: 'update',
      ref,
      desired: {},
      changes: [
        { field: 'property.costCenter', before: null, after: { code: '4711' } },
        { field: 'groups', before: ['engineering', 'jira-software-users'], after: ['jira-software-users', 'sales'], add: ['sales'], remove: ['engineering'] },
      ],
      options: { createMissingGroups: false },
    });
    assert.deepEqual(res.fields.map((f) => [f.field, f.ok]), [['property.costCenter', true], ['groups', true]]);
    const read = await target.readUser(ref, ['property.costCenter', 'property.absent']);
    assert.deepEqual(read?.values['property.costCenter'], { code: '4711' });
    assert.equal(read?.values['property.absent'], null);
    assert.deepEqual(read?.values.groups, ['jira-software-users', 'sales']);

    const second = await target.write({
      op: 'update',
      ref,
      desired: {},
      changes: [
        { field: 'property.costCenter', before: { code: '4711' }, after: null },
        { field: 'groups', before: ['sales'], after: ['sales', 'does-not-exist'], add: ['does-not-exist'] },
      ],
      options: { createMissingGroups: false },
    });
    assert.equal(second.fields[0]!.ok, true);
    assert.equal(second.fields[1]!.ok, false);
    assert.match(second.fields[1]!.error!, /does-not-exist.*does not exist/);
    assert.equal(emu.store.getProperty(ada, 'costCenter'), undefined);

    const third = await target.write({
      op: 'update',
      ref,
      desired: {},
      changes: [{ field: 'groups', before: [], after: ['does-not-exist'], add: ['does-not-exist'] }],
      options: { createMissingGroups: true },
    });
    assert.equal(third.fields[0]!.ok, true);
    assert.ok(emu.store.groupByName('does-not-exist')?.members.has(ada), "emu.store.groupByName('does-not-exist')?.members.has(ada)");
  } finally {
    await target.close?.();
    await emu.close();
  }
});

test('write: an oversized property and an identity field fail per field without a request; create is refused', async () => {
  const { emu, target, ada } = await setup();
  try {
    emu.resetStats();
    const res = await target.write({
      op: 'update',
      ref: { key: ada },
      desired: {},
      changes: [
        { field: 'property.big', before: null, after: 'x'.repeat(40_000) },
        { field: 'user.displayName', before: 'Ada Lovelace', after: 'Ada King' },
        // 17,002 characters, but 34,002 bytes: Jira counts bytes.
        { field: 'property.wide', before: null, after: '\u00e9'.repeat(17_000) },
      ],
      options: { createMissingGroups: false },
    });
    assert.equal(res.fields[0]!.ok, false);
    assert.match(res.fields[0]!.error!, /40,002 bytes.*32,768/);
    assert.equal(res.fields.find((f) => f.field === 'property.wide')?.ok, false);
    assert.match(res.fields.find((f) => f.field === 'property.wide')!.error!, /34,002 bytes/);
    assert.match(res.fields[1]!.error!, /atlassian-admin target/);
    assert.equal(emu.stats.writes, 0);
    await assert.rejects(
      target.write({ op: 'create', desired: { 'user.email': 'new@example.com' }, changes: [], options: { createMissingGroups: false } }),
      (e: any) => e.code === 'CONFIG',
    );
  } finally {
    await target.close?.();
    await emu.close();
  }
});

test('a 429 burst is absorbed: the write waits for Retry-After and succeeds', async () => {
  const { emu, target, ada } = await setup();
  try {
    emu.setFaults({ script: [{ path: '/user/properties/', status: 429, headers: { 'retry-after': '0' }, times: 2 }] });
    const res = await target.write({
      op: 'update',
      ref: { key: ada },
      desired: {},
      changes: [{ field: 'property.k', before: null, after: 1 }],
      options: { createMissingGroups: false },
    });
    assert.equal(res.fields[0]!.ok, true);
    assert.equal(emu.stats.rateLimited, 2);
    assert.equal(emu.store.getProperty(ada, 'k'), '1');
  } finally {
    await target.close?.();
    await emu.close();
  }
});
