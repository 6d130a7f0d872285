import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startCrowdEmulator, type CrowdEmulator } from '../../../emulators/crowd/index.ts';
import type { TargetConnector } from '../../core/types.ts';
import { definition } from './index.ts';
import { isIdsyncError } from '../../core/errors.ts';
import { splitName } from './connector.ts';

async function setup(emulatorOptions: Parameters<typeof startCrowdEmulator>[0] = {}): Promise<{ emu: CrowdEmulator; target: TargetConnector }> {
  const emu = await startCrowdEmulator(emulatorOptions);
  const config = definition.configSchema.parse({
    id: 'crowd',
    type: 'crowd',
    baseUrl: emu.url,
    applicationName: emu.application.name,
    applicationPassword: { stored: 'crowd-app' },
  });
  const target = definition.create(config, { storedSecret: () => emu.application.password, fastRetries: true });
  return { emu, target };
}

const opts = { createMissingGroups: false };

test('splitName: last word is the last name; a single word is both', () => {
  assert.deepEqual(splitName('Ada King Lovelace'), { first: 'Ada King', last: 'Lovelace' });
  assert.deepEqual(splitName('  Plato '), { first: 'Plato', last: 'Plato' });
});

test('create: first/last names are derived from the display name; attributes accept a scalar; groups are added', async () => {
  const { emu, target } = await setup();
  try {
    const res = await target.write({
      op: 'create',
      desired: {
        'user.username': 'new.person',
        'user.displayName': 'Nova Di Persona',
        'user.email': 'nova@example.com',
        groups: ['engineering'],
        'crowd.attribute.costCenter': 'CC-1',
        'crowd.attribute.langs': ['en', 'fr'],
      },
      changes: [],
      options: opts,
    });
    assert.ok(res.fields.every((f) => f.ok), JSON.stringify(res.fields));
    const u = emu.store.users.get(res.ref.key)!;
    assert.equal(res.ref.username, 'new.person');
    assert.deepEqual([u.firstName, u.lastName, u.active], ['Nova Di', 'Persona', true]);
    assert.deepEqual(Object.fromEntries(u.attributes), { costCenter: ['CC-1'], langs: ['en', 'fr'] });
    assert.deepEqual(emu.store.groupsOf(u).map((g) => g.name), ['engineering']);
    assert.notEqual(u.password, '', 'Crowd needs a password; a random one was set');
  } finally {
    await target.close?.();
    await emu.close();
  }
});

test('update: one full PUT keeps the fields that did not change (no accidental deactivation or clearing)', async () => {
  const { emu, target } = await setup();
  try {
    const ada = await target.findUser({ username: 'ada' });
    assert.ok(ada, 'ada');
    emu.resetStats();
    const res = await target.write({
      op: 'update',
      ref: ada.ref,
      desired: {},
      changes: [{ field: 'user.email', before: 'ada@example.com', after: 'ada@new.example.com' }],
      options: opts,
    });
    assert.ok(res.fields[0]!.ok, 'res.fields[0]!.ok');
    assert.equal(emu.stats.writes, 1);
    const u = emu.store.user('ada')!;
    assert.deepEqual([u.email, u.displayName, u.active, u.firstName, u.lastName], ['ada@new.example.com', 'Ada Lovelace', true, 'Ada', 'Lovelace']);
  } finally {
    await target.close?.();
    await emu.close();
  }
});

test('update: mapped first/last names win over derivation; a display name change re-derives unmapped ones', async () => {
  const { emu, target } = await setup();
  try {
    const zoe = (await target.findUser({ username: 'zoe' }))!;
    await target.write({
      op: 'update',
      ref: zoe.ref,
      desired: { 'crowd.lastName': 'Ørsted' },
      changes: [
        { field: 'user.displayName', before: 'Zoë Ørsted-Łukasz', after: 'Zoë Anna Łukasz' },
        { field: 'crowd.lastName', before: 'Ørsted-Łukasz', after: 'Ørsted' },
      ],
      options: opts,
    });
    const u = emu.store.user('zoe')!;
    assert.deepEqual([u.displayName, u.firstName, u.lastName], ['Zoë Anna Łukasz', 'Zoë Anna', 'Ørsted']);
  } finally {
    await target.close?.();
    await emu.close();
  }
});

test('findUser: by key, username, then email; a shared email is a CONFLICT; values include attributes and, on request, groups', async () => {
  const { target, emu } = await setup();
  try {
    const ada = await target.findUser({ email: 'ADA@example.com' }, ['groups', 'crowd.attribute.missing']);
    assert.equal(ada?.ref.username, 'ada');
    assert.deepEqual(ada?.values['crowd.attribute.costCenter'], ['4711']);
    assert.equal(ada?.values['crowd.attribute.missing'], null);
    assert.deepEqual(ada?.values.groups, ['engineering', 'jira-software-users']);
    assert.equal((await target.findUser({ key: ada!.ref.key }))?.ref.username, 'ada');
    await assert.rejects(target.findUser({ email: 'shared@example.com' }), (e: any) => e.code === 'CONFLICT' && /shared1, shared2/.test(e.message));
    assert.equal(emu.stats.requests > 0, true);
  } finally {
    await target.close?.();
    await emu.close();
  }
});

