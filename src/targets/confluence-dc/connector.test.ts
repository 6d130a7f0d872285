import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startConfluenceDcEmulator, type ConfluenceDcEmulator } from '../../../emulators/confluence-dc/index.ts';
import { isIdsyncError } from '../../core/errors.ts';
import type { TargetConnector, UserWrite } from '../../core/types.ts';
import { definition } from './index.ts';
import { inputs } from './profile-form.ts';
import { usernameProblem } from './username.ts';

function connector(emu: ConfluenceDcEmulator, over: Record<string, unknown> = {}, secrets: Record<string, string> = {}): TargetConnector {
  const config = definition.configSchema.parse({
    id: 'wiki',
    type: 'confluence-dc',
    url: emu.url,
    auth: { type: 'basic', username: 'admin', password: { stored: 'pw' } },
    ...over,
  });
  const all: Record<string, string> = { pw: emu.admin.password, pat: emu.admin.token, ...secrets };
  return definition.create(config, { storedSecret: (n) => all[n], fastRetries: true });
}

const create = (desired: UserWrite['desired']): UserWrite => ({ op: 'create', desired, changes: [], options: { createMissingGroups: true } });

test('create writes account, groups and profile fields; readUser reads them back', async () => {
  const emu = await startConfluenceDcEmulator();
  const c = connector(emu);
  try {
    const res = await c.write(
      create({
        'user.username': 'jane.doe',
        'user.displayName': 'Jane Doe',
        'user.email': 'jane@example.com',
        'user.active': true,
        groups: ['engineering'],
        'confluence.profile.phone': '+41 44 000 00 00',
        'confluence.profile.department': 'R&D <Core>',
        'confluence.profile.position': 'Engineer',
      }),
    );
    assert.deepEqual(res.fields.filter((f) => !f.ok), []);
    const stored = emu.store.getByKey(res.ref.key)!;
    assert.deepEqual(stored.profile, { phone: '+41 44 000 00 00', department: 'R&D <Core>', position: 'Engineer' });
    assert.deepEqual(emu.store.groupsOf(res.ref.key), ['engineering']);

    const read = await c.readUser({ key: res.ref.key }, ['groups', 'confluence.profile.department', 'confluence.profile.im']);
    assert.equal(read?.values['confluence.profile.department'], 'R&D <Core>');
    assert.equal(read?.values['confluence.profile.im'], null);
    assert.equal(read?.values['user.email'], 'jane@example.com');
    assert.deepEqual(read?.values.groups, ['engineering']);
  } finally {
    await c.close?.();
    await emu.close();
  }
});

test('updating one profile field keeps the others, and null clears', async () => {
  const emu = await startConfluenceDcEmulator({ seed: { users: [{ username: 'ann', fullName: 'Ann', email: 'ann@x.io', profile: { phone: '1', website: 'https://ann.example', location: 'Zürich' } }] } });
  const c = connector(emu);
  const ann = emu.store.getByName('ann')!;
  try {
    const res = await c.write({
      op: 'update',
      ref: { key: ann.userKey },
      desired: {},
      changes: [
        { field: 'confluence.profile.phone', before: '1', after: '2' },
        { field: 'confluence.profile.website', before: 'https://ann.example', after: null },
      ],
      options: { createMissingGroups: false },
    });
    assert.deepEqual(res.fields.map((f) => [f.field, f.ok]), [
      ['confluence.profile.phone', true],
      ['confluence.profile.website', true],
    ]);
    assert.deepEqual(ann.profile, { phone: '2', location: 'Zürich' });
    assert.equal(ann.fullName, 'Ann', 'the form posts the current full name back unchanged');
  } finally {
    await c.close?.();
    await emu.close();
  }
});

test('usernames are checked before sending, with the rule that was broken', async () => {
  assert.match(usernameProblem('Jane.Doe')!, /lower-case/);
  assert.match(usernameProblem('jane doe')!, /whitespace/);
  assert.match(usernameProblem('jane,doe')!, /forbids/);
  assert.equal(usernameProblem('anonymous')?.includes('reserved'), true);
  assert.equal(usernameProblem('jane.doe@corp'), undefined);

  const emu = await startConfluenceDcEmulator();
  const c = connector(emu);
  try {
    emu.resetStats();
    await assert.rejects(
      c.write(create({ 'user.username': 'Jane', 'user.displayName': 'Jane', 'user.email': 'j@x.io' })),
      (e: unknown) => isIdsyncError(e, 'BAD_REQUEST') && /lower-case/.test(e.message),
    );
    assert.equal(emu.stats.writes, 0, 'nothing was sent');
  } finally {
    await c.close?.();
    await emu.close();
  }
});

