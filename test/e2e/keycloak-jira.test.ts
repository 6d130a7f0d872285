// End to end through the real Keycloak source against the Keycloak and Jira DC emulators:
// Test connection (right, wrong secret, no view-users), a full sync with groups, an attribute
// and the manager (a username in the `manager` attribute), a single user found by the start of
// a name, a simulation, and a read failing part-way.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestStore } from '../helpers/stores.ts';
import type { SyncEngine } from '../../src/engine/engine.ts';
import type { ConnectorConfig } from '../../src/config/schema.ts';
import type { Json, MappingRule } from '../../src/core/types.ts';
import type { Org, OrgUser } from '../../emulators/org/types.ts';
import { DEFAULT_KEYCLOAK_CLIENT, NO_ROLE_KEYCLOAK_CLIENT, startKeycloakEmulator, type KeycloakEmulator } from '../../emulators/keycloak/index.ts';
import type { JiraDcEmulator } from '../../emulators/jira-dc/index.ts';
import { JIRA_DEFAULT_GROUP, e2eOrg, expectedGroups, expectedUsername, guestAddress, jiraTarget, resetJira, rule, startIdpAndJira, syncHooks } from './harness.ts';

const ORG_SIZE = 200;
const SECRET_ENV = 'IDSYNC_E2E_KEYCLOAK_SECRET';

function rules(): MappingRule[] {
  return [
    rule('user.username', '$lower($stripDomain($guestToMail(username)))', { whenEmpty: 'keep' }),
    rule('user.displayName', '$join([firstName, lastName], " ")', { whenEmpty: 'keep' }),
    rule('user.email', '$firstNonEmpty(email, $guestToMail(username))', { whenEmpty: 'keep' }),
    rule('user.active', 'enabled', { whenEmpty: 'keep' }),
    rule('groups', 'groups[$contains($, /^dept-/) or $ = "jira-users"]'),
    rule('property.department', 'attributes.department[0]'),
    rule('property.managerEmail', 'manager.email'),
    rule('property.managerUsername', 'manager.targetUsername'),
  ];
}

