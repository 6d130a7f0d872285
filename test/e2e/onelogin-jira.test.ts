// End to end through the real OneLogin source against the OneLogin and Jira DC emulators:
// Test connection (right, wrong secret, an "Authentication Only" credential), a full sync with
// roles as groups, a custom attribute and the manager (manager_user_id), a single user found
// by the start of a name, a simulation, a read failing part-way, and the hourly rate-limit
// floor ("keep at least N API calls per hour") honoured with a notice and without a 429.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestStore } from '../helpers/stores.ts';
import type { SyncEngine } from '../../src/engine/engine.ts';
import type { ConnectorConfig } from '../../src/config/schema.ts';
import type { Json, MappingRule } from '../../src/core/types.ts';
import type { Org, OrgUser } from '../../emulators/org/types.ts';
import { AUTH_ONLY_ONELOGIN_CREDENTIAL, DEFAULT_ONELOGIN_CREDENTIAL, startOneLoginEmulator, type OneLoginEmulator } from '../../emulators/onelogin/index.ts';
import type { JiraDcEmulator } from '../../emulators/jira-dc/index.ts';
import { JIRA_DEFAULT_GROUP, e2eOrg, expectedEmail, expectedGroups, expectedUsername, jiraTarget, resetJira, rule, startIdpAndJira, syncHooks } from './harness.ts';

const ORG_SIZE = 120;
const SECRET_ENV = 'IDSYNC_E2E_ONELOGIN_SECRET';

function rules(): MappingRule[] {
  return [
    rule('user.username', '$lower($stripDomain($guestToMail(username)))', { whenEmpty: 'keep' }),
    rule('user.displayName', 'displayName', { whenEmpty: 'keep' }),
    rule('user.email', '$guestToMail(email)', { whenEmpty: 'keep' }),
    rule('user.active', 'active', { whenEmpty: 'keep' }),
    rule('groups', 'groups[$contains($, /^dept-/) or $ = "jira-users"]'),
    rule('property.department', 'department'),
    rule('property.employeeId', 'custom_attributes.employee_id'),
    rule('property.managerEmail', 'manager.email'),
    rule('property.managerUsername', 'manager.targetUsername'),
  ];
}

function expected(org: Org, u: OrgUser): { displayName: string; props: Record<string, Json> } {
  const manager = u.managerId ? org.users.find((m) => m.id === u.managerId) : undefined;
  const props: Record<string, Json | null | undefined> = {
    department: u.department,
    employeeId: u.employeeId,
    managerEmail: manager ? (manager.mail ?? manager.userPrincipalName).toLowerCase() : undefined,
    managerUsername: manager ? expectedUsername(manager) : undefined,
  };
  return {
    displayName: [u.givenName, u.surname].filter(Boolean).join(' '),
    props: Object.fromEntries(Object.entries(props).filter(([, v]) => v !== null && v !== undefined && v !== '')) as Record<string, Json>,
  };
}