test('with a personal access token and no form login, profile fields are declared unsupported with the reason', async () => {
  const emu = await startConfluenceDcEmulator();
  const c = connector(emu, { auth: { type: 'pat', token: { stored: 'pat' } } });
  try {
    const caps = c.capabilities();
    assert.equal(caps.fields.some((f) => f.name.startsWith('confluence.profile.')), false);
    assert.match(caps.unsupported!.find((u) => u.name === 'confluence.profile.')!.reason, /password/);
    assert.match(caps.unsupported!.find((u) => u.name === 'property.')!.reason, /no REST resource/);
    const result = await c.test();
    assert.ok(result.ok, JSON.stringify(result.checks));
  } finally {
    await c.close?.();
    await emu.close();
  }
});

test('a PAT for REST plus formLogin for the form works; a wrong form password fails the field as AUTH, never leaking it', async () => {
  const emu = await startConfluenceDcEmulator({ seed: { users: [{ username: 'bob', fullName: 'Bob', email: 'bob@x.io' }] } });
  const bob = emu.store.getByName('bob')!;
  const change: UserWrite = { op: 'update', ref: { key: bob.userKey }, desired: {}, changes: [{ field: 'confluence.profile.im', before: null, after: 'bob-im' }], options: { createMissingGroups: false } };
  const good = connector(emu, { auth: { type: 'pat', token: { stored: 'pat' } }, formLogin: { username: 'admin', password: { stored: 'pw' } } });
  const bad = connector(emu, { auth: { type: 'pat', token: { stored: 'pat' } }, formLogin: { username: 'admin', password: { stored: 'badpw' } } }, { badpw: 'S3cret-Wrong' });
  try {
    const ok = await good.write(change);
    assert.deepEqual(ok.fields, [{ field: 'confluence.profile.im', ok: true }]);
    assert.equal(bob.profile.im, 'bob-im');

    await assert.rejects(bad.write(change), (e: unknown) => {
      assert.ok(isIdsyncError(e, 'AUTH'), String(e));
      assert.doesNotMatch(`${e.message} ${e.hint}`, /S3cret-Wrong/);
      return true;
    });
  } finally {
    await good.close?.();
    await bad.close?.();
    await emu.close();
  }
});

test('with websudo off the form is reached without the secure session step', async () => {
  const emu = await startConfluenceDcEmulator({ websudo: false, seed: { users: [{ username: 'cy', fullName: 'Cy', email: 'cy@x.io' }] } });
  const c = connector(emu);
  const cy = emu.store.getByName('cy')!;
  try {
    const res = await c.write({ op: 'update', ref: { key: cy.userKey }, desired: {}, changes: [{ field: 'confluence.profile.location', before: null, after: 'Bern' }], options: { createMissingGroups: false } });
    assert.equal(res.fields[0]!.ok, true);
    assert.equal(cy.profile.location, 'Bern');
    assert.equal(emu.stats.byRoute['POST /doauthenticate.action'] ?? 0, 0);
  } finally {
    await c.close?.();
    await emu.close();
  }
});

test('email matching reads the user list once per connector and reports duplicates as a conflict', async () => {
  const users = Array.from({ length: 450 }, (_, i) => ({ username: `u${i}`, email: `u${i}@x.io` }));
  users.push({ username: 'dup1', email: 'same@x.io' }, { username: 'dup2', email: 'same@x.io' });
  const emu = await startConfluenceDcEmulator({ seed: { users } });
  const c = connector(emu);
  try {
    emu.resetStats();
    assert.equal((await c.findUser({ email: 'U7@X.IO' }))?.ref.username, 'u7');
    const listCalls = emu.stats.byRoute['GET /rest/api/user/list'];
    assert.equal(listCalls, 3, '452 users at 200 a page');
    assert.equal((await c.findUser({ email: 'u300@x.io' }))?.ref.username, 'u300');
    assert.equal(emu.stats.byRoute['GET /rest/api/user/list'], listCalls, 'no second scan');
    await assert.rejects(c.findUser({ email: 'same@x.io' }), (e: unknown) => isIdsyncError(e, 'CONFLICT') && /dup1, dup2/.test(e.message));
  } finally {
    await c.close?.();
    await emu.close();
  }
});

