// Group memberships read per user and per group give the same groups; `auto` takes the one that
// needs fewer requests, measured at the emulator (both ways round); the group-centric read walks
// sub-groups through /children and pages member lists with first/max.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateOrg } from '../../../emulators/org/index.ts';
import { DEFAULT_KEYCLOAK_CLIENT, startKeycloakEmulator, type KeycloakEmulator } from '../../../emulators/keycloak/index.ts';
import type { SourceQuery, SourceUser } from '../../core/types.ts';
import { definition, KeycloakSource } from './index.ts';
import { MEMBERS_PER_PAGE } from './memberships.ts';

const SECRET_ENV = 'IDSYNC_TEST_KEYCLOAK_MEMBERSHIPS_SECRET';
const withGroups: SourceQuery = { attributes: [], groups: true, manager: false };

function source(emu: KeycloakEmulator, over: Record<string, unknown> = {}): KeycloakSource {
  process.env[SECRET_ENV] = DEFAULT_KEYCLOAK_CLIENT.secret;
  const config = definition.configSchema.parse({ type: 'keycloak', url: emu.url, realm: emu.realmName, clientId: DEFAULT_KEYCLOAK_CLIENT.clientId, clientSecret: { env: SECRET_ENV }, ...over });
  return definition.create(config, { ca: emu.ca, fastRetries: true }) as KeycloakSource;
}

/** Every user's groups (sorted), the requests the listing made, and the strategy it took. */
async function read(emu: KeycloakEmulator, over: Record<string, unknown> = {}) {
  const s = source(emu, over);
  const before = emu.stats.requests;
  const users: SourceUser[] = [];
  try {
    for await (const p of s.listUsers(withGroups)) users.push(...p.users);
  } finally {
    await s.close();
  }
  const groups = new Map(users.map((u) => [u.id, [...(u.groups ?? [])].sort()]));
  return { groups, requests: emu.stats.requests - before, strategy: s.lastMembershipStrategy, routes: { ...emu.stats.byRoute } };
}

function expectedGroups(emu: KeycloakEmulator, path: boolean): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const id of emu.realm.users.keys()) out.set(id, emu.realm.groupsOf(id).map((g) => (path ? emu.realm.path(g) : g.name)).sort());
  return out;
}

test('many users, fewer groups: per group, with the same groups as per user, in fewer requests', { timeout: 60_000 }, async () => {
  const emu = await startKeycloakEmulator({ org: generateOrg({ users: 1200, seed: 3 }) });
  try {
    const auto = await read(emu);
    const perUser = await read(emu, { membershipStrategy: 'perUser' });
    const perGroup = await read(emu, { membershipStrategy: 'perGroup' });
    assert.equal(auto.strategy, 'perGroup', 'auto reads per group');
    assert.deepEqual(perGroup.groups, perUser.groups, 'both ways give every user the same groups');
    assert.deepEqual(auto.groups, expectedGroups(emu, false), 'and they are the realm\'s direct memberships');
    assert.ok(perGroup.requests < perUser.requests, `per group needs fewer requests: ${perGroup.requests} vs ${perUser.requests}`);
    assert.equal(auto.requests, perGroup.requests + 1, 'auto costs one request more (/groups/count)');
    // A group larger than a member page is read in several pages.
    const big = [...emu.realm.groups.values()].find((g) => g.members.length > MEMBERS_PER_PAGE);
    assert.ok(big, 'the org has a group larger than a member page');
    assert.ok(big.members.every((m) => auto.groups.get(m)?.includes(big.name)), `every member of ${big.name} (${big.members.length}) has it`);
  } finally {
    await emu.close();
  }
});

test('few users, many groups: per user, in fewer requests', { timeout: 60_000 }, async () => {
  const emu = await startKeycloakEmulator({ org: generateOrg({ users: 10, seed: 3 }) });
  try {
    const auto = await read(emu);
    const perGroup = await read(emu, { membershipStrategy: 'perGroup' });
    assert.equal(auto.strategy, 'perUser', 'auto reads per user');
    assert.deepEqual(auto.groups, perGroup.groups, 'both ways give every user the same groups');
    assert.ok(auto.requests < perGroup.requests, `per user needs fewer requests: ${auto.requests} vs ${perGroup.requests}`);
  } finally {
    await emu.close();
  }
});

test('per group: sub-groups through /children (Keycloak 23+), full paths, required groups applied', { timeout: 60_000 }, async () => {
  const emu = await startKeycloakEmulator({ org: generateOrg({ users: 300, seed: 4 }) });
  try {
    const nested = [...emu.realm.groups.values()].find((g) => g.parentId && g.members.length > 1 && g.members.length < 100);
    assert.ok(nested, 'a sub-group with members');
    const r = await read(emu, { membershipStrategy: 'perGroup', groupNames: 'path' });
    assert.ok(Object.entries(r.routes).some(([k, n]) => k.endsWith('/groups/:id/children') && n > 0), 'sub-groups were listed through /children');
    assert.deepEqual(r.groups, expectedGroups(emu, true), 'every user\'s groups, sub-groups by their full path');
    assert.ok(nested.members.every((m) => r.groups.get(m)?.includes(emu.realm.path(nested))), 'the sub-group\'s members have it');

    for (const membershipStrategy of ['perGroup', 'perUser', 'auto']) {
      const only = await read(emu, { membershipStrategy, requiredGroups: [emu.realm.path(nested)] });
      assert.deepEqual([...only.groups.keys()].sort(), [...nested.members].sort(), `${membershipStrategy}: only the required group's members`);
      for (const [id, groups] of only.groups) assert.deepEqual(groups, expectedGroups(emu, false).get(id), `${membershipStrategy}: ${id} keeps all its groups`);
    }
  } finally {
    await emu.close();
  }
});

test('per group: a failed member read fails the listing instead of reading as no members', { timeout: 60_000 }, async () => {
  const emu = await startKeycloakEmulator({ org: generateOrg({ users: 50, seed: 4 }) });
  try {
    emu.setFaults({ script: [{ pattern: '/groups/[^/]+/members', status: 500, times: 100_000, skip: 3 }] });
    await assert.rejects(read(emu, { membershipStrategy: 'perGroup' }), /500|Keycloak/, 'the listing fails');
  } finally {
    await emu.close();
  }
});