describe('OneLogin → Jira DC end to end', () => {
  let ol: OneLoginEmulator;
  let jira: JiraDcEmulator;
  let t: TestStore | undefined;
  let engine: SyncEngine;
  let notices: string[] = [];
  const org = () => ol.account.org;

  syncHooks({
    start: () => startIdpAndJira(ORG_SIZE, (org) => startOneLoginEmulator({ org })),
    async reset({ idp, jira }) {
      process.env[SECRET_ENV] = DEFAULT_ONELOGIN_CREDENTIAL.clientSecret;
      idp.setFaults({ script: [], errorRate: 0 });
      idp.setRateLimit({ limit: 5000, windowSeconds: 3600 });
      idp.account.replace(e2eOrg(ORG_SIZE));
      await resetJira(jira);
    },
    ca: ({ idp }) => idp.ca,
    context: { notice: (m) => notices.push(m) },
    ready(w) {
      ({ env: { idp: ol, jira }, t, engine } = w);
      notices = [];
    },
  });

  const connector = (over: Record<string, unknown> = {}): ConnectorConfig =>
    ({
      id: 'onelogin-e2e',
      source: { type: 'onelogin', baseUrl: ol.url, clientId: DEFAULT_ONELOGIN_CREDENTIAL.clientId, clientSecret: { env: SECRET_ENV }, requiredGroups: [], pageSize: 25, ...over },
      targets: [jiraTarget(jira, rules())],
    }) as ConnectorConfig;

  function assertInJira(u: OrgUser): void {
    const got = jira.inspect(expectedUsername(u));
    assert.ok(got, `${u.userPrincipalName} in Jira`);
    const e = expected(org(), u);
    assert.equal(got.displayName, e.displayName, `${got.name}: displayName`);
    assert.equal(got.emailAddress, expectedEmail(u).toLowerCase(), `${got.name}: email`);
    assert.equal(got.active, u.accountEnabled, `${got.name}: active`);
    assert.deepEqual(got.groups.filter((g) => g !== JIRA_DEFAULT_GROUP).sort(), expectedGroups(org(), u), `${got.name}: groups (OneLogin roles)`);
    assert.deepEqual(got.properties, e.props, `${got.name}: properties`);
  }

  test('Test connection: right credential, wrong secret, an Authentication Only credential', async () => {
    const ok = await engine.testConnection(connector());
    assert.ok(ok.source.ok, JSON.stringify(ok.source.checks));
    process.env[SECRET_ENV] = 'wrong';
    const wrong = await engine.testConnection(connector());
    assert.equal(wrong.source.ok, false, 'a wrong secret fails');
    assert.match(wrong.source.checks[0]!.message, /API Credentials/, 'says where to check the credential');
    assert.ok(!JSON.stringify(wrong).includes(DEFAULT_ONELOGIN_CREDENTIAL.clientSecret), 'the secret is never in the result');
    process.env[SECRET_ENV] = AUTH_ONLY_ONELOGIN_CREDENTIAL.clientSecret;
    const noScope = await engine.testConnection(connector({ clientId: AUTH_ONLY_ONELOGIN_CREDENTIAL.clientId }));
    assert.equal(noScope.source.ok, false, 'an Authentication Only credential cannot read users');
    assert.match(noScope.source.checks.find((c) => !c.ok)!.message, /Read users/, 'names the scope to give');
  });

  test('a full sync creates every user with roles as groups, a custom attribute and the manager; a second writes nothing', async () => {
    const r = await engine.run({ connector: connector(), kind: 'full', trigger: 'cli' });
    assert.equal(r.run.status, 'succeeded', r.run.error ?? '');
    assert.equal(r.run.counts.created, ORG_SIZE);
    assert.ok(org().users.some((u) => u.managerId && u.employeeId), 'the sample has managers and employee ids');
    for (const u of org().users) assertInJira(u);
    jira.resetStats();
    const again = await engine.run({ connector: connector(), kind: 'full', trigger: 'cli' });
    assert.equal(again.run.counts.unchanged, ORG_SIZE);
    assert.equal(jira.stats.writes, 0, 'no write reached Jira');
  });

  test('groups from OneLogin groups instead of roles: the department group', async () => {
    const mapping = [...rules().filter((x) => x.target !== 'groups'), rule('groups', 'groups')];
    const c = connector({ groupSource: 'groups' });
    c.targets[0]!.mapping = mapping;
    const r = await engine.run({ connector: c, kind: 'full', trigger: 'cli' });
    assert.equal(r.run.status, 'succeeded', r.run.error ?? '');
    const u = org().users.find((x) => x.department)!;
    assert.ok(jira.inspect(expectedUsername(u))!.groups.includes(u.department!), 'the OneLogin group (department) is a Jira group');
  });

  test('single-user sync of a user found by the start of a name', async () => {
    const u = org().users.find((x) => x.accountEnabled && x.managerId && /^[A-Za-z]{4}/.test(x.givenName ?? ''))!;
    const start = u.givenName!.slice(0, 4).toLowerCase();
    const hits = await engine.searchUsers(connector(), start, 50);
    const hit = hits.find((h) => h.userPrincipalName === u.userPrincipalName);
    assert.ok(hit, `${u.userPrincipalName} found by "${start}"`);
    const r = await engine.run({ connector: connector(), kind: 'user', userRef: hit.id, trigger: 'cli' });
    assert.equal(r.run.status, 'succeeded', r.run.error ?? '');
    assert.equal(r.run.counts.created, 1, 'exactly one user created');
    const got = jira.inspect(expectedUsername(u));
    assert.ok(got, 'the user is in Jira');
    assert.equal(got.properties.managerEmail, expected(org(), u).props.managerEmail, 'its manager read with it');
    assert.equal([...jira.store.allUsers()].filter((x) => !['admin', 'viewer'].includes(x.name)).length, 1, 'nobody else was written');
  });

  test('a simulation plans every creation and writes nothing', async () => {
    const dry = await engine.run({ connector: connector(), kind: 'full', trigger: 'cli', dryRun: true });
    assert.equal(dry.run.status, 'succeeded', dry.run.error ?? '');
    assert.equal(dry.run.counts.created, ORG_SIZE, 'every user planned as created');
    assert.equal(jira.stats.writes, 0, 'no write reached Jira');
    assert.equal([...jira.store.allUsers()].length, 2, 'only the built-in users');
  });

  test('a read failing part-way fails the run and marks nobody missing', async () => {
    assert.equal((await engine.run({ connector: connector(), kind: 'full', trigger: 'cli' })).run.status, 'succeeded');
    ol.setFaults({ script: [{ method: 'GET', pattern: '^/api/2/users\\?.*cursor=', status: 500, times: 100_000 }] });
    const r = await engine.run({ connector: connector(), kind: 'full', trigger: 'cli' });
    assert.equal(r.run.status, 'failed');
    assert.equal(r.run.counts.missing, 0, 'nobody marked missing');
    for await (const page of t!.store.links.sourceIds('onelogin-e2e', 'jira')) for (const l of page) assert.equal(l.missingSince, null, `${l.sourceId} not missing`);
    assert.ok(org().users.every((u) => jira.inspect(expectedUsername(u))?.active === u.accountEnabled), 'nobody deactivated');
  });

  test('the hourly floor is honoured: the run waits for the reset, says so, and never meets a 429', async () => {
    // A tiny "hour" (3 s, 6 calls) and a floor of 2: the read of 5 pages plus the role list must wait.
    ol.setRateLimit({ limit: 6, windowSeconds: 3 });
    const r = await engine.run({ connector: connector({ keepApiCallsPerHour: 2 }), kind: 'full', trigger: 'cli' });
    assert.equal(r.run.status, 'succeeded', r.run.error ?? '');
    assert.equal(r.run.counts.created, ORG_SIZE);
    assert.equal(ol.rateLimited429, 0, 'OneLogin never had to answer 429');
    assert.ok(notices.some((m) => /keeps at least 2: waiting \d+ s/.test(m)), `the run said it waits: ${notices.join(' | ')}`);
    assert.match(r.run.notice ?? '', /keeps at least 2: waiting \d+ s/, 'the run record says it waited');
  });
});