function expected(org: Org, u: OrgUser): { email: string; displayName: string; props: Record<string, Json> } {
  const manager = u.managerId ? org.users.find((m) => m.id === u.managerId) : undefined;
  const props: Record<string, Json | null | undefined> = { department: u.department, managerEmail: manager?.mail?.toLowerCase(), managerUsername: manager ? expectedUsername(manager) : undefined };
  return {
    email: u.mail?.toLowerCase() ?? (/#EXT#/i.test(u.userPrincipalName) ? guestAddress(u.userPrincipalName.toLowerCase()) : u.userPrincipalName.toLowerCase()),
    displayName: [u.givenName, u.surname].filter(Boolean).join(' '),
    props: Object.fromEntries(Object.entries(props).filter(([, v]) => v !== null && v !== undefined && v !== '')) as Record<string, Json>,
  };
}

describe('Keycloak → Jira DC end to end', () => {
  let kc: KeycloakEmulator;
  let jira: JiraDcEmulator;
  let t: TestStore | undefined;
  let engine: SyncEngine;
  const org = () => kc.realm.org;

  syncHooks({
    start: () => startIdpAndJira(ORG_SIZE, (org) => startKeycloakEmulator({ org })),
    async reset({ idp, jira }) {
      process.env[SECRET_ENV] = DEFAULT_KEYCLOAK_CLIENT.secret;
      idp.setFaults({ script: [], errorRate: 0 });
      idp.realm.replace(e2eOrg(ORG_SIZE));
      await resetJira(jira);
    },
    ca: ({ idp }) => idp.ca,
    ready: (w) => ({ env: { idp: kc, jira }, t, engine } = w),
  });

  const connector = (clientId = DEFAULT_KEYCLOAK_CLIENT.clientId): ConnectorConfig => ({
    id: 'keycloak-e2e',
    source: { type: 'keycloak', url: kc.url, realm: kc.realmName, clientId, clientSecret: { env: SECRET_ENV }, requiredGroups: [] },
    targets: [jiraTarget(jira, rules())],
  }) as ConnectorConfig;

  test('Test connection: right secret, wrong secret, a client without view-users', async () => {
    assert.ok((await engine.testConnection(connector())).source.ok, 'Test connection passes with the right client');
    process.env[SECRET_ENV] = 'wrong';
    const wrong = await engine.testConnection(connector());
    assert.equal(wrong.source.ok, false);
    assert.match(wrong.source.checks[0]!.message, /Credentials tab/);
    assert.ok(!JSON.stringify(wrong).includes(DEFAULT_KEYCLOAK_CLIENT.secret), 'the client secret is not in the answer');
    process.env[SECRET_ENV] = NO_ROLE_KEYCLOAK_CLIENT.secret;
    const noRole = await engine.testConnection(connector(NO_ROLE_KEYCLOAK_CLIENT.clientId));
    assert.equal(noRole.source.ok, false);
    assert.match(noRole.source.checks.find((c) => !c.ok)!.message, /view-users/);
  });

  test('a full sync creates every user with groups, an attribute and the manager; a second writes nothing', async () => {
    const r = await engine.run({ connector: connector(), kind: 'full', trigger: 'cli' });
    assert.equal(r.run.status, 'succeeded', r.run.error ?? '');
    assert.equal(r.run.counts.created, ORG_SIZE);
    for (const u of org().users) {
      const got = jira.inspect(expectedUsername(u));
      assert.ok(got, `${u.userPrincipalName} in Jira`);
      const e = expected(org(), u);
      assert.equal(got.displayName, e.displayName, `${got.name}: displayName`);
      assert.equal(got.emailAddress, e.email, `${got.name}: email`);
      assert.equal(got.active, u.accountEnabled, `${got.name}: active`);
      assert.deepEqual(got.groups.filter((g) => g !== JIRA_DEFAULT_GROUP).sort(), expectedGroups(org(), u), `${got.name}: groups`);
      assert.deepEqual(got.properties, e.props, `${got.name}: properties`);
    }
    jira.resetStats();
    const again = await engine.run({ connector: connector(), kind: 'full', trigger: 'cli' });
    assert.equal(again.run.counts.unchanged, ORG_SIZE);
    assert.equal(jira.stats.writes, 0);
  });

  test('single-user sync of a user found by the start of a name', async () => {
    const u = org().users.find((x) => x.accountEnabled && x.managerId && /^[A-Za-z]{4}/.test(x.givenName ?? ''))!;
    const start = u.givenName!.slice(0, 4).toLowerCase();
    const hits = await engine.searchUsers(connector(), start, 50);
    const hit = hits.find((h) => h.mail?.toLowerCase() === u.mail?.toLowerCase() || h.userPrincipalName?.toLowerCase() === u.userPrincipalName.toLowerCase());
    assert.ok(hit, `${u.userPrincipalName} found by "${start}" among ${hits.length} hits`);
    const r = await engine.run({ connector: connector(), kind: 'user', userRef: hit.id, trigger: 'cli' });
    assert.equal(r.run.status, 'succeeded', r.run.error ?? '');
    assert.equal(r.run.counts.created, 1, 'exactly the one user created');
    const got = jira.inspect(expectedUsername(u));
    assert.ok(got, `${u.userPrincipalName} in Jira`);
    assert.equal(got.displayName, expected(org(), u).displayName);
    assert.equal([...jira.store.allUsers()].filter((x) => !['admin', 'viewer'].includes(x.name)).length, 1, 'nobody else was written');
  });

  test('a simulation plans every creation and writes nothing', async () => {
    const dry = await engine.run({ connector: connector(), kind: 'full', trigger: 'cli', dryRun: true });
    assert.equal(dry.run.status, 'succeeded', dry.run.error ?? '');
    assert.equal(dry.run.counts.created, ORG_SIZE, 'every user planned as created');
    assert.equal(jira.stats.writes, 0, 'no write reached Jira');
    assert.equal([...jira.store.allUsers()].length, 2, 'only the built-in users');
    const real = await engine.run({ connector: connector(), kind: 'full', trigger: 'cli' });
    assert.equal(real.run.counts.created, dry.run.counts.created, 'the real run does what the simulation planned');
  });

  test('a read failing part-way fails the run and marks nobody missing', async () => {
    assert.equal((await engine.run({ connector: connector(), kind: 'full', trigger: 'cli' })).run.status, 'succeeded');
    kc.setFaults({ script: [{ method: 'GET', pattern: '^/admin/realms/[^/]+/users\\?(.*&)?first=[1-9]', status: 500, times: 1000 }] });
    const r = await engine.run({ connector: connector(), kind: 'full', trigger: 'cli' });
    assert.equal(r.run.status, 'failed');
    assert.equal(r.run.counts.missing, 0);
    for await (const page of t!.store.links.sourceIds('keycloak-e2e', 'jira')) for (const l of page) assert.equal(l.missingSince, null);
  });
});
