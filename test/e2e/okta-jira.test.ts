// End to end through the real Okta source, over TLS, against the Okta emulator and the Jira
// DC emulator: the seeded company read from Okta (status, profile with custom attributes,
// managerId, groups) and synced by SyncEngine on SQLite. What Jira ends up holding is checked
// against the directory itself, not against what idsync says it did.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import type { TestStore } from '../helpers/stores.ts';
import type { SyncEngine } from '../../src/engine/engine.ts';
import type { SyncRequest, SyncResult } from '../../src/engine/api.ts';
import type { ConnectorConfig } from '../../src/config/schema.ts';
import type { Json, MappingRule } from '../../src/core/types.ts';
import type { Org, OrgUser } from '../../emulators/org/types.ts';
import { startOktaEmulator, type OktaEmulator } from '../../emulators/okta/index.ts';
import type { JiraDcEmulator } from '../../emulators/jira-dc/index.ts';
import { JIRA_DEFAULT_GROUP, e2eOrg, expectedGroups, expectedUsername, guestAddress, jiraTarget, planOf, resetJira, rule, startIdpAndJira, syncHooks } from './harness.ts';

const ORG_SIZE = 300;
const TOKENS = {
  admin: `00okta-e2e-admin-${Math.random().toString(36).slice(2)}`,
  noRole: `00okta-e2e-norole-${Math.random().toString(36).slice(2)}`,
};
const TOKEN_ENV = 'IDSYNC_E2E_OKTA_TOKEN';
const KEY_ENV = 'IDSYNC_E2E_OKTA_KEY';
const CLIENT_ID = '0oae2eserviceapp00001';
const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
process.env[KEY_ENV] = keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const CONNECTOR = 'okta-e2e';

/** The Jira mapping: account, groups, base and custom profile attributes, and the manager. */
function oktaJiraRules(): MappingRule[] {
  return [
    rule('user.username', '$lower($stripDomain($guestToMail(login)))', { whenEmpty: 'keep' }),
    rule('user.displayName', 'displayName', { whenEmpty: 'keep' }),
    rule('user.email', '$guestToMail(email)', { whenEmpty: 'keep' }),
    rule('user.active', 'active', { whenEmpty: 'keep' }),
    rule('groups', 'groups[$contains($, /^dept-/) or $ = "jira-users"]'),
    rule('property.department', 'department'),
    rule('property.jobTitle', 'title'),
    rule('property.office', 'officeLocation'),
    rule('property.managerEmail', 'manager.email'),
    rule('property.managerName', 'manager.displayName'),
    rule('property.managerUsername', 'manager.targetUsername'),
  ];
}

function expectedEmail(u: OrgUser): string {
  return u.mail || (u.userPrincipalName.includes('#EXT#') ? guestAddress(u.userPrincipalName) : u.userPrincipalName);
}

function expectedProperties(org: Org, u: OrgUser): Record<string, Json> {
  const manager = u.managerId ? org.users.find((m) => m.id === u.managerId) : undefined;
  const props: Record<string, Json | null | undefined> = {
    department: u.department,
    jobTitle: u.jobTitle,
    office: u.officeLocation,
    managerEmail: manager ? (manager.mail ?? manager.userPrincipalName) : undefined,
    managerName: manager?.displayName,
    managerUsername: manager ? expectedUsername(manager) : undefined,
  };
  return Object.fromEntries(Object.entries(props).filter(([, v]) => v !== null && v !== undefined && v !== '')) as Record<string, Json>;
}

