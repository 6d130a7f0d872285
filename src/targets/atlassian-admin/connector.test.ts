import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accountIdFor, startAtlassianAdminEmulator, type AtlassianAdminEmulator } from '../../../emulators/atlassian-admin/index.ts';
import type { TargetConnector } from '../../core/types.ts';
import { definition } from './index.ts';
import { NOT_MANAGED } from './connector.ts';

async function setup(orgId?: string): Promise<{ emu: AtlassianAdminEmulator; target: TargetConnector }> {
  const emu = await startAtlassianAdminEmulator({ pageSize: 2 });
  process.env.IDSYNC_TEST_ATLASSIAN_ORG_KEY = emu.apiKey;
  const config = definition.configSchema.parse({
    id: 'org',
    type: 'atlassian-admin',
    orgId: orgId ?? emu.orgId,
    apiKey: { env: 'IDSYNC_TEST_ATLASSIAN_ORG_KEY' },
    baseUrl: emu.url,
  });
  return { emu, target: definition.create(config, { fastRetries: true }) };
}

const ada = accountIdFor('ada@example.com');
const partner = accountIdFor('partner@partner.example.net');

test('capabilities: account fields and atlassian.profile.*, no creation, no groups', () => {
  const caps = definition.capabilities;
  assert.equal(caps.canCreateUsers, false);
  const names = caps.fields.map((f) => f.name);
  for (const n of ['user.displayName', 'user.email', 'user.active', 'atlassian.profile.job_title', 'atlassian.profile.department', 'atlassian.profile.zoneinfo']) {
    assert.ok(names.includes(n), n);
  }
  assert.ok(caps.unsupported?.some((u) => u.name === 'groups'), "caps.unsupported?.some((u) => u.name === 'groups')");
});

test('test(): ok for the right org; names the reachable orgs when the org id is wrong', async () => {
  const good = await setup();
  try {
    assert.equal((await good.target.test()).ok, true);
  } finally {
    await good.target.close?.();
    await good.emu.close();
  }
  const wrong = await setup('not-my-org');
  try {
    const res = await wrong.target.test();
    assert.equal(res.ok, false);
    assert.match(res.checks[0]!.message, new RegExp(`does not reach organisation not-my-org.*${wrong.emu.orgId}`));
  } finally {
    await wrong.target.close?.();
    await wrong.emu.close();
  }
});

test('findUser: by account id, else by exact email; managed accounts come with profile values', async () => {
  const { emu, target } = await setup();
  try {
    const byKey = await target.findUser({ key: ada });
    assert.equal(byKey?.values['atlassian.profile.job_title'], 'Analyst');
    assert.equal(byKey?.values['user.active'], true);
    const byEmail = await target.findUser({ key: 'gone-account', email: 'Grace@Example.com' });
    assert.equal(byEmail?.ref.key, accountIdFor('grace@example.com'));
    assert.equal(byEmail?.values['user.displayName'], 'Grace Hopper');
    const unmanaged = await target.findUser({ email: 'partner@partner.example.net' });
    assert.deepEqual(unmanaged, { ref: { key: partner }, values: {} });
    assert.equal(await target.findUser({ email: 'nobody@example.com' }), null);
  } finally {
    await target.close?.();
    await emu.close();
  }
});

test('write: profile fields go in one PATCH, active through lifecycle, email through the email API', async () => {
  const { emu, target } = await setup();
  try {
    emu.resetStats();
    const res = await target.write({
      op: 'update',
      ref: { key: ada },
      desired: {},
      changes: [
        { field: 'user.displayName', before: 'Ada Lovelace', after: 'Ada King' },
        { field: 'atlassian.profile.job_title', before: 'Analyst', after: 'Mathematician' },
        { field: 'atlassian.profile.department', before: 'Engineering', after: null },
        { field: 'atlassian.profile.locale', before: 'en-US', after: 'en-GB' },
        { field: 'user.active', before: true, after: false },
        { field: 'user.email', before: 'ada@example.com', after: 'ada.king@example.com' },
      ],
      options: { createMissingGroups: false },
    });
    assert.ok(res.fields.every((f) => f.ok && !f.skipped), JSON.stringify(res.fields));
    assert.equal(emu.stats.writes, 3, 'one PATCH, one lifecycle call, one email change');
    const a = emu.store.accounts.get(ada)!;
    assert.equal(a.name, 'Ada King');
    assert.deepEqual(a.extended_profile, { job_title: 'Mathematician' });
    assert.equal(a.locale, 'en-GB');
    assert.equal(a.account_status, 'inactive');
    assert.match(a.deactivationMessage!, /idsync/);
    assert.equal(a.email, 'ada.king@example.com');
    const read = await target.readUser({ key: ada }, []);
    assert.equal(read?.values['atlassian.profile.department'], null);
  } finally {
    await target.close?.();
    await emu.close();
  }
});

