// The emulator's delta queries against the documented behaviour (docs/protocol-facts.md "Delta").
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from 'undici';
import { rawCaller } from './raw-client.ts';
import { startGraphEmulator, DEFAULT_GRAPH_CLIENT, type GraphEmulator } from './index.ts';
import { generateOrg } from '../org/index.ts';

let emu: GraphEmulator;
let agent: Agent;
let token: string;
const org = generateOrg({ users: 230, seed: 31 });
// A group bigger than one members@delta object (membersPerObject: 40) and than a page.
const big = org.groups[0]!;
big.members = org.users.slice(0, 130).map((u) => u.id);

before(async () => {
  emu = await startGraphEmulator({ org, delta: { pageSize: 50, membersPerObject: 40 } });
  agent = new Agent({ connect: { ca: emu.ca } });
  const r = await call(`/${emu.tenantId}/oauth2/v2.0/token`, {
    method: 'POST',
    auth: null,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: DEFAULT_GRAPH_CLIENT.clientId, client_secret: DEFAULT_GRAPH_CLIENT.clientSecret, scope: 'https://graph.microsoft.com/.default' }).toString(),
  });
  token = r.body.access_token;
});
after(async () => {
  await agent.close();
  await emu.close();
});

const call = rawCaller({ url: () => emu.url, agent: () => agent, token: () => token });

const control = (path: string, method = 'POST', body?: unknown) =>
  call(`/_emulator${path}`, { method, auth: null, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });

/** Follows a round from `url` to its deltaLink; every page has exactly one of the two links. */
async function round(url: string, headers: Record<string, string> = {}) {
  const objects: any[] = [];
  let pages = 0;
  for (let next: string = url; ; ) {
    const r = await call(next, { headers });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    pages++;
    const hasNext = '@odata.nextLink' in r.body;
    const hasDelta = '@odata.deltaLink' in r.body;
    assert.ok(hasNext !== hasDelta, 'a page carries either a nextLink or a deltaLink, never both or neither');
    objects.push(...r.body.value);
    if (hasDelta) return { objects, pages, deltaLink: r.body['@odata.deltaLink'] as string };
    next = r.body['@odata.nextLink'];
    assert.match(next, /\$skiptoken=/);
  }
}

test('initial round: every user once, the selected properties only, paged with skiptokens, ending in a deltaLink', async () => {
  const r = await round('/v1.0/users/delta?$select=displayName,department,manager');
  assert.equal(r.pages, Math.ceil(org.users.length / 50));
  assert.deepEqual(r.objects.map((u) => u.id).sort(), org.users.map((u) => u.id).sort());
  const sample = r.objects.find((u) => u.id === org.users[5]!.id);
  assert.deepEqual(Object.keys(sample).filter((k) => k !== 'manager@delta').sort(), ['department', 'displayName', 'id']);
  const withManager = r.objects.find((u) => u.id === org.users.find((x) => x.managerId)!.id);
  assert.deepEqual(withManager['manager@delta'], [{ '@odata.type': '#microsoft.graph.user', id: org.users.find((x) => x.managerId)!.managerId }]);
  assert.match(r.deltaLink, /\/v1\.0\/users\/delta\?\$deltatoken=/);
  // Nothing changed: the deltaLink gives an empty round and a new deltaLink.
  const again = await round(r.deltaLink);
  assert.equal(again.objects.length, 0);
});

test('changes: only tracked properties count; soft delete, restore, hard delete, manager; Prefer: return=minimal', async () => {
  const start = await round('/v1.0/users/delta?$deltatoken=latest&$select=displayName,department,manager');
  assert.equal(start.objects.length, 0, '$deltatoken=latest returns no objects');
  const [a, b, c, d, e] = org.users.slice(40, 45).map((u) => u.id);
  await control(`/users/${a}`, 'PATCH', { department: 'Delta Dept' });
  await control(`/users/${b}`, 'PATCH', { jobTitle: 'untracked change' });
  await control(`/users/${c}/soft-delete`);
  await control(`/users/${d}`, 'DELETE');
  assert.equal((await control(`/users/${e}/manager`, 'PUT', { managerId: a })).status, 204);
  const r = await round(start.deltaLink);
  const byId = new Map(r.objects.map((o) => [o.id, o]));
  assert.equal(byId.get(a).department, 'Delta Dept');
  assert.ok(!byId.has(b), 'a change to a property that is not selected produces no entry');
  assert.deepEqual(byId.get(c)['@removed'], { reason: 'changed' });
  assert.deepEqual(byId.get(d)['@removed'], { reason: 'deleted' });
  assert.deepEqual(byId.get(e)['manager@delta'], [{ '@odata.type': '#microsoft.graph.user', id: a }]);
  assert.equal(r.objects.length, 4);

  await control(`/users/${c}/restore`);
  await control(`/users/${a}`, 'PATCH', { displayName: 'Renamed Delta' });
  const previousManager = a;
  await control(`/users/${e}/manager`, 'PUT', { managerId: null });
  const minimal = await round(r.deltaLink, { prefer: 'return=minimal' });
  const m = new Map(minimal.objects.map((o) => [o.id, o]));
  assert.ok(m.has(c) && !('@removed' in m.get(c)), 'a restored user comes back without annotation');
  assert.deepEqual(m.get(a), { id: a, displayName: 'Renamed Delta' }, 'minimal: only the changed property');
  assert.deepEqual(m.get(e)['manager@delta'], [{ '@odata.type': '#microsoft.graph.user', id: previousManager, '@removed': { reason: 'deleted' } }]);
});