function assertJiraMatchesOkta(jira: JiraDcEmulator, org: Org): void {
  const jiraUsers = [...jira.store.allUsers()].filter((u) => u.name !== 'admin' && u.name !== 'viewer');
  assert.equal(new Set(jiraUsers.map((u) => u.name)).size, jiraUsers.length, 'no Jira user exists twice');
  for (const u of org.users) {
    const username = expectedUsername(u);
    const got = jira.inspect(username);
    assert.ok(got, `${u.userPrincipalName} is in Jira as ${username}`);
    assert.equal(got.displayName, u.displayName, `${username}: displayName`);
    assert.equal(got.emailAddress, expectedEmail(u), `${username}: email`);
    assert.equal(got.active, u.accountEnabled, `${username}: active (SUSPENDED users are inactive)`);
    assert.deepEqual(got.groups.filter((g) => g !== JIRA_DEFAULT_GROUP).sort(), expectedGroups(org, u), `${username}: groups`);
    assert.deepEqual(got.properties, expectedProperties(org, u), `${username}: properties`);
  }
  assert.equal(jiraUsers.length, org.users.length, 'Jira holds the directory users and nobody else');
}

describe('Okta → Jira DC end to end', () => {
  let okta: OktaEmulator;
  let jira: JiraDcEmulator;
  let t: TestStore | undefined;
  let engine: SyncEngine;
  const org = () => okta.directory.org;

  syncHooks({
    start: () =>
      startIdpAndJira(ORG_SIZE, (org) =>
        startOktaEmulator({
          org,
          apiTokens: [
            { token: TOKENS.admin, scopes: ['okta.users.read', 'okta.groups.read', 'okta.schemas.read'] },
            { token: TOKENS.noRole, scopes: [] },
          ],
          apps: [{ clientId: CLIENT_ID, publicKey: keys.publicKey.export({ type: 'spki', format: 'pem' }).toString(), keyId: 'k1', granted: ['okta.users.read', 'okta.groups.read'] }],
        }),
      ),
    async reset({ idp, jira }) {
      process.env[TOKEN_ENV] = TOKENS.admin;
      idp.setFaults({ errorRate: 0, dropRate: 0, script: [] });
      // Okta's limit per minute, in a window of a few seconds: a sync of the whole org uses more than
      // the limit leaves after the reserve, so it paces (and waits seconds, not a minute, for the reset).
      idp.rateLimiter.configure({ limit: 600, windowSeconds: 3 });
      idp.rateLimiter.limited = 0;
      idp.directory.replace(e2eOrg(ORG_SIZE));
      await resetJira(jira);
    },
    ca: ({ idp }) => idp.ca,
    ready: (w) => ({ env: { idp: okta, jira }, t, engine } = w),
  });

  const connector = (source: Record<string, unknown> = {}): ConnectorConfig => ({
    id: CONNECTOR,
    name: 'Okta end to end',
    source: { type: 'okta', orgUrl: okta.url, apiToken: { env: TOKEN_ENV }, requiredGroups: [], ...source },
    targets: [jiraTarget(jira, oktaJiraRules())],
  }) as ConnectorConfig;
  const sync = (extra: Partial<SyncRequest> = {}, source?: Record<string, unknown>): Promise<SyncResult> => engine.run({ connector: connector(source), kind: 'full', trigger: 'cli', ...extra });
  const control = async (path: string, method: string, body?: unknown) => {
    const { Agent, fetch: f } = await import('undici');
    const dispatcher = new Agent({ connect: { ca: okta.ca } });
    try {
      const res = await f(`${okta.url}/_emulator${path}`, { method, dispatcher, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
      assert.ok(res.status < 300, `${method} ${path}: ${res.status} ${await res.text()}`);
    } finally {
      await dispatcher.close();
    }
  };

  test('Test connection: right token, wrong token, a token without an admin role, and a service app', async () => {
    const ok = await engine.testConnection(connector());
    assert.ok(ok.source.ok, JSON.stringify(ok.source.checks));
    assert.ok(ok.source.checks.some((c) => c.name === 'user schema' && /custom attributes are listed/.test(c.message)), 'the user schema check lists custom attributes');

    process.env[TOKEN_ENV] = '00not-a-token-okta-knows';
    const wrong = await engine.testConnection(connector());
    assert.equal(wrong.source.ok, false);
    const wrongCheck = wrong.source.checks.find((c) => !c.ok)!;
    assert.match(wrongCheck.message, /E0000011/, 'Okta\'s code for an invalid token');
    assert.match(wrongCheck.message, /Security > API > Tokens/, 'says where to make a new token');
    assert.ok(!wrongCheck.message.includes('00not-a-token-okta-knows'), 'the token is never shown');

    process.env[TOKEN_ENV] = TOKENS.noRole;
    const noRole = await engine.testConnection(connector());
    assert.equal(noRole.source.ok, false);
    const roleCheck = noRole.source.checks.find((c) => !c.ok)!;
    assert.match(roleCheck.message, /missing permission \(E0000006\)/);
    assert.match(roleCheck.message, /Read-only Administrator/, 'says which role to give');

    const oauth = { apiToken: undefined, oauth: { clientId: CLIENT_ID, privateKey: { env: KEY_ENV }, keyId: 'k1' } };
    const app = await engine.testConnection(connector(oauth));
    assert.ok(app.source.checks.find((c) => c.name === 'token')?.ok, JSON.stringify(app.source.checks));
    assert.ok(app.source.ok, `the service app reads users and groups: ${JSON.stringify(app.source.checks)}`);
    assert.match(app.source.checks.find((c) => c.name === 'user schema')!.message, /okta\.schemas\.read not granted/, 'without the schema scope the catalogue comes from users');

    const tooMuch = await engine.testConnection(connector({ ...oauth, oauth: { ...oauth.oauth, scopes: ['okta.users.read', 'okta.schemas.read'] } }));
    assert.equal(tooMuch.source.ok, false);
    assert.match(tooMuch.source.checks[0]!.message, /not granted: okta\.schemas\.read/);
    assert.match(tooMuch.source.checks[0]!.message, /Okta API Scopes tab/);
  });

  test('a full sync creates every user with the account, groups, custom attribute and manager; a second one writes nothing', async () => {
    const first = await sync();
    assert.equal(first.run.status, 'succeeded', first.run.error ?? '');
    assert.equal(first.run.counts.read, ORG_SIZE);
    assert.equal(first.run.counts.created, ORG_SIZE);
    assertJiraMatchesOkta(jira, org());
    jira.resetStats();
    const second = await sync();
    assert.equal(second.run.status, 'succeeded', second.run.error ?? '');
    assert.equal(second.run.counts.unchanged, ORG_SIZE);
    assert.equal(jira.stats.writes, 0, 'no write request reached Jira');
  });

  test('the mapping editor lists Okta\'s custom attributes from the user schema', async () => {
    const attrs = await engine.attributes(connector());
    const paths = attrs.map((a) => a.path);
    for (const p of ['login', 'active', 'officeLocation', 'emailAliases', 'manager.email', 'groups']) assert.ok(paths.includes(p), `${p} is offered`);
    assert.equal(attrs.find((a) => a.path === 'emailAliases')?.type, 'string[]');
  });

  test('single-user sync of a user found by the start of a name', async () => {
    const u = org().users.find((x) => x.userType === 'Member' && x.accountEnabled && /^[A-Za-z]+ [A-Za-z]/.test(x.displayName) && x.managerId)!;
    const start = u.displayName.slice(0, u.displayName.indexOf(' ') + 2);
    const hits = await engine.searchUsers(connector(), start, 10);
    const hit = hits.find((h) => h.userPrincipalName === u.userPrincipalName);
    assert.ok(hit, `${u.displayName} found by "${start}": ${JSON.stringify(hits)}`);
    const r = await engine.run({ connector: connector(), kind: 'user', userRef: hit.userPrincipalName!, trigger: 'cli' });
    assert.equal(r.run.status, 'succeeded', r.run.error ?? '');
    assert.deepEqual(r.user?.targets.map((x) => x.operation), ['created']);
    const got = jira.inspect(expectedUsername(u))!;
    // The manager is not in Jira yet (only this user was synced), so it has no Jira username.
    const { managerUsername: _none, ...expected } = expectedProperties(org(), u);
    assert.deepEqual(got.properties, expected, 'with its manager (read from Okta) and custom attribute');
  });

  test('a simulation writes nothing and plans exactly what the real run does', async () => {
    const dry = await sync({ dryRun: true });
    assert.equal(dry.run.status, 'succeeded', dry.run.error ?? '');
    assert.equal(jira.stats.writes, 0);
    const real = await sync();
    assert.deepEqual(await planOf(t!.store, dry.run.id), await planOf(t!.store, real.run.id));
  });

  test('incremental runs: a changed profile, a new manager, a suspended user and a deactivated one', async () => {
    const seed = await engine.run({ connector: connector(), kind: 'incremental', trigger: 'cli' });
    assert.equal(seed.run.status, 'succeeded', seed.run.error ?? '');
    assert.equal(seed.run.counts.created, ORG_SIZE);
    const quiet = await engine.run({ connector: connector(), kind: 'incremental', trigger: 'cli' });
    assert.equal(quiet.run.counts.read, 0, 'nothing changed, nothing read');

    const members = org().users.filter((u) => u.userType === 'Member' && u.accountEnabled && u.managerId && !org().users.some((x) => x.managerId === u.id));
    const [a, b, c, d] = members.slice(2, 6) as [OrgUser, OrgUser, OrgUser, OrgUser];
    const ceo = org().users[0]!;
    const id = (u: OrgUser) => okta.directory.idOf(u.id);
    await control(`/users/${id(a)}`, 'PATCH', { department: 'Quality Assurance', officeLocation: 'Remote' });
    await control(`/users/${id(b)}/manager`, 'PUT', { managerId: id(ceo) });
    await control(`/users/${id(c)}/status`, 'POST', { status: 'SUSPENDED' });
    await control(`/users/${id(d)}`, 'DELETE'); // deactivated: DEPROVISIONED
    const r = await engine.run({ connector: connector(), kind: 'incremental', trigger: 'cli' });
    assert.equal(r.run.status, 'succeeded', r.run.error ?? '');
    assert.equal(r.run.counts.updated, 3, 'a, b and c updated');
    // Gone from the source: cleaned up by the target's default cleanup rule (disable).
    assert.equal(r.run.counts.disabled, 1, 'the deactivated user is disabled in Jira');
    assert.equal(jira.inspect(expectedUsername(d))?.active, false, 'the deactivated user cannot log in to Jira');
    assert.equal(jira.inspect(expectedUsername(a))?.properties.office, 'Remote');
    assert.equal(jira.inspect(expectedUsername(b))?.properties.managerName, ceo.displayName);
    assert.equal(jira.inspect(expectedUsername(c))?.active, false, 'a suspended user is deactivated in Jira');
    const again = await engine.run({ connector: connector(), kind: 'incremental', trigger: 'cli' });
    assert.equal(again.run.counts.updated, 0, 'the same changes are not applied twice');
  });

  test('a group renamed in Okta (a profile change, no member change): the next incremental run moves its members in Jira, the one after writes nothing', async () => {
    const seed = await engine.run({ connector: connector(), kind: 'incremental', trigger: 'cli' });
    assert.equal(seed.run.status, 'succeeded', seed.run.error ?? '');
    // At most 20 members (the safety threshold's default): a bigger group's removals are held for approval.
    const group = okta.directory.sortedGroups().find((g) => g.profile.name.startsWith('dept-') && g.members.length >= 2 && g.members.length <= 20);
    assert.ok(group, 'a department group with members');
    const oldName = group.profile.name;
    const newName = `${oldName}-renamed`;
    const members = org().users.filter((u) => group.members.includes(okta.directory.idOf(u.id)));
    const shadow = () => t!.store.shadow.groups.all(CONNECTOR);
    assert.equal((await shadow()).get(group.id)?.name, oldName, 'the seeding round recorded the group under its Okta id');
    for (const u of members) assert.ok(jira.inspect(expectedUsername(u))!.groups.includes(oldName), `${expectedUsername(u)} starts in ${oldName}`);

    await control(`/groups/${group.id}`, 'PATCH', { name: newName });
    const r = await engine.run({ connector: connector(), kind: 'incremental', trigger: 'cli' });
    assert.equal(r.run.status, 'succeeded', r.run.error ?? '');
    assert.equal(r.run.counts.read, 0, "no user's lastUpdated moved: nobody was re-read");
    assert.equal(r.run.counts.updated, members.length, r.run.notice ?? '');
    for (const u of members) {
      const inJira = jira.inspect(expectedUsername(u))!.groups;
      assert.ok(inJira.includes(newName) && !inJira.includes(oldName), `${expectedUsername(u)}: ${inJira.join(', ')}`);
    }
    assert.match(r.run.notice ?? '', new RegExp(`group '${oldName}' was renamed '${newName}'.*${members.length} members`));
    assert.equal((await shadow()).get(group.id)?.name, newName, 'the shadow holds the new name');

    jira.resetStats();
    const again = await engine.run({ connector: connector(), kind: 'incremental', trigger: 'cli' });
    assert.equal(again.run.counts.usersWritten, 0, 'converged: nothing written');
    assert.equal(jira.stats.writes, 0);
  });

  test('a group deleted in Okta: a census that fails or comes back empty removes nothing and says why; the next incremental run takes it from its members in Jira; a no-change run writes nothing', async () => {
    const incremental = () => engine.run({ connector: connector(), kind: 'incremental', trigger: 'cli' });
    const seed = await incremental();
    assert.equal(seed.run.status, 'succeeded', seed.run.error ?? '');
    // At most 20 members (the safety threshold's default): a bigger group's removals are held for approval.
    const group = okta.directory.sortedGroups().find((g) => g.profile.name.startsWith('dept-') && g.members.length >= 2 && g.members.length <= 20);
    assert.ok(group, 'a department group with members');
    const name = group.profile.name;
    const members = org().users.filter((u) => group.members.includes(okta.directory.idOf(u.id)));
    const inJira = (u: OrgUser) => jira.inspect(expectedUsername(u))!.groups.includes(name);
    assert.ok(members.every(inJira), 'its members start in it in Jira');
    const shadow = () => t!.store.shadow.groups.all(CONNECTOR);
    const live = async () => (await shadow()).get(group.id)?.tombstone === null;

    // No change: nothing written; the requests it makes (the census is the groups listing the round made anyway).
    jira.resetStats();
    okta.resetStats();
    const calm = await incremental();
    assert.equal(calm.run.status, 'succeeded', calm.run.error ?? '');
    assert.equal(calm.run.counts.usersWritten, 0);
    assert.equal(jira.stats.writes, 0, 'a no-change run writes nothing to Jira');
    const calmRequests = okta.stats.requests;
    console.log(`[census] Okta no-change incremental run: ${calmRequests} requests ${JSON.stringify(okta.stats.byRoute)}`);

    await control(`/groups/${group.id}`, 'DELETE');

    // The listing failing part-way (its confirming read answers 500, retries included): the run fails, nobody loses the group.
    okta.setFaults({ script: [{ method: 'GET', pattern: '^/api/v1/groups\\?', status: 500, skip: 1, times: 1000 }] });
    const failed = await incremental();
    okta.setFaults({ script: [] });
    assert.equal(failed.run.status, 'failed');
    assert.match(failed.run.error ?? '', /Okta answered 500/);
    assert.ok(members.every(inJira), 'a failed census removed nobody from the group');
    assert.ok(await live(), 'the group is not tombstoned');

    // The listing answered empty (a list that claims to end, the re-read too): refused, said in the notice.
    okta.setFaults({ script: [{ method: 'GET', pattern: '^/api/v1/groups\\?', answer: 'empty-page', times: 1000 }] });
    const empty = await incremental();
    okta.setFaults({ script: [] });
    assert.equal(empty.run.status, 'partial', 'removals held back: the run says so');
    assert.match(empty.run.notice ?? '', /census of groups listed none while idsync knows \d+: no group is taken for gone/);
    assert.equal(empty.run.counts.usersWritten, 0, 'nothing written');
    assert.ok(members.every(inJira), 'an empty census removed nobody from the group');
    assert.ok(await live(), 'the group is not tombstoned');

    // Complete again: its members leave it in Jira in this run.
    const r = await incremental();
    assert.equal(r.run.status, 'succeeded', r.run.error ?? '');
    assert.equal(r.run.counts.read, 0, "no user's lastUpdated moved: nobody was re-read");
    assert.equal(r.run.counts.updated, members.length, r.run.notice ?? '');
    for (const u of members) {
      const groups = jira.inspect(expectedUsername(u))!.groups.filter((g) => g !== JIRA_DEFAULT_GROUP).sort();
      assert.deepEqual(groups, expectedGroups(org(), u).filter((g) => g !== name), `${expectedUsername(u)}: only the deleted group left`);
    }
    assert.match(r.run.notice ?? '', new RegExp(`group '${name}' is no longer among the identity provider's groups .*: ${members.length} members lost it`));
    const row = (await shadow()).get(group.id);
    assert.deepEqual([row?.tombstone, row?.name], ['not-returned', name]);

    // Converged: nothing written, the same requests as before the deletion.
    jira.resetStats();
    okta.resetStats();
    const again = await incremental();
    assert.equal(again.run.counts.usersWritten, 0);
    assert.equal(jira.stats.writes, 0);
    assert.equal(okta.stats.requests, calmRequests, 'a no-change run makes the same requests');
  });

  test('full syncs: a failed read tombstones no group; the next complete one tombstones the group Okta no longer lists', async () => {
    assert.equal((await sync()).run.status, 'succeeded');
    const shadow = () => t!.store.shadow.groups.all(CONNECTOR);
    // A group the mapping leaves out of Jira (no membership removal meets the read guard).
    const g = okta.directory.sortedGroups().find((x) => x.type === 'OKTA_GROUP' && !x.profile.name.startsWith('dept-') && x.profile.name !== 'jira-users');
    assert.ok(g, 'a group the Jira mapping leaves out');
    await control(`/groups/${g.id}`, 'DELETE');
    okta.setFaults({ script: [{ method: 'GET', pattern: '^/api/v1/users\\?.*after=', status: 500, times: 1000 }] });
    const failed = await sync();
    okta.setFaults({ script: [] });
    assert.equal(failed.run.status, 'failed');
    assert.equal((await shadow()).get(g.id)?.tombstone, null, 'no tombstone after a failed read');
    const complete = await sync();
    assert.equal(complete.run.status, 'succeeded', complete.run.error ?? '');
    assert.equal((await shadow()).get(g.id)?.tombstone, 'not-returned', 'the complete read tombstoned the group it no longer listed');
  });

  test('a read failing part-way fails the run and marks nobody missing', async () => {
    const first = await sync();
    assert.equal(first.run.status, 'succeeded', first.run.error ?? '');
    jira.resetStats();
    // Every page after the first (its cursor is in `after`) answers 500, retries included.
    okta.setFaults({ script: [{ method: 'GET', pattern: '^/api/v1/users\\?.*after=', status: 500, times: 1000 }] });
    const r = await sync();
    assert.equal(r.run.status, 'failed');
    assert.match(r.run.error ?? '', /Okta answered 500/);
    assert.equal(r.run.counts.missing, 0);
    assert.equal((await t!.store.runs.items(r.run.id, { operation: 'missing' })).total, 0);
    assert.equal(jira.stats.writes, 0);
    for await (const page of t!.store.links.sourceIds(CONNECTOR, 'jira')) for (const l of page) assert.equal(l.missingSince, null, `${l.label} is not marked missing`);
    okta.setFaults({ script: [] });
    const next = await sync();
    assert.equal(next.run.counts.unchanged, ORG_SIZE);
  });

  test("Okta's rate limits are honoured before a 429: a tight limit slows the sync, it does not fail it", async () => {
    okta.rateLimiter.configure({ limit: 12, windowSeconds: 1 });
    const r = await sync({}, { membershipStrategy: 'perGroup' });
    assert.equal(r.run.status, 'succeeded', r.run.error ?? '');
    assert.equal(r.run.counts.created, ORG_SIZE);
    assert.equal(okta.rateLimiter.limited, 0, 'Okta never had to answer 429');
    assertJiraMatchesOkta(jira, org());
  });
});
