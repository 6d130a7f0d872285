// Fidelity check: Okta's official Node SDK (@okta/okta-sdk-nodejs) drives the emulator and
// must see what the emulator holds: Link-header paging, one user by id and by login, groups
// both ways, the user schema, and both of its authorisation modes (SSWS API token, and a
// service app's private_key_jwt signed with a key the emulator verifies).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import okta from '@okta/okta-sdk-nodejs';
import { generateOrg } from '../org/index.ts';
import { DEFAULT_OKTA_TOKENS, startOktaEmulator, type OktaEmulator } from './index.ts';

const org = generateOrg({ users: 230, seed: 5 });
const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const privatePem = keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const publicPem = keys.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
let emu: OktaEmulator;

before(async () => {
  // The SDK's fetch takes no extra CA, so this check runs over plain http on loopback.
  emu = await startOktaEmulator({
    org,
    tls: false,
    apiTokens: [
      { token: DEFAULT_OKTA_TOKENS.readOnlyAdmin, scopes: ['okta.users.read', 'okta.groups.read', 'okta.schemas.read'] },
      { token: DEFAULT_OKTA_TOKENS.noAdminRole, scopes: [] },
    ],
    apps: [{ clientId: '0oaemulatorserviceapp', publicKey: publicPem, keyId: 'key-1', granted: ['okta.users.read', 'okta.groups.read'] }],
  });
});
after(async () => {
  await emu.close();
});

const sdk = (token: string) => new okta.Client({ orgUrl: emu.url, token, cacheMiddleware: null as never });

async function all<T>(collection: AsyncIterable<T | null>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of collection) if (x !== null) out.push(x);
  return out;
}

test('listUsers follows the Link rel="next" pages: every non-deprovisioned user once, in id order', async () => {
  emu.resetStats();
  const users = await all(await sdk(DEFAULT_OKTA_TOKENS.readOnlyAdmin).userApi.listUsers({ limit: 50 }));
  assert.equal(users.length, org.users.length);
  assert.equal(new Set(users.map((u) => u.id)).size, org.users.length, 'no user twice');
  assert.deepEqual(users.map((u) => u.profile?.login).sort(), org.users.map((u) => u.userPrincipalName).sort());
  assert.equal(emu.stats.byRoute['GET /api/v1/users'], Math.ceil(org.users.length / 50), 'one request per page of 50');
});

test('search and filter expressions reach the emulator as Okta documents them', async () => {
  const client = sdk(DEFAULT_OKTA_TOKENS.readOnlyAdmin);
  const dept = org.users.find((u) => u.department)!.department!;
  const found = await all(await client.userApi.listUsers({ search: `profile.department eq "${dept}"` }));
  assert.deepEqual(found.map((u) => u.profile?.login).sort(), org.users.filter((u) => u.department === dept).map((u) => u.userPrincipalName).sort());
  const suspended = await all(await client.userApi.listUsers({ filter: 'status eq "SUSPENDED"' }));
  assert.equal(suspended.length, org.users.filter((u) => !u.accountEnabled).length, 'disabled sample users are SUSPENDED');
  await assert.rejects(all(await client.userApi.listUsers({ filter: `profile.department eq "${dept}"` })), (e: { status?: number; errorCode?: string }) => e.status === 400 && e.errorCode === 'E0000031', 'filter refuses what only search supports');
});

test('getUser by id and by login; an unknown user is 404 E0000007', async () => {
  const client = sdk(DEFAULT_OKTA_TOKENS.readOnlyAdmin);
  const sample = org.users[3]!;
  const byLogin = await client.userApi.getUser({ userId: sample.userPrincipalName });
  const byId = await client.userApi.getUser({ userId: byLogin.id! });
  assert.equal(byId.profile?.login, sample.userPrincipalName);
  assert.equal(byId.profile?.displayName, sample.displayName);
  const manager = org.users.find((u) => u.id === sample.managerId);
  if (manager) assert.equal(byId.profile?.managerId, emu.directory.idOf(manager.id), 'managerId is the Okta id of the manager');
  await assert.rejects(client.userApi.getUser({ userId: 'nobody@example.com' }), (e: { status?: number; errorCode?: string }) => e.status === 404 && e.errorCode === 'E0000007');
});

test('groups: list, members of a group, groups of a user', async () => {
  const client = sdk(DEFAULT_OKTA_TOKENS.readOnlyAdmin);
  const groups = await all(await client.groupApi.listGroups({}));
  assert.ok(groups.some((g) => g.type === 'BUILT_IN' && g.profile?.name === 'Everyone'), 'the built-in Everyone group');
  const sampleGroup = org.groups.find((g) => g.members.filter((m) => org.users.some((u) => u.id === m)).length > 3)!;
  const group = groups.find((g) => g.profile?.name === sampleGroup.displayName)!;
  const members = await all(await client.groupApi.listGroupUsers({ groupId: group.id!, limit: 2 }));
  const expected = sampleGroup.members.filter((m) => org.users.some((u) => u.id === m)).map((m) => emu.directory.idOf(m));
  assert.deepEqual(members.map((u) => u.id).sort(), expected.sort(), 'direct user members, across pages of 2');
  const userGroups = await all(await client.userApi.listUserGroups({ userId: expected[0]! }));
  assert.ok(userGroups.some((g) => g.id === group.id), 'the member lists the group among its groups');
});

test('the user schema lists base and custom attributes', async () => {
  const schema = await sdk(DEFAULT_OKTA_TOKENS.readOnlyAdmin).schemaApi.getUserSchema({ schemaId: 'default' });
  const custom = Object.keys(schema.definitions?.custom?.properties ?? {});
  assert.ok(custom.includes('officeLocation') && custom.includes('emailAliases'), `custom attributes: ${custom.join(', ')}`);
  assert.ok(Object.keys(schema.definitions?.base?.properties ?? {}).includes('managerId'), 'the schema lists managerId');
});

test('a wrong token is 401 E0000011; a token without an admin role is 403 E0000006', async () => {
  await assert.rejects(all(await sdk('00wrongtoken').userApi.listUsers({})), (e: { status?: number; errorCode?: string }) => e.status === 401 && e.errorCode === 'E0000011');
  await assert.rejects(all(await sdk(DEFAULT_OKTA_TOKENS.noAdminRole).userApi.listUsers({})), (e: { status?: number; errorCode?: string }) => e.status === 403 && e.errorCode === 'E0000006');
});

test('OAuth 2.0 service app: the SDK signs a private_key_jwt, the emulator verifies it and grants the scopes', async () => {
  const client = new okta.Client({ orgUrl: emu.url, authorizationMode: 'PrivateKey', clientId: '0oaemulatorserviceapp', scopes: ['okta.users.read'], privateKey: privatePem, keyId: 'key-1', cacheMiddleware: null as never });
  const users = await all(await client.userApi.listUsers({ limit: 200 }));
  assert.equal(users.length, org.users.length);
  assert.equal(emu.auth.tokensIssued, 1, 'one token for the whole listing');
  await assert.rejects(all(await client.groupApi.listGroups({})), (e: { status?: number }) => e.status === 403, 'okta.groups.read was not requested: 403');
  const forged = new okta.Client({ orgUrl: emu.url, authorizationMode: 'PrivateKey', clientId: '0oaemulatorserviceapp', scopes: ['okta.users.read'], privateKey: other, keyId: 'key-1', cacheMiddleware: null as never });
  await assert.rejects(all(await forged.userApi.listUsers({})), (e: { status?: number; message?: string }) => e.status === 401, 'a key other than the registered one is refused');
});
