// End to end through the real Google Workspace source, over TLS, against the Google emulator
// and the Jira DC emulator (SQLite store): Test connection, a full sync with managers (by
// e-mail, also one on a later page than its reports), groups and a custom schema attribute, a single user found by the start of a name,
// a simulation, a read failing mid-way, and Google's quota answers. What Jira holds is checked
// against the emulated directory itself, not against what idsync says it did.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestStore } from '../helpers/stores.ts';
import type { SyncEngine } from '../../src/engine/engine.ts';
import type { SyncRequest, SyncResult } from '../../src/engine/api.ts';
import type { ConnectorConfig } from '../../src/config/schema.ts';
import { startGoogleEmulator, SCOPES, type GoogleEmulator, type GoogleUser } from '../../emulators/google/index.ts';
import type { JiraDcEmulator } from '../../emulators/jira-dc/index.ts';
import { e2eOrg, JIRA_DEFAULT_GROUP, jiraTarget, resetJira, rule, startIdpAndJira, syncHooks } from './harness.ts';

const KEY_ENV = 'IDSYNC_E2E_GOOGLE_KEY';
const USERS = 150;

const keepGroup = (n: string) => n.startsWith('dept-') || n === 'jira-users';

describe('Google Workspace → Jira DC end to end', () => {
  let google: GoogleEmulator;
  let jira: JiraDcEmulator;
  let t: TestStore | undefined;
  let engine: SyncEngine;

  syncHooks({
    start: () =>
      startIdpAndJira(
        USERS,
        (org) => startGoogleEmulator({ org }),
        (g) => g.directory.groups.map((x) => x.name).filter(keepGroup),
      ),
    started: ({ idp }) => void (process.env[KEY_ENV] = JSON.stringify(idp.keyFile())),
    async reset({ idp, jira }) {
      idp.setFaults({ errorRate: 0, dropRate: 0, rateLimit: undefined, script: [] });
      idp.setQuota(undefined);
      idp.directory.replace(e2eOrg(USERS));
      idp.serviceAccount.delegatedScopes = [SCOPES.users, SCOPES.groups];
      await resetJira(jira);
    },
    ca: ({ idp }) => idp.ca,
    ready: (w) => ({ env: { idp: google, jira }, t, engine } = w),
  });

  const connector = (source: Record<string, unknown> = {}): ConnectorConfig => ({
    id: 'google-e2e',
    name: 'Google Workspace end to end',
    source: { type: 'google', serviceAccountKey: { env: KEY_ENV }, subject: google.admin, apiUrl: google.url, customSchemas: [], requiredGroups: [], ...source },
    targets: [
      jiraTarget(jira, [
        rule('user.username', '$lower($stripDomain(primaryEmail))', { whenEmpty: 'keep' }),
        rule('user.displayName', 'fullName', { whenEmpty: 'keep' }),
        rule('user.email', 'primaryEmail', { whenEmpty: 'keep' }),
        rule('user.active', 'active', { whenEmpty: 'keep' }),
        rule('groups', 'groups[$contains($, /^dept-/) or $ = "jira-users"]'),
        rule('property.department', 'department'),
        rule('property.jobTitle', 'title'),
        rule('property.costCenter', 'costCenter'),
        rule('property.division', 'customSchemas.Employment.division'),
        rule('property.managerEmail', 'manager.primaryEmail'),
        rule('property.managerUsername', 'manager.targetUsername'),
      ]),
    ],
  });
  const sync = (extra: Partial<SyncRequest> = {}): Promise<SyncResult> => engine.run({ connector: connector(), kind: 'full', trigger: 'cli', ...extra });
  const users = () => google.directory.users;
  const username = (u: GoogleUser) => u.primaryEmail.split('@')[0]!.toLowerCase();

  /** What Jira must hold for one Google user, computed from the emulated directory. */
  function assertInJira(u: GoogleUser): void {
    const got = jira.inspect(username(u));
    assert.ok(got, `${u.primaryEmail} is in Jira`);
    assert.equal(got.displayName, u.name.fullName);
    assert.equal(got.emailAddress, u.primaryEmail);
    assert.equal(got.active, !u.suspended && !u.archived, `${u.primaryEmail}: active`);
    const groups = google.directory.groups.filter((g) => g.members.includes(u.id)).map((g) => g.name).filter(keepGroup).sort();
    assert.deepEqual(got.groups.filter((g) => g !== JIRA_DEFAULT_GROUP).sort(), groups, `${u.primaryEmail}: groups`);
    const managerEmail = u.relations?.find((r) => r.type === 'manager')?.value;
    const manager = managerEmail ? google.directory.user(managerEmail) : undefined;
    const org = u.organizations?.[0];
    const expected = Object.fromEntries(
      Object.entries({
        department: org?.department,
        jobTitle: org?.title,
        costCenter: org?.costCenter,
        division: u.customSchemas?.Employment?.division as string | undefined,
        managerEmail: manager?.primaryEmail,
        managerUsername: manager ? username(manager) : undefined,
      }).filter(([, v]) => v !== undefined && v !== null && v !== ''),
    );
    assert.deepEqual(got.properties, expected, `${u.primaryEmail}: properties`);
  }

  test('Test connection: right credentials pass; a wrong key, an unknown subject and a missing delegation each say what to do', async () => {
    const ok = await engine.testConnection(connector());
    assert.ok(ok.source.ok, JSON.stringify(ok.source.checks));
    assert.ok(ok.source.checks.some((c) => c.name === 'read groups' && c.ok), 'groups are read');

    const other = (await import('../../emulators/google/auth.ts')).newServiceAccount('stranger');
    process.env.IDSYNC_E2E_GOOGLE_WRONG_KEY = JSON.stringify({ ...google.keyFile(), private_key: other.privateKey });
    const wrongKey = await engine.testConnection(connector({ serviceAccountKey: { env: 'IDSYNC_E2E_GOOGLE_WRONG_KEY' } }));
    const token = wrongKey.source.checks.find((c) => c.name === 'token');
    assert.equal(token?.ok, false);
    assert.match(token!.message, /key was refused.*create a new JSON key/s);
    assert.ok(!token!.message.includes('PRIVATE KEY'), 'the key never appears in a message');

    const subject = await engine.testConnection(connector({ subject: 'nobody@example.com' }));
    assert.match(subject.source.checks.find((c) => c.name === 'token')!.message, /nobody@example.com is not a user.*administrator/s);

    google.serviceAccount.delegatedScopes = [SCOPES.users];
    const delegation = await engine.testConnection(connector());
    const msg = delegation.source.checks.find((c) => c.name === 'token')!.message;
    assert.match(msg, /domain-wide delegation is not granted/);
    assert.match(msg, new RegExp(`Manage Domain Wide Delegation.*${google.serviceAccount.clientId}`, 's'), 'names where to fix it and the client ID');
    // Without groups the user scope alone is enough.
    const usersOnly = await engine.testConnection(connector({ readGroups: false }));
    assert.ok(usersOnly.source.ok, JSON.stringify(usersOnly.source.checks));

    // A subject that is a user but not an administrator: the sign-in works, the read is refused.
    google.serviceAccount.delegatedScopes = [SCOPES.users, SCOPES.groups];
    const plain = users().find((u) => !u.isAdmin)!;
    const notAdmin = await engine.testConnection(connector({ subject: plain.primaryEmail }));
    assert.match(notAdmin.source.checks.find((c) => c.name === 'read users')!.message, /not an administrator/);
  });

  test('a full sync creates every user with manager, groups and the custom schema attribute; a second writes nothing', async () => {
    const first = await sync();
    assert.equal(first.run.status, 'succeeded', first.run.error ?? '');
    assert.equal(first.run.counts.read, users().length);
    assert.equal(first.run.counts.created, users().length);
    for (const u of users()) assertInJira(u);
    assert.ok(users().some((u) => u.customSchemas?.Employment?.division), 'the sample carries the custom schema');
    jira.resetStats();
    const second = await sync();
    assert.equal(second.run.status, 'succeeded', second.run.error ?? '');
    assert.equal(second.run.counts.unchanged, users().length);
    assert.equal(jira.stats.writes, 0, 'no write reached Jira');
  });

  test('a single user found by the start of a name is synced alone', async () => {
    const u = users().find((x) => /^[A-Za-z]{4}/.test(x.name.givenName) && x.relations && !x.suspended)!;
    const hits = await engine.searchUsers(connector(), u.name.givenName.slice(0, 4).toLowerCase(), 20);
    const hit = hits.find((h) => h.id === u.id);
    assert.ok(hit, `found by ${u.name.givenName.slice(0, 4)}`);
    const r = await engine.run({ connector: connector(), kind: 'user', userRef: hit.id, trigger: 'cli' });
    assert.equal(r.run.status, 'succeeded', r.run.error ?? '');
    assert.equal(r.run.counts.created, 1);
    const got = jira.inspect(username(u));
    assert.ok(got, 'the user is in Jira');
    assert.equal(got.displayName, u.name.fullName);
    assert.equal([...jira.store.allUsers()].filter((x) => !['admin', 'viewer'].includes(x.name)).length, 1, 'nobody else');
  });

  test('a manager listed on a later page than its reports: resolved by e-mail within the first run; a second writes nothing', async () => {
    // Google names a manager by e-mail; one first read on a later page of the very first run is
    // resolved at the end of that read (the engine holds its reports until then).
    const late = users().at(-1)!;
    const reports = users().filter((u) => u.relations?.some((r) => r.value === late.primaryEmail));
    assert.ok(reports.length > 0, 'the late manager has reports');
    const first = await engine.run({ connector: connector({ pageSize: 25 }), kind: 'full', trigger: 'cli' });
    assert.equal(first.run.status, 'succeeded', first.run.error ?? '');
    for (const u of users()) assertInJira(u);
    jira.resetStats();
    const second = await engine.run({ connector: connector({ pageSize: 25 }), kind: 'full', trigger: 'cli' });
    assert.equal(second.run.status, 'succeeded', second.run.error ?? '');
    assert.equal(second.run.counts.unchanged, users().length);
    assert.equal(jira.stats.writes, 0, 'the second run writes nothing');
  });

  test('a simulation plans the creations and writes nothing', async () => {
    const dry = await sync({ dryRun: true });
    assert.equal(dry.run.status, 'succeeded', dry.run.error ?? '');
    assert.equal(dry.run.counts.created, users().length);
    assert.equal(jira.stats.writes, 0);
    assert.equal([...jira.store.allUsers()].length, 2, 'only the built-in users');
  });

  test('a read failing mid-way fails the run and marks nobody missing', async () => {
    const first = await sync();
    assert.equal(first.run.status, 'succeeded', first.run.error ?? '');
    google.setFaults({ script: [{ pattern: '^/admin/directory/v1/users\\?.*pageToken', status: 500, times: 100_000 }] });
    const r = await engine.run({ connector: connector({ pageSize: 20 }), kind: 'full', trigger: 'cli' });
    assert.equal(r.run.status, 'failed');
    assert.equal(r.run.counts.missing, 0, 'nobody marked missing');
    assert.ok(users().every((u) => jira.inspect(username(u))?.active === (!u.suspended && !u.archived)), 'nobody deactivated');
  });

  test("Google's quota answers (403 rateLimitExceeded, 429) are waited out: the run succeeds", async () => {
    google.setQuota({ capacity: 2, perSecond: 20, answer: 'rateLimitExceeded' });
    google.setFaults({ script: [{ path: '/admin/directory/v1/groups', status: 429, headers: { 'retry-after': '0' }, times: 3 }] });
    const r = await sync();
    assert.equal(r.run.status, 'succeeded', r.run.error ?? '');
    assert.equal(r.run.counts.failed, 0);
    assert.ok(google.quotaRefusals > 0, 'the quota bit');
    assert.ok(google.stats.rateLimited > 0, 'a 429 was answered');
    for (const u of users()) assertInJira(u);
  });
});
