import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Version3Client } from 'jira.js';
import { startJiraCloudEmulator, PROPERTY_VALUE_MAX, type JiraCloudEmulator } from './index.ts';

const basic = (emu: JiraCloudEmulator) =>
  `Basic ${Buffer.from(`${emu.credentials.email}:${emu.credentials.apiToken}`).toString('base64')}`;

async function call(emu: JiraCloudEmulator, method: string, path: string, body?: unknown) {
  const res = await fetch(`${emu.url}/rest/api/3${path}`, {
    method,
    headers: { authorization: basic(emu), accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

const ada = (emu: JiraCloudEmulator) => [...emu.store.accounts.values()].find((a) => a.emailAddress === 'ada@example.com')!;

test('jira.js Version3Client, unmodified but for the host, reads a user, sets a property and adds a group member', async () => {
  const emu = await startJiraCloudEmulator();
  const client = new Version3Client({
    host: emu.url,
    authentication: { basic: { email: emu.credentials.email, apiToken: emu.credentials.apiToken } },
  });
  try {
    const me = await client.myself.getCurrentUser();
    assert.equal(me.emailAddress, 'admin@example.com');
    const user = await client.users.getUser({ accountId: ada(emu).accountId, expand: 'groups' });
    assert.equal(user.displayName, 'Ada Lovelace');
    assert.deepEqual(user.groups?.items?.map((g) => g.name).sort(), ['engineering', 'jira-software-users']);

    await client.userProperties.setUserProperty({ accountId: user.accountId, propertyKey: 'idsync.costCenter', propertyValue: { cc: '4711' } });
    const prop = await client.userProperties.getUserProperty({ accountId: user.accountId, propertyKey: 'idsync.costCenter' });
    assert.deepEqual(prop.value, { cc: '4711' });
    const keys = await client.userProperties.getUserPropertyKeys({ accountId: user.accountId });
    assert.deepEqual(keys.keys?.map((k) => k.key), ['idsync.costCenter']);

    const bulk = await client.groups.bulkGetGroups({ groupName: ['sales'] });
    const sales = bulk.values?.[0];
    assert.equal(bulk.values?.length, 1);
    await client.groups.addUserToGroup({ groupId: sales!.groupId, accountId: user.accountId });
    const members = await client.groups.getUsersFromGroup({ groupId: sales!.groupId! });
    assert.deepEqual(members.values?.map((m) => m.accountId), [user.accountId]);
  } finally {
    await emu.close();
  }
});

test('property PUT answers 201 on create and 200 on update; limits and the error envelope follow Jira', async () => {
  const emu = await startJiraCloudEmulator();
  const id = ada(emu).accountId;
  try {
    assert.equal((await call(emu, 'PUT', `/user/properties/k?accountId=${id}`, { a: 1 })).status, 201);
    assert.equal((await call(emu, 'PUT', `/user/properties/k?accountId=${id}`, { a: 2 })).status, 200);
    const tooLong = await call(emu, 'PUT', `/user/properties/${'x'.repeat(256)}?accountId=${id}`, { a: 1 });
    assert.equal(tooLong.status, 400);
    assert.ok(Array.isArray(tooLong.body.errorMessages) && tooLong.body.errors, 'Array.isArray(tooLong.body.errorMessages) && tooLong.body.errors');
    // Exactly at the limit is accepted; one more character is refused.
    const atLimit = JSON.stringify('y'.repeat(PROPERTY_VALUE_MAX - 2));
    assert.equal((await call(emu, 'PUT', `/user/properties/big?accountId=${id}`, atLimit)).status, 201);
    assert.equal((await call(emu, 'PUT', `/user/properties/big?accountId=${id}`, JSON.stringify('y'.repeat(PROPERTY_VALUE_MAX - 1)))).status, 400);
    // The limit counts bytes: 16,384 "é" are 16,386 characters of JSON but 32,770 bytes.
    assert.equal((await call(emu, 'PUT', `/user/properties/wide?accountId=${id}`, JSON.stringify('\u00e9'.repeat(16_384)))).status, 400);
    assert.equal((await call(emu, 'PUT', `/user/properties/wide?accountId=${id}`, JSON.stringify('\u00e9'.repeat(16_383)))).status, 201);
    const missing = await call(emu, 'GET', `/user/properties/nope?accountId=${id}`);
    assert.equal(missing.status, 404);
    assert.match(missing.body.errorMessages[0], /nope/);
    assert.equal((await call(emu, 'DELETE', `/user/properties/k?accountId=${id}`)).status, 204);
    assert.equal((await call(emu, 'DELETE', `/user/properties/k?accountId=${id}`)).status, 404);
  } finally {
    await emu.close();
  }
});

test('a hidden email is omitted from answers but an exact email search still finds the account', async () => {
  const emu = await startJiraCloudEmulator();
  try {
    const found = await call(emu, 'GET', '/user/search?query=zoe%40example.com');
    assert.equal(found.status, 200);
    assert.equal(found.body.length, 1);
    assert.equal(found.body[0].displayName, 'Zoë Ørsted-Łukasz');
    assert.equal('emailAddress' in found.body[0], false);
    // Inactive accounts are not returned by /user/search but are listed by /users/search.
    assert.equal((await call(emu, 'GET', '/user/search?query=gone%40example.com')).body.length, 0);
    const all = await call(emu, 'GET', '/users/search?maxResults=2&startAt=4');
    assert.deepEqual(all.body.map((u: { active: boolean }) => u.active), [false, true]);
  } finally {
    await emu.close();
  }
});

test('groups: duplicate create and duplicate membership are 400s, members are a PageBean, unknown group is 404', async () => {
  const emu = await startJiraCloudEmulator();
  const id = ada(emu).accountId;
  try {
    const created = await call(emu, 'POST', '/group', { name: 'new-team' });
    assert.equal(created.status, 201);
    assert.equal((await call(emu, 'POST', '/group', { name: 'NEW-TEAM' })).status, 400);
    assert.equal((await call(emu, 'POST', `/group/user?groupId=${created.body.groupId}`, { accountId: id })).status, 201);
    const dup = await call(emu, 'POST', `/group/user?groupId=${created.body.groupId}`, { accountId: id });
    assert.equal(dup.status, 400);
    assert.match(dup.body.errorMessages[0], /already a member/);
    // The documented answers for a missing accountId (400) and an unknown account (404).
    assert.equal((await call(emu, 'POST', `/group/user?groupId=${created.body.groupId}`, {})).status, 400);
    assert.equal((await call(emu, 'POST', `/group/user?groupId=${created.body.groupId}`, { accountId: 'no-such-account' })).status, 404);
    const members = await call(emu, 'GET', `/group/member?groupId=${created.body.groupId}`);
    assert.deepEqual({ total: members.body.total, isLast: members.body.isLast, startAt: members.body.startAt }, { total: 1, isLast: true, startAt: 0 });
    assert.equal((await call(emu, 'DELETE', `/group/user?groupId=${created.body.groupId}&accountId=${id}`)).status, 200);
    assert.equal((await call(emu, 'GET', '/group/member?groupId=00000000-0000-4000-a000-000000000000')).status, 404);
  } finally {
    await emu.close();
  }
});

test('wrong credentials get 401; a non-admin caller gets 403 on group changes', async () => {
  const emu = await startJiraCloudEmulator();
  try {
    const res = await fetch(`${emu.url}/rest/api/3/myself`, { headers: { authorization: 'Basic ' + Buffer.from('x:y').toString('base64') } });
    assert.equal(res.status, 401);
    await res.arrayBuffer();
    emu.setAdmin(false);
    assert.equal((await call(emu, 'POST', '/group', { name: 'x' })).status, 403);
  } finally {
    await emu.close();
  }
});

test('rate limiting answers 429 with Retry-After and Jira Cloud rate-limit headers', async () => {
  const emu = await startJiraCloudEmulator();
  emu.setFaults({ rateLimit: { capacity: 1, perSecond: 0.001, retryAfterSeconds: 3 } });
  try {
    assert.equal((await call(emu, 'GET', '/myself')).status, 200);
    const limited = await call(emu, 'GET', '/myself');
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get('retry-after'), '3');
    assert.equal(limited.headers.get('x-ratelimit-limit'), '1');
    assert.equal(limited.headers.get('x-ratelimit-remaining'), '0');
    assert.match(limited.headers.get('x-ratelimit-reset') ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\dZ$/);
    assert.equal(limited.headers.get('ratelimit-reason'), 'jira-burst-based');
    assert.ok(Array.isArray(limited.body.errorMessages), 'Array.isArray(limited.body.errorMessages)');
  } finally {
    await emu.close();
  }
});
