// Jira DC specifics beyond the shared conformance suite (test/conformance/jira-dc.test.ts):
// configuration, Basic auth, email ambiguity, the admin check, create with groups and
// properties, adoption on a real "username exists" answer, and secrets staying out of errors.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { startJiraDcEmulator, EMULATOR_ADMIN, EMULATOR_VIEWER, type JiraDcEmulator } from '../../../emulators/jira-dc/index.ts';
import { isIdsyncError, errorText } from '../../core/errors.ts';
import type { TargetConnector } from '../../core/types.ts';
import { definition } from './index.ts';

let emu: JiraDcEmulator;
let jira: TargetConnector;
const secrets: Record<string, string> = { pat: EMULATOR_ADMIN.pat, viewerPat: EMULATOR_VIEWER.pat, adminPw: EMULATOR_ADMIN.password };

function connect(auth: unknown): TargetConnector {
  const config = definition.configSchema.parse({ id: 'jira', type: 'jira-dc', url: emu.url, auth });
  return definition.create(config, { storedSecret: (n) => secrets[n], fastRetries: true });
}

before(async () => {
  emu = await startJiraDcEmulator({ groups: ['staff'] });
  jira = connect({ type: 'pat', token: { stored: 'pat' } });
});
after(async () => {
  await jira.close?.();
  await emu.close();
});
beforeEach(async () => {
  await fetch(`${emu.url}/_emulator/reset`, { method: 'POST' });
  emu.store.ensureGroup('staff');
});

test('config: secrets must be references, the URL must be a URL, and the auth type is checked', () => {
  const parse = (over: Record<string, unknown>) =>
    definition.configSchema.safeParse({ id: 'jira', type: 'jira-dc', url: 'https://jira.example.com', auth: { type: 'pat', token: { env: 'X' } }, ...over });
  assert.equal(parse({}).success, true);
  assert.equal(parse({ auth: { type: 'pat', token: 'inline-secret' } }).success, false);
  assert.equal(parse({ url: 'not a url' }).success, false);
  assert.equal(parse({ auth: { type: 'oauth', token: { env: 'X' } } }).success, false);
  const defaults = parse({}).data!;
  assert.equal(defaults.createMissingGroups, false);
});

test('Basic auth works; a viewer account fails the administrator check with a clear message', async () => {
  const basic = connect({ type: 'basic', username: EMULATOR_ADMIN.username, password: { stored: 'adminPw' } });
  const viewer = connect({ type: 'pat', token: { stored: 'viewerPat' } });
  try {
    assert.equal((await basic.test()).ok, true);
    const r = await viewer.test();
    assert.equal(r.ok, false);
    const adminCheck = r.checks.find((c) => c.name === 'administrator')!;
    assert.equal(adminCheck.ok, false);
    assert.match(adminCheck.message, /Jira Administrators/);
    // A write by a non-admin is a permission problem for the whole run: it throws AUTH.
    await assert.rejects(
      viewer.write({ op: 'create', desired: { 'user.username': 'v', 'user.displayName': 'V', 'user.email': 'v@example.com' }, changes: [], options: { createMissingGroups: false } }),
      (e: unknown) => isIdsyncError(e, 'AUTH'),
    );
  } finally {
    await basic.close?.();
    await viewer.close?.();
  }
});

test('an unreachable Jira fails the reach check, naming the URL', async () => {
  const dead = await startJiraDcEmulator();
  const url = dead.url;
  await dead.close();
  const config = definition.configSchema.parse({ id: 'jira', type: 'jira-dc', url, auth: { type: 'pat', token: { stored: 'pat' } } });
  const target = definition.create(config, { storedSecret: (n) => secrets[n], fastRetries: true });
  try {
    const r = await target.test();
    assert.equal(r.ok, false);
    assert.equal(r.checks[0]!.name, 'reach Jira');
    assert.match(r.checks[0]!.message, /could not be reached/);
  } finally {
    await target.close?.();
  }
});

test('findUser by email: exact match only; two users with one email is a CONFLICT naming both', async () => {
  emu.store.createUser({ name: 'ann', displayName: 'Ann', emailAddress: 'ann@example.com' });
  emu.store.createUser({ name: 'annabel', displayName: 'Annabel', emailAddress: 'ann@example.com.au' });
  const found = await jira.findUser({ email: 'ANN@example.com' });
  assert.equal(found?.ref.username, 'ann');

  emu.store.createUser({ name: 'ann2', displayName: 'Ann Two', emailAddress: 'Ann@Example.com' });
  await assert.rejects(jira.findUser({ email: 'ann@example.com' }), (e: unknown) => {
    assert.ok(isIdsyncError(e, 'CONFLICT'), "isIdsyncError(e, 'CONFLICT')");
    assert.match(e.message, /ann, ann2|ann2, ann/);
    return true;
  });
  // The stored link wins before email is even looked at.
  const key = emu.inspect('ann2')!.key;
  assert.equal((await jira.findUser({ key, email: 'ann@example.com' }))?.ref.key, key);
});