test('write: every field of an unmanaged account is skipped with the reason; an empty name fails that field', async () => {
  const { emu, target } = await setup();
  try {
    const res = await target.write({
      op: 'update',
      ref: { key: partner },
      desired: {},
      changes: [
        { field: 'atlassian.profile.job_title', before: null, after: 'Consultant' },
        { field: 'user.active', before: true, after: false },
      ],
      options: { createMissingGroups: false },
    });
    assert.deepEqual(res.fields, [
      { field: 'atlassian.profile.job_title', ok: true, skipped: NOT_MANAGED },
      { field: 'user.active', ok: true, skipped: NOT_MANAGED },
    ]);
    assert.equal(emu.store.accounts.get(partner)!.account_status, 'active');
    const empty = await target.write({
      op: 'update',
      ref: { key: ada },
      desired: {},
      changes: [{ field: 'user.displayName', before: 'Ada Lovelace', after: '' }],
      options: { createMissingGroups: false },
    });
    assert.equal(empty.fields[0]!.ok, false);
    assert.match(empty.fields[0]!.error!, /cannot be empty/);
  } finally {
    await target.close?.();
    await emu.close();
  }
});

test('a 429 with Retry-After is waited out; a revoked key stops the run with AUTH', async () => {
  const { emu, target } = await setup();
  try {
    emu.setFaults({ script: [{ path: '/manage/lifecycle', status: 429, headers: { 'retry-after': '0' } }] });
    const res = await target.write({
      op: 'update',
      ref: { key: ada },
      desired: {},
      changes: [{ field: 'user.active', before: true, after: false }],
      options: { createMissingGroups: false },
    });
    assert.equal(res.fields[0]!.ok, true);
    assert.equal(emu.stats.rateLimited, 1);
    process.env.IDSYNC_TEST_ATLASSIAN_ORG_KEY = 'revoked';
    const revoked = definition.create(
      definition.configSchema.parse({ id: 'org', type: 'atlassian-admin', orgId: emu.orgId, apiKey: { env: 'IDSYNC_TEST_ATLASSIAN_ORG_KEY' }, baseUrl: emu.url }),
      { fastRetries: true },
    );
    await assert.rejects(
      revoked.write({ op: 'update', ref: { key: ada }, desired: {}, changes: [{ field: 'user.active', before: false, after: true }], options: { createMissingGroups: false } }),
      (e: any) => e.code === 'AUTH' && !String(e.message).includes('revoked'),
    );
    await revoked.close?.();
  } finally {
    await target.close?.();
    await emu.close();
  }
});

test('delete: an unmanaged account is CONFLICT (nothing sent), a deleted one is closed, gone from searches and not found', async () => {
  const { emu, target } = await setup();
  try {
    await emu.resetStats();
    await assert.rejects(target.deleteUser!({ key: partner }), (e: unknown) => e instanceof Error && /not managed by your organisation/.test(e.message));
    assert.equal(emu.stats.writes, 0, 'no delete was sent for an account the organisation does not manage');
    assert.equal(emu.store.accounts.get(partner)!.account_status, 'active');

    await target.deleteUser!({ key: ada });
    assert.equal(emu.store.accounts.get(ada)!.account_status, 'closed', 'deactivated for the grace period');
    assert.equal(await target.findUser({ key: ada, email: 'ada@example.com' }), null);
    assert.equal(await target.findUser({ email: 'ada@example.com' }), null, 'the directory search no longer lists it');
  } finally {
    await target.close?.();
    await emu.close();
  }
});

test('e-mail on a domain the organisation has not verified fails that field (not skipped as unmanaged)', async () => {
  const { emu, target } = await setup();
  try {
    const res = await target.write({ op: 'update', ref: { key: ada }, desired: {}, changes: [{ field: 'user.email', before: 'ada@example.com', after: 'ada@elsewhere.example' }], options: { createMissingGroups: false } });
    assert.equal(res.fields[0]!.ok, false);
    assert.equal(res.fields[0]!.skipped, undefined);
    assert.match(res.fields[0]!.error ?? '', /elsewhere\.example is not verified/);
    assert.equal(emu.store.accounts.get(ada)!.email, 'ada@example.com');
  } finally {
    await target.close?.();
    await emu.close();
  }
});

test("an e-mail another account holds fails that field naming the other account; nothing changes", async () => {
  const { emu, target } = await setup();
  try {
    const grace = accountIdFor('grace@example.com');
    const res = await target.write({ op: 'update', ref: { key: ada }, desired: {}, changes: [{ field: 'user.email', before: 'ada@example.com', after: 'grace@example.com' }], options: { createMissingGroups: false } });
    assert.equal(res.fields[0]!.ok, false);
    assert.match(res.fields[0]!.error ?? '', new RegExp(`Grace Hopper, account id ${grace}`));
    assert.equal(emu.store.accounts.get(ada)!.email, 'ada@example.com');
  } finally {
    await target.close?.();
    await emu.close();
  }
});
