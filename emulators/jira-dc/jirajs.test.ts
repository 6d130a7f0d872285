// Fidelity check: the official jira.js Version2Client (v5.4, the /rest/api/2 client that also
// speaks to Data Center) drives the emulator, and the emulator's state must show the effect.
// Where jira.js's typed method carries only Cloud parameters (accountId), the call goes through
// the same client's `sendRequest` with the DC parameters (username / key), as a DC user of
// jira.js would do.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Version2Client } from 'jira.js';
import { startJiraDcEmulator, EMULATOR_ADMIN, type JiraDcEmulator } from './index.ts';

let emu: JiraDcEmulator;
let client: Version2Client;
before(async () => {
  emu = await startJiraDcEmulator({ groups: ['engineering'] });
  // Jira DC Basic auth is username:password; jira.js calls the pair email/apiToken.
  client = new Version2Client({ host: emu.url, authentication: { basic: { email: EMULATOR_ADMIN.username, apiToken: EMULATOR_ADMIN.password } } });
});
after(() => emu.close());

// jira.js's sendRequest overloads want a callback or `never`; this is the promise form.
const send = <T>(config: Parameters<Version2Client['sendRequest']>[0]) => client.sendRequest<T>(config, undefined as never);

test('jira.js reads the server and the caller', async () => {
  const info = await client.serverInfo.getServerInfo();
  assert.equal(info.baseUrl, emu.url);
  assert.deepEqual(info.versionNumbers?.slice(0, 1), [9]);
  const me = await client.myself.getCurrentUser();
  assert.equal(me.name, 'admin');
});

test('jira.js creates, reads and updates a user; the emulator holds the result', async () => {
  // jira.js's typed createUser sends no displayName (a Cloud shape); DC requires one and says so.
  await assert.rejects(client.users.createUser({ name: 'carol', emailAddress: 'carol@example.com' }), (e: any) => {
    assert.equal(e.status, 400);
    assert.match(JSON.stringify(e.response), /full name/);
    return true;
  });

  const created = await send<{ key: string; name: string }>({
    url: '/rest/api/2/user',
    method: 'POST',
    data: { name: 'carol', displayName: 'Carol Danvers', emailAddress: 'carol@example.com', password: 'pw' },
  });
  assert.match(created.key, /^JIRAUSER/);

  const read = await send<{ key: string; displayName: string }>({ url: '/rest/api/2/user', method: 'GET', params: { username: 'carol' } });
  assert.equal(read.key, created.key);

  await send({ url: '/rest/api/2/user', method: 'PUT', params: { key: created.key }, data: { displayName: 'Carol D.', emailAddress: 'cd@example.com' } });
  const stored = emu.inspect(created.key)!;
  assert.deepEqual([stored.displayName, stored.emailAddress, stored.name], ['Carol D.', 'cd@example.com', 'carol']);

  await assert.rejects(send({ url: '/rest/api/2/user', method: 'GET', params: { username: 'nobody' } }), (e: any) => {
    assert.equal(e.status, 404);
    assert.deepEqual(e.response?.errorMessages ?? e.response?.data?.errorMessages, ["The user named 'nobody' does not exist"]);
    return true;
  });
});

test('jira.js sets and reads a user property', async () => {
  await send({ url: '/rest/api/2/user/properties/costCenter', method: 'PUT', params: { username: 'carol' }, data: { cc: 'CC-7' } });
  const prop = await client.userProperties.getUserProperty({ propertyKey: 'costCenter', username: 'carol' });
  assert.deepEqual(prop.value, { cc: 'CC-7' });
  const keys = await client.userProperties.getUserPropertyKeys({ username: 'carol' });
  assert.deepEqual(keys.keys?.map((k) => k.key), ['costCenter']);
  assert.deepEqual(emu.inspect('carol')!.properties, { costCenter: { cc: 'CC-7' } });
});

test('jira.js adds a user to a group and lists the members', async () => {
  const group = await client.groups.addUserToGroup({ groupName: 'engineering', name: 'carol' });
  assert.equal(group.name, 'engineering');
  assert.ok(emu.inspect('carol')!.groups.includes('engineering'), "emu.inspect('carol')!.groups.includes('engineering')");
  const members = await client.groups.getUsersFromGroup({ groupname: 'engineering' });
  assert.deepEqual(members.values?.map((u) => u.name), ['carol']);
  const created = await client.groups.createGroup({ name: 'design' });
  assert.equal(created.name, 'design');
  const found = await client.groups.findGroups({ query: 'desi' });
  assert.deepEqual(found.groups?.map((g) => g.name), ['design']);
});
