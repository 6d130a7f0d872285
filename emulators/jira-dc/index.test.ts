import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startJiraDcEmulator, EMULATOR_ADMIN, EMULATOR_VIEWER, type JiraDcEmulator } from './index.ts';

let emu: JiraDcEmulator;
before(async () => {
  emu = await startJiraDcEmulator({ users: [{ name: 'alice', displayName: 'Alice Liddell', emailAddress: 'alice@example.com' }], groups: ['staff'] });
});
after(() => emu.close());

const admin = { authorization: `Bearer ${EMULATOR_ADMIN.pat}` };
const basicAdmin = { authorization: `Basic ${Buffer.from(`${EMULATOR_ADMIN.username}:${EMULATOR_ADMIN.password}`).toString('base64')}` };
const viewer = { authorization: `Bearer ${EMULATOR_VIEWER.pat}` };

async function call(method: string, path: string, headers: Record<string, string> = admin, body?: unknown) {
  const res = await fetch(`${emu.url}${path}`, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

test('auth: PAT and Basic work, no or wrong credentials get 401, a non-admin gets 403 on admin routes', async () => {
  assert.equal((await call('GET', '/rest/api/2/myself')).body.name, 'admin');
  assert.equal((await call('GET', '/rest/api/2/myself', basicAdmin)).status, 200);
  assert.equal((await call('GET', '/rest/api/2/myself', {})).status, 401);
  assert.equal((await call('GET', '/rest/api/2/myself', { authorization: 'Bearer nope' })).status, 401);
  const wrongPw = { authorization: `Basic ${Buffer.from('admin:wrong').toString('base64')}` };
  assert.equal((await call('GET', '/rest/api/2/myself', wrongPw)).status, 401);
  const denied = await call('POST', '/rest/api/2/user', viewer, { name: 'x', displayName: 'X', emailAddress: 'x@example.com' });
  assert.equal(denied.status, 403);
  assert.ok(Array.isArray(denied.body.errorMessages), 'Array.isArray(denied.body.errorMessages)');
  const perms = await call('GET', '/rest/api/2/mypermissions?permissions=ADMINISTER', viewer);
  assert.equal(perms.body.permissions.ADMINISTER.havePermission, false);
  assert.equal((await call('GET', '/rest/api/2/serverInfo', {})).body.versionNumbers[0], 9);
});

test('unknown user: 404 with Jira’s error envelope', async () => {
  const r = await call('GET', '/rest/api/2/user?username=ghost');
  assert.equal(r.status, 404);
  assert.deepEqual(r.body, { errorMessages: ["The user named 'ghost' does not exist"], errors: {} });
});

test('create: generated immutable key, validation errors in `errors`, rename keeps the key', async () => {
  const created = await call('POST', '/rest/api/2/user', admin, { name: 'bob', displayName: 'Bob Builder', emailAddress: 'bob@example.com' });
  assert.equal(created.status, 201);
  assert.match(created.body.key, /^JIRAUSER\d+$/);
  assert.notEqual(created.body.key, created.body.name);
  assert.deepEqual(emu.inspect('bob')!.groups, ['jira-software-users']);

  const dup = await call('POST', '/rest/api/2/user', admin, { name: 'BOB', displayName: 'Other', emailAddress: '' });
  assert.equal(dup.status, 400);
  assert.match(dup.body.errors.username, /already exists/);
  assert.match(dup.body.errors.email, /email/);

  const renamed = await call('PUT', `/rest/api/2/user?key=${created.body.key}`, admin, { name: 'robert', active: false });
  assert.equal(renamed.status, 200);
  assert.equal(renamed.body.key, created.body.key);
  assert.equal((await call('GET', '/rest/api/2/user?username=robert')).body.active, false);
  assert.equal((await call('GET', '/rest/api/2/user?username=bob')).status, 404);
});

test('user search matches username, display-name words and email prefixes; inactive only on request', async () => {
  const names = async (q: string) => (await call('GET', `/rest/api/2/user/search?${q}`)).body.map((u: { name: string }) => u.name);
  assert.deepEqual(await names('username=liddell'), ['alice']);
  assert.deepEqual(await names('username=alice%40exa'), ['alice']);
  await call('PUT', '/rest/api/2/user?username=alice', admin, { active: false });
  assert.deepEqual(await names('username=alice'), []);
  assert.deepEqual(await names('username=alice&includeInactive=true'), ['alice']);
  await call('PUT', '/rest/api/2/user?username=alice', admin, { active: true });
});

test('groups: add (twice → 400), member pages, expand=groups, remove, missing group → 404', async () => {
  assert.equal((await call('POST', '/rest/api/2/group/user?groupname=staff', admin, { name: 'alice' })).status, 201);
  const again = await call('POST', '/rest/api/2/group/user?groupname=staff', admin, { name: 'alice' });
  assert.equal(again.status, 400);
  assert.match(again.body.errorMessages[0], /already a member/);
  assert.equal((await call('POST', '/rest/api/2/group/user?groupname=nogroup', admin, { name: 'alice' })).status, 404);

  for (let i = 0; i < 3; i++) {
    await call('POST', '/rest/api/2/user', admin, { name: `m${i}`, displayName: `M ${i}`, emailAddress: `m${i}@example.com` });
    await call('POST', '/rest/api/2/group/user?groupname=staff', admin, { name: `m${i}` });
  }
  const p1 = await call('GET', '/rest/api/2/group/member?groupname=staff&maxResults=2');
  assert.deepEqual([p1.body.total, p1.body.isLast, p1.body.values.map((u: { name: string }) => u.name)], [4, false, ['alice', 'm0']]);
  const p2 = await call('GET', '/rest/api/2/group/member?groupname=staff&startAt=2&maxResults=2');
  assert.deepEqual([p2.body.isLast, p2.body.values.map((u: { name: string }) => u.name)], [true, ['m1', 'm2']]);

  const withGroups = await call('GET', '/rest/api/2/user?username=alice&expand=groups');
  assert.deepEqual(withGroups.body.groups, { size: 1, items: [{ name: 'staff', self: withGroups.body.groups.items[0].self }] });

  assert.equal((await call('DELETE', '/rest/api/2/group/user?groupname=staff&username=alice')).status, 200);
  assert.deepEqual(emu.inspect('alice')!.groups, []);
  assert.equal((await call('POST', '/rest/api/2/group', admin, { name: 'new-group' })).status, 201);
  assert.equal((await call('POST', '/rest/api/2/group', admin, { name: 'new-group' })).status, 400);
  assert.deepEqual((await call('GET', '/rest/api/2/groups/picker?query=new')).body.groups.map((g: { name: string }) => g.name), ['new-group']);
});

test('user properties: 201 then 200, keys list, limits checked on the raw JSON, 404 for unknown', async () => {
  const path = '/rest/api/2/user/properties/costCenter?username=alice';
  assert.equal((await call('PUT', path, admin, { cc: 4711 })).status, 201);
  assert.equal((await call('PUT', path, admin, { cc: 4712 })).status, 200);
  assert.deepEqual((await call('GET', path)).body, { key: 'costCenter', value: { cc: 4712 } });
  assert.deepEqual((await call('GET', '/rest/api/2/user/properties?username=alice')).body.keys.map((k: { key: string }) => k.key), ['costCenter']);

  const exact = JSON.stringify('x'.repeat(32_766)); // 32,768 characters with the quotes
  assert.equal((await call('PUT', '/rest/api/2/user/properties/big?username=alice', admin, exact)).status, 201);
  const tooBig = await call('PUT', '/rest/api/2/user/properties/big?username=alice', admin, JSON.stringify('x'.repeat(32_767)));
  assert.equal(tooBig.status, 400);
  assert.match(tooBig.body.errorMessages[0], /32768/);
  assert.equal((await call('PUT', '/rest/api/2/user/properties/bad?username=alice', admin, '{not json')).status, 400);
  assert.equal((await call('PUT', `/rest/api/2/user/properties/${'k'.repeat(256)}?username=alice`, admin, '1')).status, 400);

  assert.equal((await call('DELETE', path)).status, 204);
  assert.equal((await call('GET', path)).status, 404);
  assert.equal((await call('DELETE', path)).status, 404);
  assert.deepEqual(Object.keys(emu.inspect('alice')!.properties), ['big']);
});

test('user properties: the value limit is 32,768 bytes of the body (UTF-8), not characters; a long key is 400 too', async () => {
  // 16,383 "é" are 32,766 bytes: with the quotes exactly at the limit.
  const atLimit = JSON.stringify('\u00e9'.repeat(16_383));
  assert.equal(Buffer.byteLength(atLimit), 32_768);
  assert.equal((await call('PUT', '/rest/api/2/user/properties/wide?username=alice', admin, atLimit)).status, 201);
  // 16,384 "é": 16,386 characters, far below 32,768, but 32,770 bytes.
  const over = await call('PUT', '/rest/api/2/user/properties/wide?username=alice', admin, JSON.stringify('\u00e9'.repeat(16_384)));
  assert.equal(over.status, 400);
  assert.deepEqual(Object.keys(over.body), ['errorMessages', 'errors']);
  const longKey = await call('PUT', `/rest/api/2/user/properties/${'k'.repeat(256)}?username=alice`, admin, '{"a":1}');
  assert.equal(longKey.status, 400);
  assert.match(longKey.body.errorMessages[0], /255/);
  assert.equal((await call('PUT', '/rest/api/2/user/properties/blank?username=alice', admin, '   ')).status, 400);
  await call('DELETE', '/rest/api/2/user/properties/wide?username=alice');
});

test('rate limit: 429 with Jira DC headers; control routes seed, inspect and reset', async () => {
  emu.setFaults({ rateLimit: { capacity: 1, perSecond: 0.001, retryAfterSeconds: 5 } });
  await call('GET', '/rest/api/2/myself');
  const limited = await call('GET', '/rest/api/2/myself');
  assert.equal(limited.status, 429);
  assert.equal(limited.headers.get('retry-after'), '5');
  for (const h of ['x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-interval-seconds', 'x-ratelimit-fillrate']) assert.ok(limited.headers.get(h), h);
  emu.setFaults({ rateLimit: undefined });

  const seeded = await call('POST', '/_emulator/users', {}, { users: [{ name: 'seeded', emailAddress: 's@example.com', groups: ['g1'], properties: { p: [1] } }] });
  const key = seeded.body.keys[0];
  const inspected = await call('GET', `/_emulator/users/${key}`, {});
  assert.deepEqual([inspected.body.name, inspected.body.groups, inspected.body.properties], ['seeded', ['g1'], { p: [1] }]);

  assert.equal((await call('POST', '/_emulator/reset', {})).status, 204);
  assert.equal((await call('GET', '/_emulator/users?username=seeded', {})).status, 404);
  assert.equal((await call('GET', '/rest/api/2/myself')).status, 200); // built-in admin is back
});

test('100,000 users: seeded and looked up through indexes', async () => {
  const big = await startJiraDcEmulator();
  try {
    const users = Array.from({ length: 100_000 }, (_, i) => ({ name: `u${i}`, emailAddress: `u${i}@example.com`, groups: [i % 2 ? 'odd' : 'even'] }));
    for (const u of users) big.store.createUser(u);
    assert.equal(big.store.userCount, 100_002);
    const r = await fetch(`${big.url}/rest/api/2/user?username=U99999&expand=groups`, { headers: admin });
    const body = (await r.json()) as { name: string; groups: { items: Array<{ name: string }> } };
    assert.equal(body.name, 'u99999');
    assert.deepEqual(body.groups.items.map((g) => g.name), ['odd']);
    const page = await fetch(`${big.url}/rest/api/2/group/member?groupname=odd&startAt=49990&maxResults=50`, { headers: admin });
    const pb = (await page.json()) as { total: number; isLast: boolean; values: unknown[] };
    assert.deepEqual([pb.total, pb.isLast, pb.values.length], [50_000, true, 10]);
  } finally {
    await big.close();
  }
});

test('TLS: the emulator serves https with its own CA, which the shared client trusts', async () => {
  const { HttpClient } = await import('../../src/core/http.ts');
  const secure = await startJiraDcEmulator({ tls: true });
  const client = new HttpClient({ service: 'Jira', baseUrl: secure.url, ca: secure.ca, authHeaders: () => admin });
  try {
    assert.match(secure.url, /^https:/);
    const me = await client.get<{ name: string }>('/rest/api/2/myself');
    assert.equal(me.body.name, 'admin');
  } finally {
    await client.close();
    await secure.close();
  }
});

test('DELETE /user: a project lead and the caller are refused with 400 errorMessages; deleting removes memberships; deactivating a lead is refused', async () => {
  const lead = emu.store.createUser({ name: 'lena', displayName: 'Lena Lead', emailAddress: 'lena@example.com', projectLeadOf: ['ABC', 'XYZ'], groups: ['staff'] });
  const refused = await call('DELETE', `/rest/api/2/user?key=${lead.key}`);
  assert.equal(refused.status, 400);
  assert.match(refused.body.errorMessages[0], /project lead of 2 project\(s\): ABC, XYZ/);
  const deactivate = await call('PUT', `/rest/api/2/user?key=${lead.key}`, admin, { active: false });
  assert.equal(deactivate.status, 400);
  assert.match(deactivate.body.errorMessages[0], /Cannot deactivate user 'lena'/);
  assert.equal(emu.inspect(lead.key)?.active, true);
  const self = await call('DELETE', '/rest/api/2/user?username=admin');
  assert.equal(self.status, 400);
  assert.match(self.body.errorMessages[0], /currently logged in user/);

  const temp = emu.store.createUser({ name: 'temp', displayName: 'Temp', emailAddress: 'temp@example.com', groups: ['staff'] });
  assert.equal((await call('DELETE', `/rest/api/2/user?key=${temp.key}`)).status, 204);
  assert.equal((await call('DELETE', `/rest/api/2/user?key=${temp.key}`)).status, 404, 'a second delete: no such user');
  assert.ok(!emu.store.members('staff').includes(temp.key), 'the deleted user left its groups');
  const search = await call('GET', '/rest/api/2/user/search?username=temp');
  assert.deepEqual(search.body, [], 'gone from the user search');
});