test('the form parser reads inputs with either quoting and HTML entities', () => {
  const m = inputs(`<input type="hidden" name='atl_token' value='t&amp;1'><input name="userparam-department" value="R&amp;D &lt;x&gt; &#252;">`);
  assert.equal(m.get('atl_token'), 't&1');
  assert.equal(m.get('userparam-department'), 'R&D <x> ü');
});

test('delete follows the long task to its end; a removal Confluence cannot do is CONFLICT with its message', async () => {
  const emu = await startConfluenceDcEmulator({
    deletionMs: 150,
    seed: { groups: ['staff'], users: [{ username: 'ann', fullName: 'Ann', email: 'ann@x.io', groups: ['staff'] }, { username: 'ldap.lou', fullName: 'Lou', email: 'lou@x.io', readOnlyDirectory: true }] },
  });
  const c = connector(emu);
  try {
    const ann = emu.store.getByName('ann')!;
    await c.deleteUser!({ key: ann.userKey, username: 'ann' });
    assert.equal(emu.store.getByKey(ann.userKey), undefined, 'gone when deleteUser resolves, not later');
    assert.deepEqual(emu.store.membersOf('staff'), [], 'and out of its groups');
    await c.deleteUser!({ key: ann.userKey, username: 'ann' });

    const lou = emu.store.getByName('ldap.lou')!;
    await assert.rejects(c.deleteUser!({ key: lou.userKey }), (e: unknown) => isIdsyncError(e, 'CONFLICT') && /ldap\.lou.*read-only/.test(e.message));
    assert.ok(emu.store.getByKey(lou.userKey), 'lou is still there');
  } finally {
    await c.close?.();
    await emu.close();
  }
});

test('without the Edit User form, renameUsername is declared false and a rename fails on its field, changing nothing', async () => {
  const emu = await startConfluenceDcEmulator({ seed: { users: [{ username: 'bea', fullName: 'Bea', email: 'bea@x.io' }] } });
  const c = connector(emu, { auth: { type: 'pat', token: { stored: 'pat' } } });
  try {
    const life = c.capabilities().lifecycle;
    assert.equal(life.renameUsername, false);
    assert.match(life.reasons?.renameUsername ?? '', /Edit User form/);
    const bea = emu.store.getByName('bea')!;
    const res = await c.write({ op: 'update', ref: { key: bea.userKey, username: 'bea' }, desired: {}, changes: [{ field: 'user.username', before: 'bea', after: 'bea.new' }], options: { createMissingGroups: false } });
    assert.equal(res.fields[0]!.ok, false);
    assert.match(res.fields[0]!.error ?? '', /cannot rename bea/);
    assert.equal(emu.store.getByKey(bea.userKey)!.username, 'bea');
  } finally {
    await c.close?.();
    await emu.close();
  }
});

test('a rename onto a taken username fails that field naming the other user, and nothing changes', async () => {
  const emu = await startConfluenceDcEmulator({ seed: { users: [{ username: 'cai', fullName: 'Cai', email: 'cai@x.io' }, { username: 'dora', fullName: 'Dora D', email: 'dora@x.io' }] } });
  const c = connector(emu);
  try {
    const cai = emu.store.getByName('cai')!;
    const dora = emu.store.getByName('dora')!;
    const res = await c.write({ op: 'update', ref: { key: cai.userKey, username: 'cai' }, desired: {}, changes: [{ field: 'user.username', before: 'cai', after: 'dora' }], options: { createMissingGroups: false } });
    assert.equal(res.fields[0]!.ok, false);
    assert.match(res.fields[0]!.error ?? '', new RegExp(`Dora D, key ${dora.userKey}`));
    assert.equal(emu.store.getByKey(cai.userKey)!.username, 'cai');
    assert.equal(emu.store.getByKey(dora.userKey)!.username, 'dora');
  } finally {
    await c.close?.();
    await emu.close();
  }
});
