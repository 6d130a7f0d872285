import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startCrowdEmulator, type CrowdEmulator } from './index.ts';

const BASE = '/rest/usermanagement/1';

async function call(emu: CrowdEmulator, method: string, path: string, body?: unknown, opts: { json?: boolean; auth?: string } = {}) {
  const auth = opts.auth ?? `${emu.application.name}:${emu.application.password}`;
  const res = await fetch(`${emu.url}${BASE}${path}`, {
    method,
    headers: {
      authorization: `Basic ${Buffer.from(auth).toString('base64')}`,
      ...(opts.json === false ? {} : { accept: 'application/json' }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: any = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    /* XML or plain text stays text */
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

test('users: create answers 201 with Location; duplicates and missing passwords are 400 with a Crowd reason', async () => {
  const emu = await startCrowdEmulator();
  try {
    const user = { name: 'new.user', 'first-name': 'New', 'last-name': 'User', 'display-name': 'New User', email: 'new@example.com', active: true };
    const created = await call(emu, 'POST', '/user', { ...user, password: { value: 'S3cret!' } });
    assert.equal(created.status, 201);
    assert.match(created.headers.get('location') ?? '', /\/user\?username=new\.user$/);
    const dup = await call(emu, 'POST', '/user', { ...user, name: 'NEW.USER', password: { value: 'x' } });
    assert.deepEqual([dup.status, dup.body.reason], [400, 'INVALID_USER']);
    const noPassword = await call(emu, 'POST', '/user', { ...user, name: 'other' });
    assert.deepEqual([noPassword.status, noPassword.body.reason], [400, 'INVALID_CREDENTIAL']);
    const missing = await call(emu, 'GET', '/user?username=nobody');
    assert.deepEqual([missing.status, missing.body.reason], [404, 'USER_NOT_FOUND']);
    assert.match(missing.body.message, /nobody/);
  } finally {
    await emu.close();
  }
});

test('PUT /user replaces the whole user: omitted fields are cleared and active becomes false', async () => {
  const emu = await startCrowdEmulator();
  try {
    assert.equal((await call(emu, 'PUT', '/user?username=ada', { name: 'ada', email: 'ada@new.example.com' })).status, 204);
    const ada = (await call(emu, 'GET', '/user?username=ada')).body;
    assert.equal(ada.email, 'ada@new.example.com');
    assert.equal(ada['display-name'], '');
    assert.equal(ada.active, false);
    assert.equal((await call(emu, 'PUT', '/user?username=ada', { name: 'grace' })).status, 400, 'renaming needs /user/rename');
  } finally {
    await emu.close();
  }
});

test('rename keeps the key; the user is then found by key and by the new name only', async () => {
  const emu = await startCrowdEmulator();
  try {
    const before = (await call(emu, 'GET', '/user?username=grace')).body;
    const renamed = await call(emu, 'POST', '/user/rename?username=grace', { 'new-name': 'grace.hopper' });
    assert.equal(renamed.status, 200);
    assert.equal(renamed.body.key, before.key);
    assert.equal((await call(emu, 'GET', `/user?key=${encodeURIComponent(before.key)}`)).body.name, 'grace.hopper');
    assert.equal((await call(emu, 'GET', '/user?username=grace')).status, 404);
    assert.equal((await call(emu, 'POST', '/user/rename?username=grace.hopper', { 'new-name': 'ADA' })).status, 400, 'names are unique without case');
  } finally {
    await emu.close();
  }
});

test('attributes are multi-valued; memberships: 201, 409 when repeated, 400 GROUP_NOT_FOUND, 404 on removing a non-membership', async () => {
  const emu = await startCrowdEmulator();
  try {
    assert.equal((await call(emu, 'POST', '/user/attribute?username=ada', { attributes: [{ name: 'langs', values: ['en', 'de'] }] })).status, 204);
    const attrs = (await call(emu, 'GET', '/user?username=ada&expand=attributes')).body.attributes.attributes;
    assert.deepEqual(attrs.map((a: any) => [a.name, a.values]), [['costCenter', ['4711']], ['langs', ['en', 'de']]]);
    assert.equal((await call(emu, 'DELETE', '/user/attribute?username=ada&attributename=langs')).status, 204);

    assert.equal((await call(emu, 'POST', '/user/group/direct?username=grace', { name: 'engineering' })).status, 201);
    const again = await call(emu, 'POST', '/user/group/direct?username=grace', { name: 'engineering' });
    assert.deepEqual([again.status, again.body.reason], [409, 'MEMBERSHIP_ALREADY_EXISTS']);
    const noGroup = await call(emu, 'POST', '/user/group/direct?username=grace', { name: 'nope' });
    assert.deepEqual([noGroup.status, noGroup.body.reason], [400, 'GROUP_NOT_FOUND']);
    const groups = (await call(emu, 'GET', '/user/group/direct?username=grace')).body.groups.map((g: any) => g.name);
    assert.deepEqual(groups, ['engineering', 'jira-software-users']);
    const notMember = await call(emu, 'DELETE', '/user/group/direct?username=grace&groupname=crowd-administrators');
    assert.deepEqual([notMember.status, notMember.body.reason], [404, 'MEMBERSHIP_NOT_FOUND']);
    const members = (await call(emu, 'GET', '/group/user/direct?groupname=engineering')).body.users.map((u: any) => u.name);
    assert.deepEqual(members, ['ada', 'grace']);
  } finally {
    await emu.close();
  }
});

test('CQL search by email (case-insensitive, wildcards, and/or); bad CQL is a 400', async () => {
  const emu = await startCrowdEmulator();
  try {
    const names = async (cql: string) =>
      (await call(emu, 'GET', `/search?entity-type=user&restriction=${encodeURIComponent(cql)}`)).body.users.map((u: any) => u.name);
    assert.deepEqual(await names('email = "ADA@example.com"'), ['ada']);
    assert.deepEqual(await names('email = "shared@example.com"'), ['shared1', 'shared2']);
    assert.deepEqual(await names('name = "sha*" and active = true'), ['shared1', 'shared2']);
    assert.deepEqual(await names('name = ada or name = grace'), ['ada', 'grace']);
    assert.deepEqual(await names('costCenter = 4711'), ['ada']);
    assert.equal((await call(emu, 'GET', `/search?entity-type=user&restriction=${encodeURIComponent('email ~ x')}`)).status, 400);
  } finally {
    await emu.close();
  }
});

test('XML unless the client asks for JSON; wrong application credentials are a 401', async () => {
  const emu = await startCrowdEmulator();
  try {
    const xml = await call(emu, 'GET', '/user?username=ada', undefined, { json: false });
    assert.equal(xml.status, 200);
    assert.match(xml.headers.get('content-type') ?? '', /xml/);
    assert.match(xml.body, /^<\?xml .*<name>ada<\/name>/);
    const denied = await call(emu, 'GET', '/user?username=ada', undefined, { auth: 'idsync:wrong' });
    assert.equal(denied.status, 401);
    assert.match(denied.headers.get('www-authenticate') ?? '', /Basic/i);
  } finally {
    await emu.close();
  }
});

test('search: POST /search takes a search-restriction body (property and boolean restrictions) like GET takes CQL', async () => {
  const emu = await startCrowdEmulator();
  try {
    const byEmail = await call(emu, 'POST', '/search?entity-type=user', {
      'restriction-type': 'property-search-restriction',
      property: { name: 'email', type: 'STRING' },
      'match-mode': 'EXACTLY_MATCHES',
      value: 'ADA@example.com',
    });
    assert.equal(byEmail.status, 200);
    assert.deepEqual(byEmail.body.users.map((u: { name: string }) => u.name), ['ada']);
    // The documented example spells the match mode `matchMode`.
    const either = await call(emu, 'POST', '/search?entity-type=user&expand=user', {
      'restriction-type': 'boolean-search-restriction',
      'boolean-logic': 'or',
      restrictions: [
        { 'restriction-type': 'property-search-restriction', property: { name: 'name', type: 'STRING' }, matchMode: 'STARTS_WITH', value: 'gr' },
        { 'restriction-type': 'property-search-restriction', property: { name: 'email', type: 'STRING' }, matchMode: 'CONTAINS', value: 'zoe@' },
      ],
    });
    assert.deepEqual(either.body.users.map((u: { name: string; email: string }) => [u.name, u.email]), [['grace', 'grace@example.com'], ['zoe', 'zoe@example.com']]);
    const bad = await call(emu, 'POST', '/search?entity-type=user', { 'restriction-type': 'nonsense' });
    assert.deepEqual([bad.status, bad.body.reason], [400, 'ILLEGAL_ARGUMENT']);
  } finally {
    await emu.close();
  }
});
