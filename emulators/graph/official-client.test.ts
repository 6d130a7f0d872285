// Fidelity check: the official @microsoft/microsoft-graph-client (v3) drives the emulator
// and must see exactly what the emulator holds. The client only attaches the token over
// https to hosts in customHosts, so this also proves the TLS + auth wiring.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from 'undici';
import { Client, PageIterator, GraphError } from '@microsoft/microsoft-graph-client';
import { startGraphEmulator, DEFAULT_GRAPH_CLIENT, type GraphEmulator } from './index.ts';
import { generateOrg } from '../org/index.ts';

const org = generateOrg({ users: 260, seed: 5 });
let emu: GraphEmulator;
let agent: Agent;
let client: Client;
let tokenRequests = 0;

before(async () => {
  emu = await startGraphEmulator({ org });
  agent = new Agent({ connect: { ca: emu.ca } });
  const fetchOptions = { dispatcher: agent } as never;
  let token: string | undefined;
  client = Client.init({
    baseUrl: `${emu.url}/`,
    defaultVersion: 'v1.0',
    customHosts: new Set(['127.0.0.1']),
    fetchOptions,
    authProvider: (done) => {
      const get = async () => {
        if (token) return token;
        tokenRequests++;
        const res = await fetch(`${emu.url}/${emu.tenantId}/oauth2/v2.0/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ grant_type: 'client_credentials', client_id: DEFAULT_GRAPH_CLIENT.clientId, client_secret: DEFAULT_GRAPH_CLIENT.clientSecret, scope: 'https://graph.microsoft.com/.default' }),
          dispatcher: agent,
        } as RequestInit);
        token = ((await res.json()) as { access_token: string }).access_token;
        return token;
      };
      get().then((t) => done(null, t), (e) => done(e, null));
    },
  });
});
after(async () => {
  await agent.close();
  await emu.close();
});

test('PageIterator walks every page of /users and sees the emulator data', async () => {
  const first = await client.api('/users').select(['id', 'displayName', 'userPrincipalName']).top(50).get();
  const seen: Array<{ id: string; displayName: string; userPrincipalName: string }> = [];
  const it = new PageIterator(client, first, (u) => {
    seen.push(u as never);
    return true;
  });
  await it.iterate();
  assert.equal(seen.length, org.users.length);
  assert.deepEqual(seen.map((u) => u.id), org.users.map((u) => u.id));
  assert.deepEqual(seen.map((u) => u.userPrincipalName), org.users.map((u) => u.userPrincipalName));
  assert.equal(tokenRequests, 1);
});

test('get a user (also by #EXT# UPN), a manager, and the documented 404 for a missing manager', async () => {
  const u = org.users[17]!;
  const got = await client.api(`/users/${u.id}`).select('id,department,jobTitle').get();
  assert.deepEqual(got.department, u.department);
  assert.deepEqual(got.jobTitle, u.jobTitle);
  const guest = org.users.find((x) => x.userType === 'Guest')!;
  assert.equal((await client.api(`/users/${encodeURIComponent(guest.userPrincipalName)}`).get()).id, guest.id);
  const manager = await client.api(`/users/${u.id}/manager`).get();
  assert.equal(manager.id, u.managerId);
  assert.equal(manager['@odata.type'], '#microsoft.graph.user');
  await assert.rejects(client.api(`/users/${org.users[0]!.id}/manager`).get(), (e: unknown) => {
    assert.ok(e instanceof GraphError, 'e instanceof GraphError');
    assert.equal(e.statusCode, 404);
    assert.equal(e.code, 'Request_ResourceNotFound');
    assert.match(e.message, /Resource 'manager' does not exist/);
    return true;
  });
});

test('filter and count with the advanced-query header through the SDK', async () => {
  const res = await client.api('/users').header('ConsistencyLevel', 'eventual').count(true).filter('accountEnabled eq false').select('id').get();
  const expected = org.users.filter((u) => !u.accountEnabled).map((u) => u.id);
  assert.equal(res['@odata.count'], expected.length);
  assert.deepEqual(res.value.map((u: { id: string }) => u.id), expected);
});

test('delta through the SDK: nextLinks to the deltaLink, then the deltaLink returns exactly the change', async () => {
  let res = await client.api('/users/delta').select(['displayName', 'department']).get();
  const seen = new Set<string>();
  while (res['@odata.nextLink']) {
    assert.ok(!res['@odata.deltaLink'], 'never both links on one page');
    for (const u of res.value) seen.add(u.id);
    res = await client.api(res['@odata.nextLink']).get();
  }
  for (const u of res.value) seen.add(u.id);
  assert.equal(seen.size, emu.directory.org.users.length);
  const deltaLink: string = res['@odata.deltaLink'];
  assert.ok(deltaLink, 'the last page carries the deltaLink');
  const target = emu.directory.org.users[3]!;
  emu.directory.updateUser(target.id, { department: 'Changed by delta test' });
  emu.directory.updateUser(emu.directory.org.users[4]!.id, { city: 'not selected' });
  const changes = await client.api(deltaLink).get();
  assert.deepEqual(changes.value, [{ id: target.id, displayName: target.displayName, department: 'Changed by delta test' }]);
  assert.ok(changes['@odata.deltaLink'], 'a short round ends on its first page');
  // An expired token surfaces as the SDK's GraphError with Graph's code.
  emu.delta.expireAll();
  await assert.rejects(client.api(changes['@odata.deltaLink']).get(), (e: unknown) => {
    assert.ok(e instanceof GraphError, 'e instanceof GraphError');
    assert.equal(e.code, 'syncStateNotFound');
    return true;
  });
});
