import { test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { ConfluenceClient } from 'confluence.js';
import { startConfluenceCloudEmulator, type ConfluenceCloudEmulator } from './index.ts';

function officialClient(emu: ConfluenceCloudEmulator): ConfluenceClient {
  // The official client, unmodified: only the host, the credentials and trust of the emulator's certificate.
  return new ConfluenceClient({
    host: emu.url,
    authentication: { basic: { email: emu.admin.email, apiToken: emu.admin.apiToken } },
    baseRequestConfig: { httpsAgent: new https.Agent({ ca: emu.ca }) },
  });
}

async function raw(emu: ConfluenceCloudEmulator, method: string, path: string, body?: unknown, as = { email: emu.admin.email, token: emu.admin.apiToken }) {
  const agent = new https.Agent({ ca: emu.ca });
  const auth = `Basic ${Buffer.from(`${as.email}:${as.token}`).toString('base64')}`;
  return new Promise<{ status: number; headers: Record<string, unknown>; body: any }>((resolve, reject) => {
    const req = https.request(emu.url + path, { method, agent, headers: { authorization: auth, accept: 'application/json', 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text ? JSON.parse(text) : undefined }));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

test('confluence.js drives the emulator: get a user, set and read a property, add to a group', async () => {
  const emu = await startConfluenceCloudEmulator({
    seed: { accounts: [{ accountId: '712020:aaaa', displayName: 'Ada Lovelace', email: 'ada@example.com', emailVisible: false }], groups: ['engineering'] },
  });
  const client = officialClient(emu);
  try {
    const user = await client.users.getUser({ accountId: '712020:aaaa' });
    assert.equal(user.displayName, 'Ada Lovelace');
    assert.equal(user.email, '', 'hidden email comes back empty');

    await client.userProperties.createUserProperty({ userId: '712020:aaaa', key: 'costCenter', value: { code: 'CC-1' } });
    await client.userProperties.updateUserProperty({ userId: '712020:aaaa', key: 'costCenter', value: { code: 'CC-2' } });
    const prop = await client.userProperties.getUserProperty({ userId: '712020:aaaa', key: 'costCenter' });
    assert.deepEqual(prop.value, { code: 'CC-2' });
    const keys = await client.userProperties.getUserProperties({ userId: '712020:aaaa' });
    assert.deepEqual(keys.results.map((k) => k.key), ['costCenter']);

    const group = await client.group.getGroupByQueryParam({ name: 'engineering' });
    await client.group.addUserToGroupByGroupId({ groupId: group.id, accountId: '712020:aaaa' });
    const members = await client.group.getGroupMembersByGroupId({ groupId: group.id });
    assert.deepEqual(members.results.map((u) => u.accountId), ['712020:aaaa']);
    const memberOf = await client.users.getGroupMembershipsForUser({ accountId: '712020:aaaa' });
    assert.deepEqual(memberOf.results.map((g) => g.name), ['engineering']);

    const found = await client.search.searchUser({ cql: 'user.fullname~"ada"' });
    assert.equal(found.results.length, 1);
  } finally {
    await emu.close();
  }
});

test('property rules: POST on an existing key is 409, PUT on a missing key is 404, bad keys and non-objects are 400', async () => {
  const emu = await startConfluenceCloudEmulator({ seed: { accounts: [{ accountId: 'acc-1', displayName: 'Bo', email: 'bo@example.com' }] } });
  try {
    const base = '/wiki/rest/api/user/acc-1/property';
    assert.equal((await raw(emu, 'PUT', `${base}/k1`, { value: { a: 1 } })).status, 404);
    assert.equal((await raw(emu, 'POST', `${base}/k1`, { value: { a: 1 } })).status, 201);
    const dup = await raw(emu, 'POST', `${base}/k1`, { value: { a: 2 } });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.statusCode, 409);
    assert.equal(dup.body.data.successful, false);
    assert.equal((await raw(emu, 'PUT', `${base}/k1`, { value: { a: 2 } })).status, 204);
    assert.equal((await raw(emu, 'POST', `${base}/bad.key`, { value: { a: 1 } })).status, 400);
    assert.equal((await raw(emu, 'POST', `${base}/k2`, { value: 'a string' })).status, 400);
    assert.equal((await raw(emu, 'POST', `${base}/k3`, { value: { big: 'x'.repeat(33_000) } })).status, 400);
    assert.equal((await raw(emu, 'DELETE', `${base}/k1`)).status, 204);
    assert.equal((await raw(emu, 'DELETE', `${base}/k1`)).status, 404);
  } finally {
    await emu.close();
  }
});

test('group writes need a site admin; 429s carry Cloud rate-limit headers', async () => {
  const emu = await startConfluenceCloudEmulator({ seed: { accounts: [{ accountId: 'acc-2', displayName: 'Cy', email: 'cy@example.com', apiTokens: ['tok'] }], groups: ['g'] } });
  try {
    const groupId = emu.store.groupIdByName('g')!;
    const asCy = { email: 'cy@example.com', token: 'tok' };
    const denied = await raw(emu, 'POST', `/wiki/rest/api/group/userByGroupId?groupId=${groupId}`, { accountId: 'acc-2' }, asCy);
    assert.equal(denied.status, 403);
    assert.match(denied.body.message, /site admin/);
    assert.equal((await raw(emu, 'GET', '/wiki/rest/api/user/current', undefined, { email: 'cy@example.com', token: 'wrong' })).status, 401);
    assert.equal((await raw(emu, 'POST', `/wiki/rest/api/group/userByGroupId?groupId=${groupId}`, { accountId: 'acc-2' })).status, 201);

    emu.setFaults({ rateLimit: { capacity: 1, perSecond: 0.001, retryAfterSeconds: 2 } });
    await raw(emu, 'GET', '/wiki/rest/api/user/current');
    const limited = await raw(emu, 'GET', '/wiki/rest/api/user/current');
    assert.equal(limited.status, 429);
    assert.equal(limited.headers['retry-after'], '2');
    assert.equal(limited.headers['x-ratelimit-remaining'], '0');
    assert.match(String(limited.headers['x-ratelimit-reset']), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}Z$/);
  } finally {
    await emu.close();
  }
});