test('attributes: an empty value removes the attribute; a value over 255 characters fails that field only', async () => {
  const { emu, target } = await setup();
  try {
    const ada = (await target.findUser({ username: 'ada' }))!;
    const res = await target.write({
      op: 'update',
      ref: ada.ref,
      desired: {},
      changes: [
        { field: 'crowd.attribute.costCenter', before: ['4711'], after: null },
        { field: 'crowd.attribute.note', before: null, after: ['ok', 'y'.repeat(300)] },
      ],
      options: opts,
    });
    assert.equal(res.fields[0]!.ok, true);
    assert.equal(res.fields[1]!.ok, false);
    assert.match(res.fields[1]!.error!, /300 characters; Crowd allows at most 255/);
    assert.equal(emu.store.user('ada')!.attributes.has('costCenter'), false);
  } finally {
    await target.close?.();
    await emu.close();
  }
});

test('the target asks for JSON and never puts the application password in errors', async () => {
  const { emu, target } = await setup();
  try {
    const seen: string[] = [];
    const config = definition.configSchema.parse({
      id: 'crowd',
      type: 'crowd',
      baseUrl: emu.url,
      applicationName: 'idsync',
      applicationPassword: { stored: 'x' },
    });
    const bad = definition.create(config, { storedSecret: () => 'wrong-app-secret', recorder: (r) => seen.push(r.headers.accept ?? '') });
    const res = await bad.test();
    assert.equal(res.ok, false);
    assert.match(res.checks[0]!.message, /401.*Application failed to authenticate/);
    assert.doesNotMatch(JSON.stringify(res), /wrong-app-secret/);
    assert.ok(seen.every((a) => a.includes('application/json')), "seen.every((a) => a.includes('application/json'))");
    await bad.close?.();
    assert.equal((await target.test()).ok, true);
  } finally {
    await target.close?.();
    await emu.close();
  }
});

test('groups: "already a member" is success whether Crowd says it with 409 or with 400 MEMBERSHIP_ALREADY_EXISTS', async () => {
  const { emu, target } = await setup();
  try {
    const ada = [...emu.store.users.values()].find((u) => u.name === 'ada')!;
    emu.setFaults({
      script: [{ method: 'POST', path: '/user/group/direct', status: 400, body: { reason: 'MEMBERSHIP_ALREADY_EXISTS', message: 'ada is already a direct member of staff' } }],
    });
    const res = await target.write({
      op: 'update',
      ref: { key: ada.key, username: 'ada' },
      desired: {},
      changes: [{ field: 'groups', before: [], after: ['engineering'], add: ['engineering'], remove: [] }],
      options: opts,
    });
    assert.deepEqual(res.fields.map((f) => [f.field, f.ok, f.error]), [['groups', true, undefined]]);
  } finally {
    await target.close?.();
    await emu.close();
  }
});

test('delete: by the current name (renamed behind idsync), memberships go with the user; a refused delete is CONFLICT', async () => {
  const { emu, target } = await setup();
  try {
    const ada = emu.store.user('ada')!;
    emu.store.rename(ada, 'ada.renamed'); // the link still says "ada"
    await target.deleteUser!({ key: ada.key, username: 'ada' });
    assert.equal(emu.store.users.get(ada.key), undefined, 'the renamed user is deleted');
    assert.ok(!emu.store.group('engineering')!.members.has(ada.key), 'and left its groups');
    assert.ok(emu.store.user('grace'), 'nobody else was touched');
    await target.deleteUser!({ key: ada.key, username: 'ada' }); // gone: fine
  } finally {
    await target.close?.();
    await emu.close();
  }
  const denied = await setup({ deniedOperations: ['DELETE_USER'] });
  try {
    const grace = denied.emu.store.user('grace')!;
    await assert.rejects(denied.target.deleteUser!({ key: grace.key }), (e: unknown) => {
      assert.ok(isIdsyncError(e, 'CONFLICT'), `CONFLICT, got ${e}`);
      assert.match(e.message, /grace.*APPLICATION_PERMISSION_DENIED/);
      assert.match(e.hint ?? '', /permissions/);
      return true;
    });
    assert.ok(denied.emu.store.users.get(grace.key), 'grace is still there');
  } finally {
    await denied.target.close?.();
    await denied.emu.close();
  }
});

test('delete: a 403 that is not the directory permission (the application itself refused) throws AUTH', async () => {
  const { emu, target } = await setup();
  try {
    const grace = emu.store.user('grace')!;
    await emu.setFaults({ script: [{ method: 'DELETE', status: 403, body: { reason: 'APPLICATION_ACCESS_DENIED', message: 'Application idsync is not allowed to connect from this address' } }] });
    await assert.rejects(target.deleteUser!({ key: grace.key }), (e: unknown) => isIdsyncError(e, 'AUTH') && /not allowed to connect/.test(e.message));
    assert.ok(emu.store.users.get(grace.key), 'grace is still there');
  } finally {
    await target.close?.();
    await emu.close();
  }
});
