// Fidelity check: Keycloak's official admin client (@keycloak/keycloak-admin-client) drives
// the emulator: the client-credentials token, users paged with first/max and their
// multi-valued attributes, a user's groups with their paths, the group tree, the count.
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

test('a wrong secret is refused at the token endpoint; a client without view-users gets 403', async () => {
  await assert.rejects(signedIn({ ...DEFAULT_KEYCLOAK_CLIENT, secret: 'wrong' }), (e: { response?: { status?: number } }) => e.response?.status === 401);
  const kc = await signedIn(NO_ROLE_KEYCLOAK_CLIENT);
  await assert.rejects(kc.users.find({ max: 1 }), (e: { response?: { status?: number } }) => e.response?.status === 403);
});