test('create with groups and properties applies all of them; findUser returns them when asked', async () => {
  const res = await jira.write({
    op: 'create',
    desired: {
      'user.username': 'dora',
      'user.displayName': 'Dora Explorer',
      'user.email': 'dora@example.com',
      'user.active': false,
      groups: ['staff'],
      'property.team': { name: 'Maps' },
    },
    changes: [],
    options: { createMissingGroups: false },
  });
  assert.ok(res.fields.every((f) => f.ok), JSON.stringify(res.fields));
  const stored = emu.inspect(res.ref.key)!;
  assert.equal(stored.active, false);
  assert.ok(stored.groups.includes('staff'), "stored.groups.includes('staff')");
  assert.deepEqual(stored.properties, { team: { name: 'Maps' } });

  const found = await jira.findUser({ username: 'DORA' }, ['groups', 'property.team', 'property.absent']);
  assert.deepEqual(found?.values, {
    'user.username': 'dora',
    'user.displayName': 'Dora Explorer',
    'user.email': 'dora@example.com',
    'user.active': false,
    groups: ['jira-software-users', 'staff'],
    'property.team': { name: 'Maps' },
    'property.absent': null,
  });
});

// The engine checks what a create needs while planning (missingForCreate), for dry runs too;
// the connector itself sends what it is given, and Jira's refusal names the field.
test('create missing a required value is refused by Jira, naming the field', async () => {
  await assert.rejects(
    jira.write({ op: 'create', desired: { 'user.username': 'eve', 'user.displayName': 'Eve' }, changes: [], options: { createMissingGroups: false } }),
    (e: unknown) => isIdsyncError(e, 'BAD_REQUEST') && /email address/.test(e.message),
  );
  assert.equal(emu.inspect('eve'), undefined, 'no user created');
});

test('create meeting Jira’s own "username already exists" adopts that user (no 409 injected)', async () => {
  const existing = emu.store.createUser({ name: 'fred', displayName: 'Old Fred', emailAddress: 'fred@example.com' });
  const res = await jira.write({
    op: 'create',
    desired: { 'user.username': 'fred', 'user.displayName': 'Fred Flintstone', 'user.email': 'fred@example.com', groups: ['staff'] },
    changes: [],
    options: { createMissingGroups: false },
  });
  assert.equal(res.ref.key, existing.key);
  assert.ok(res.fields.every((f) => f.ok), 'res.fields.every((f) => f.ok)');
  const stored = emu.inspect(existing.key)!;
  assert.equal(stored.displayName, 'Fred Flintstone');
  assert.deepEqual(stored.groups, ['staff']);
});

test('after a rename, group changes in the same write use the new username', async () => {
  const u = emu.store.createUser({ name: 'gina', displayName: 'Gina', emailAddress: 'gina@example.com' });
  const res = await jira.write({
    op: 'update',
    ref: { key: u.key, username: 'gina' },
    desired: {},
    changes: [
      { field: 'user.username', before: 'gina', after: 'gina.new' },
      { field: 'groups', before: [], after: ['staff'], add: ['staff'], remove: [] },
    ],
    options: { createMissingGroups: false },
  });
  assert.ok(res.fields.every((f) => f.ok), JSON.stringify(res.fields));
  assert.deepEqual(res.ref, { key: u.key, username: 'gina.new' });
  assert.deepEqual(emu.inspect(u.key)!.groups, ['staff']);
});

test('clearing a required account field fails that field without a request; unknown fields fail readably', async () => {
  const u = emu.store.createUser({ name: 'hal', displayName: 'Hal', emailAddress: 'hal@example.com' });
  emu.resetStats();
  const res = await jira.write({
    op: 'update',
    ref: { key: u.key },
    desired: {},
    changes: [
      { field: 'user.email', before: 'hal@example.com', after: null },
      { field: 'confluence.profile.phone', before: null, after: '123' },
    ],
    options: { createMissingGroups: false },
  });
  assert.deepEqual(
    res.fields.map((f) => [f.field, f.ok]),
    [
      ['user.email', false],
      ['confluence.profile.phone', false],
    ],
  );
  assert.match(res.fields[0]!.error!, /cannot clear user\.email/);
  assert.match(res.fields[1]!.error!, /cannot write confluence\.profile\.phone/);
  assert.equal(emu.stats.writes, 0);
});