test('groups: members@delta split over repeated group objects, then added and removed members', async () => {
  const r = await round('/v1.0/groups/delta?$select=displayName,members');
  const parts = r.objects.filter((g) => g.id === big.id);
  assert.ok(parts.length >= 4, `the group of 130 members is repeated in objects of at most 40 (got ${parts.length})`);
  const members = parts.flatMap((p) => p['members@delta'].map((m: any) => m.id));
  assert.deepEqual(members.sort(), [...big.members].sort());
  const outsider = org.users[200]!.id;
  await control(`/groups/${big.id}/members`, 'POST', { add: [outsider], remove: [org.users[0]!.id] });
  const changes = await round(r.deltaLink);
  assert.equal(changes.objects.length, 1);
  assert.deepEqual(changes.objects[0]['members@delta'], [
    { '@odata.type': '#microsoft.graph.user', id: org.users[0]!.id, '@removed': { reason: 'deleted' } },
    { '@odata.type': '#microsoft.graph.user', id: outsider },
  ]);
  assert.equal(changes.objects[0].displayName, big.displayName);
});

test('refused and limited query options, with Graph error bodies', async () => {
  for (const q of ['$top=5', '$expand=manager', '$orderby=displayName']) {
    const r = await call(`/v1.0/users/delta?${q}`);
    assert.equal(r.status, 400, q);
    assert.equal(r.body.error.code, 'Request_BadRequest');
  }
  const skills = await call('/v1.0/users/delta?$select=displayName,skills');
  assert.equal(skills.status, 501);
  assert.equal(skills.body.error.code, 'NotImplemented');
  assert.equal((await call("/v1.0/users/delta?$filter=department eq 'x'")).status, 400);
  const ids = org.users.slice(0, 3).map((u) => u.id);
  const only = await round(`/v1.0/users/microsoft.graph.delta?$filter=${encodeURIComponent(ids.map((id) => `id eq '${id}'`).join(' or '))}`);
  assert.deepEqual(only.objects.map((u) => u.id).sort(), [...ids].sort());
  const tooMany = Array.from({ length: 51 }, (_, i) => `id eq '${org.users[i]!.id}'`).join(' or ');
  assert.equal((await call(`/v1.0/users/delta?$filter=${encodeURIComponent(tooMany)}`)).status, 400);
  const forged = await call('/v1.0/users/delta?$deltatoken=bm90LWEtdG9rZW4.abc');
  assert.equal(forged.status, 400);
});

test('expiry: syncStateNotFound, resyncRequired, 410 Gone with Location, and 7 days of emulated time', async () => {
  const fresh = async () => (await round('/v1.0/users/delta?$deltatoken=latest&$select=displayName')).deltaLink;
  let link = await fresh();
  await control('/delta/expire', 'POST', {});
  let r = await call(link);
  assert.equal(r.status, 400);
  assert.equal(r.body.error.code, 'syncStateNotFound');

  link = await fresh();
  await control('/delta/expire', 'POST', { answer: 'resyncRequired' });
  r = await call(link);
  assert.equal(r.body.error.code, 'resyncRequired');

  link = await fresh();
  await control('/delta/expire', 'POST', { answer: 'gone' });
  r = await call(link);
  assert.equal(r.status, 410);
  const location = r.headers.get('location')!;
  assert.match(location, /\/v1\.0\/users\/delta\?\$select=displayName$/);
  assert.equal((await round(location)).objects.length, emu.directory.org.users.length, 'the Location starts a new initial round of every user');

  link = await fresh();
  assert.equal((await call(link)).status, 200, 'a fresh token works');
  await control('/clock', 'POST', { advanceMs: 7 * 24 * 3600 * 1000 + 1000 });
  r = await call(link);
  assert.equal(r.body.error.code, 'syncStateNotFound', 'a token older than 7 days has expired');
});

test('a deleted group is @removed in the groups delta; a property not selected changes nothing', async () => {
  const start = await round('/v1.0/groups/delta?$deltatoken=latest&$select=displayName,members');
  const gone = emu.directory.org.groups.at(-1)!;
  assert.equal((await control(`/groups/${gone.id}`, 'DELETE')).status, 204);
  assert.equal((await control(`/groups/${gone.id}`, 'DELETE')).status, 404);
  const r = await round(start.deltaLink);
  assert.deepEqual(r.objects, [{ id: gone.id, '@removed': { reason: 'deleted' } }]);
  const unknown = await control(`/groups/${emu.directory.org.groups[1]!.id}/members`, 'POST', { add: ['00000000-0000-0000-0000-000000000000'] });
  assert.equal(unknown.status, 404, 'adding an object that does not exist is refused');
});
