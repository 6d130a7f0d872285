// Fidelity check: Keycloak's official admin client (@keycloak/keycloak-admin-client) drives
// the emulator: the client-credentials token, users paged with first/max and their
// multi-valued attributes, a user's groups with their paths, the group tree, the count; the
// group-centric read: the group count, top-level groups without their sub-groups filled in
// (Keycloak 23+), sub-groups paged through /children, members paged with first/max.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import KcAdminClient from '@keycloak/keycloak-admin-client';
import { generateOrg } from '../org/index.ts';
import { DEFAULT_KEYCLOAK_CLIENT, NO_ROLE_KEYCLOAK_CLIENT, startKeycloakEmulator, type KeycloakEmulator } from './index.ts';

const org = generateOrg({ users: 140, seed: 5 });
let emu: KeycloakEmulator;

before(async () => {
  // The client's fetch takes no extra CA, so this check runs over plain http on loopback.
  emu = await startKeycloakEmulator({ org, tls: false });
});
after(async () => {
  await emu.close();
});

async function signedIn(client = DEFAULT_KEYCLOAK_CLIENT) {
  const kc = new KcAdminClient({ baseUrl: emu.url, realmName: emu.realmName });
  await kc.auth({ grantType: 'client_credentials', clientId: client.clientId, clientSecret: client.secret });
  return kc;
}

test('users paged with first/max: everyone once, with enabled, attributes and federation links', async () => {
  const kc = await signedIn();
  const seen = [];
  for (let first = 0; ; first += 50) {
    const page = await kc.users.find({ first, max: 50 });
    seen.push(...page);
    if (page.length < 50) break;
  }
  assert.equal(seen.length, org.users.length);
  assert.equal(await kc.users.count(), org.users.length);
  assert.equal(new Set(seen.map((u) => u.id)).size, org.users.length);
  const sample = org.users.find((u) => u.department && u.businessPhones.length)!;
  const got = seen.find((u) => u.id === sample.id)!;
  assert.equal(got.username, sample.userPrincipalName.toLowerCase());
  assert.equal(got.enabled, sample.accountEnabled);
  assert.deepEqual(got.attributes?.department, [sample.department]);
  assert.deepEqual(got.attributes?.phone, sample.businessPhones, 'multi-valued attributes are arrays');
  assert.equal(seen.filter((u) => u.federationLink).length, org.users.filter((u) => u.onPremisesSyncEnabled).length);
});

test('one user, a user\'s groups with paths, the group tree with sub-groups, search by prefix', async () => {
  const kc = await signedIn();
  const nested = [...emu.realm.groups.values()].find((g) => g.parentId && g.members.length)!;
  const member = nested.members[0]!;
  const user = await kc.users.findOne({ id: member });
  assert.equal(user?.id, member);
  const groups = await kc.users.listGroups({ id: member });
  const found = groups.find((g) => g.id === nested.id);
  assert.ok(found, 'the sub-group is among the user\'s groups');
  assert.equal(found.path, emu.realm.path(nested));
  assert.ok(found.path!.split('/').length > 2, 'a sub-group\'s path names its parent');
  const top = await kc.groups.find();
  assert.ok(top.every((g) => g.path === `/${g.name}`), 'the top level of the tree');
  const u = org.users.find((x) => x.givenName && /^[A-Za-z]{3}/.test(x.givenName))!;
  const hits = await kc.users.find({ search: u.givenName!.slice(0, 3) });
  assert.ok(hits.some((h) => h.id === u.id), 'the search finds the user');
  assert.equal(await kc.users.findOne({ id: '00000000-0000-4000-8000-000000000000' }), null, 'an unknown user is 404 (null for the client)');
});

test('groups as Keycloak 23+ serves them: counted, the top level without subGroups, children and members paged', async () => {
  const kc = await signedIn();
  const all = [...emu.realm.groups.values()];
  assert.deepEqual(await kc.groups.count(), { count: all.length }, 'every group, sub-groups included');
  assert.deepEqual(await kc.groups.count({ top: true }), { count: all.filter((g) => !g.parentId).length }, 'top: only top-level groups');

  const top = await kc.groups.find({ first: 0, max: 1000 });
  assert.equal(top.length, all.filter((g) => !g.parentId).length, 'the top level');
  const parent = top.find((g) => (g.subGroupCount ?? 0) > 0);
  assert.ok(parent, 'a top-level group with sub-groups');
  assert.ok(top.every((g) => (g.subGroups ?? []).length === 0), 'without a search, subGroups are not filled in');
  assert.ok(top.every((g) => g.attributes === undefined), 'the brief representation by default');
  const children = await kc.groups.listSubGroups({ parentId: parent.id!, first: 0, max: 100 });
  assert.deepEqual(children.map((c) => c.id).sort(), emu.realm.children(parent.id!).map((c) => c.id).sort(), 'its sub-groups through /children');
  assert.ok(children.every((c) => c.path === `${parent.path}/${c.name}`), 'with their paths');
  const searched = await kc.groups.find({ search: children[0]!.name });
  assert.ok(searched.find((g) => g.id === parent.id)?.subGroups?.some((c) => c.id === children[0]!.id), 'a search fills in the hierarchy down to the match');
  const one = await kc.groups.findOne({ id: parent.id! });
  assert.equal(one?.subGroupCount, children.length, 'one group: the count of its sub-groups');

  const big = all.reduce((a, b) => (b.members.length > a.members.length ? b : a));
  assert.ok(big.members.length > 30, 'a group with enough members to page');
  const firstPage = await kc.groups.listMembers({ id: big.id });
  assert.equal(firstPage.length, Math.min(100, big.members.length), 'members: 100 a page by default');
  const paged = [];
  for (let first = 0; ; first += 7) {
    const page = await kc.groups.listMembers({ id: big.id, first, max: 7, briefRepresentation: true });
    paged.push(...page);
    if (page.length < 7) break;
  }
  assert.deepEqual(paged.map((u) => u.id).sort(), [...big.members].sort(), 'paged with first/max: every direct member once');
  const usernames = paged.map((u) => u.username!);
  assert.deepEqual(usernames, [...usernames].sort(), 'ordered by username, so pages do not overlap');
  assert.ok(paged.every((u) => u.attributes === undefined), 'briefRepresentation leaves out attributes');
  assert.ok((await kc.groups.listMembers({ id: big.id, max: 1 }))[0]?.attributes, 'the full representation has them');
  assert.equal(await kc.groups.listMembers({ id: '00000000-0000-4000-8000-000000000000' }), null, 'an unknown group is 404 (null for the client)');
});

test('a wrong secret is refused at the token endpoint; a client without view-users gets 403', async () => {
  await assert.rejects(signedIn({ ...DEFAULT_KEYCLOAK_CLIENT, secret: 'wrong' }), (e: { response?: { status?: number } }) => e.response?.status === 401);
  const kc = await signedIn(NO_ROLE_KEYCLOAK_CLIENT);
  await assert.rejects(kc.users.find({ max: 1 }), (e: { response?: { status?: number } }) => e.response?.status === 403);
});