test('a property value over 32,768 bytes of UTF-8 fails that field before any request, even when it has fewer characters', async () => {
  const u = emu.store.createUser({ name: 'ida', displayName: 'Ida', emailAddress: 'ida@example.com' });
  emu.resetStats();
  const wide = '\u00e9'.repeat(17_000); // 17,002 characters of JSON, 34,002 bytes
  const res = await jira.write({
    op: 'update',
    ref: { key: u.key, username: 'ida' },
    desired: {},
    changes: [
      { field: 'property.bio', before: null, after: wide },
      { field: 'property.short', before: null, after: '\u00e9'.repeat(100) },
    ],
    options: { createMissingGroups: false },
  });
  assert.deepEqual(res.fields.map((f) => [f.field, f.ok]), [['property.bio', false], ['property.short', true]]);
  assert.match(res.fields[0]!.error!, /34,002 bytes/);
  assert.equal(emu.stats.writes, 1);
  assert.deepEqual(emu.inspect(u.key)!.properties, { short: '\u00e9'.repeat(100) });
});

test('a wrong token never shows up in errors or test results', async () => {
  secrets.leaky = 'super-secret-token-value';
  const bad = connect({ type: 'pat', token: { stored: 'leaky' } });
  try {
    const r = await bad.test();
    assert.doesNotMatch(JSON.stringify(r), /super-secret/);
    const err = await bad.findUser({ username: 'admin' }).catch((e: unknown) => e);
    assert.ok(isIdsyncError(err, 'AUTH'), "isIdsyncError(err, 'AUTH')");
    assert.doesNotMatch(errorText(err) + JSON.stringify(err), /super-secret/);
  } finally {
    await bad.close?.();
  }
});

test('delete: a project lead is refused as CONFLICT naming the project; memberships of a deleted user are gone', async () => {
  const lead = emu.store.createUser({ name: 'lead', displayName: 'Pro Lead', emailAddress: 'lead@example.com', projectLeadOf: ['ACME'], groups: ['staff'] });
  await assert.rejects(jira.deleteUser!({ key: lead.key, username: 'lead' }), (e: unknown) => {
    assert.ok(isIdsyncError(e, 'CONFLICT'), `CONFLICT, got ${e}`);
    assert.match(e.message, /lead/);
    assert.match(e.message, /ACME/, 'the project Jira names is in the message');
    assert.match(errorText(e), /another lead/, 'the hint says what to do');
    return true;
  });
  assert.ok(emu.inspect(lead.key), 'the lead is still there');

  const leaver = emu.store.createUser({ name: 'leaver', displayName: 'Lea Ver', emailAddress: 'leaver@example.com', groups: ['staff'] });
  await jira.deleteUser!({ key: leaver.key });
  assert.equal(emu.inspect(leaver.key), undefined);
  assert.ok(!emu.store.members('staff').includes(leaver.key), 'no longer a member of staff');
  const page = await fetch(`${emu.url}/rest/api/2/group/member?groupname=staff`, { headers: { authorization: `Bearer ${EMULATOR_ADMIN.pat}` } });
  const names = ((await page.json()) as { values: Array<{ name: string }> }).values.map((v) => v.name);
  assert.ok(!names.includes('leaver'), `group member list without the deleted user: ${names}`);
});

test('rename onto a taken username: the account fields fail naming the other user, nothing changes', async () => {
  const a = emu.store.createUser({ name: 'anna', displayName: 'Anna', emailAddress: 'anna@example.com' });
  const b = emu.store.createUser({ name: 'bert', displayName: 'Bert B', emailAddress: 'bert@example.com' });
  const res = await jira.write({
    op: 'update',
    ref: { key: a.key, username: 'anna' },
    desired: {},
    changes: [
      { field: 'user.username', before: 'anna', after: 'BERT' },
      { field: 'user.displayName', before: 'Anna', after: 'Anna Renamed' },
    ],
    options: { createMissingGroups: false },
  });
  for (const f of res.fields) {
    assert.equal(f.ok, false, `${f.field} fails with the rename (one PUT)`);
    assert.match(f.error ?? '', new RegExp(b.key), 'the other user is named by key');
  }
  assert.equal(emu.inspect(a.key)?.name, 'anna');
  assert.equal(emu.inspect(a.key)?.displayName, 'Anna');
});

test('deactivating a project lead fails the field with what Jira names, and the user stays active', async () => {
  const lead = emu.store.createUser({ name: 'plead', displayName: 'P Lead', emailAddress: 'plead@example.com', projectLeadOf: ['OPS'] });
  const res = await jira.write({ op: 'update', ref: { key: lead.key }, desired: {}, changes: [{ field: 'user.active', before: true, after: false }], options: { createMissingGroups: false } });
  assert.equal(res.fields[0]!.ok, false);
  assert.match(res.fields[0]!.error ?? '', /project lead of OPS/);
  assert.equal(emu.inspect(lead.key)?.active, true);
});
