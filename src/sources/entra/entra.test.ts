import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash, X509Certificate } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Agent, fetch } from 'undici';
import { generate } from 'selfsigned';
import { startGraphEmulator, DEFAULT_GRAPH_CLIENT, type GraphEmulator } from '../../../emulators/graph/index.ts';
import { generateOrg, MANY_GROUPS_USER_INDEX } from '../../../emulators/org/index.ts';
import type { SourceQuery, SourceUser } from '../../core/types.ts';
import { definition, type EntraSource } from './index.ts';
import { selectFor } from './query.ts';
import { filterUses, needsAdvancedQuery } from './advanced-query.ts';
import { emulatedSources } from './testing.ts';
import { clientAssertion } from './token.ts';

const SECRET_ENV = 'IDSYNC_TEST_ENTRA_SECRET';
const org = generateOrg({ users: 450, seed: 77 });
// One user in more groups than a memberOf page ($top=999) holds, so nextLinks must be followed.
const POWER_USER = org.users[MANY_GROUPS_USER_INDEX]!.id;
for (let i = 0; i < 1100; i++) {
  org.groups.push({ ...org.groups[0]!, id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, displayName: `bulk-${String(i).padStart(4, '0')}`, members: [POWER_USER] });
}
const byId = new Map(org.users.map((u) => [u.id, u]));
const limited = { clientId: 'users-only-app', clientSecret: 'users-only-secret', permissions: ['User.Read.All'] };
let emu: GraphEmulator;
let certPem: string;
let keyFile: string;

before(async () => {
  const pems = await generate([{ name: 'commonName', value: 'idsync-entra-test' }], { keySize: 2048, algorithm: 'sha256' } as never);
  certPem = pems.cert;
  keyFile = join(mkdtempSync(join(tmpdir(), 'idsync-entra-')), 'key.pem');
  writeFileSync(keyFile, pems.private);
  emu = await startGraphEmulator({ org, clients: [DEFAULT_GRAPH_CLIENT, limited, { clientId: 'cert-app', certificates: [certPem] }] });
});
after(async () => {
  await closeAll();
  await emu.close();
  // The certificate's key was written to a directory of its own: it goes with the test.
  if (keyFile) rmSync(dirname(keyFile), { recursive: true, force: true });
});

const { source, closeAll } = emulatedSources(() => emu, SECRET_ENV);

const q = (over: Partial<SourceQuery> = {}): SourceQuery => ({ attributes: [], groups: false, manager: false, ...over });

async function readAll(s: EntraSource, query: SourceQuery): Promise<{ pages: SourceUser[][]; users: SourceUser[] }> {
  const pages: SourceUser[][] = [];
  let complete = false;
  for await (const p of s.listUsers(query)) {
    assert.ok(!complete, 'nothing comes after the page that says the read is complete');
    if (p.complete) complete = true;
    if (p.users.length) pages.push(p.users);
  }
  assert.ok(complete, 'a listing that ends normally says it was complete');
  return { pages, users: pages.flat() };
}

async function control(path: string, method = 'POST', body?: unknown) {
  const agent = new Agent({ connect: { ca: emu.ca } });
  try {
    const r = await fetch(`${emu.url}/_emulator${path}`, { method, dispatcher: agent, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    return r.status === 204 ? undefined : await r.json();
  } finally {
    await agent.close();
  }
}

test('config: exactly one credential, sensible defaults, secrets only as references', () => {
  const base = { type: 'entra', tenantId: 'contoso.onmicrosoft.com', clientId: 'x' };
  const parsed = definition.configSchema.parse({ ...base, clientSecret: { env: 'S' } });
  assert.equal(parsed.pageSize, 999);
  assert.equal(parsed.authorityHost, 'https://login.microsoftonline.com');
  assert.equal(parsed.graphUrl, 'https://graph.microsoft.com');
  assert.deepEqual(parsed.requiredGroups, []);
  assert.equal(parsed.membershipStrategy, 'auto');
  assert.equal(parsed.groupFilter, undefined);
  assert.throws(() => definition.configSchema.parse({ ...base, clientSecret: { env: 'S' }, membershipStrategy: 'perTenant' }));
  assert.throws(() => definition.configSchema.parse(base), /exactly one credential/);
  assert.throws(() => definition.configSchema.parse({ ...base, clientSecret: 'inline-secret' }));
  assert.throws(() => definition.configSchema.parse({ ...base, clientSecret: { env: 'S' }, certificate: { privateKey: { env: 'K' }, thumbprint: 'AB'.repeat(20) } }));
  assert.throws(() => definition.configSchema.parse({ ...base, tenantId: 'not a tenant', clientSecret: { env: 'S' } }), /tenantId/);
  assert.throws(() => definition.configSchema.parse({ ...base, clientSecret: { env: 'S' }, pageSize: 1000 }));
});

test('listUsers pages through the directory with $top: every user exactly once, in order', async () => {
  const s = source({ pageSize: 50 });
  const { pages, users } = await readAll(s, q());
  assert.equal(pages.length, Math.ceil(org.users.length / 50));
  assert.ok(pages.slice(0, -1).every((p) => p.length === 50), 'pages.slice(0, -1).every((p) => p.length === 50)');
  assert.deepEqual(users.map((u) => u.id), org.users.map((u) => u.id));
  assert.equal(s.tokens.requests, 1, 'one token for the whole listing');
});

test('$select is exactly the properties the mapping needs; attrs carry only those', async () => {
  const urls: string[] = [];
  const s = source({ pageSize: 200 }, (r) => urls.push(r.url));
  const query = q({ attributes: ['department', 'onPremisesExtensionAttributes.extensionAttribute3', 'manager.mail', 'groups', 'mail'] });
  const { users } = await readAll(s, query);
  const first = new URL(urls.find((u) => u.includes('/v1.0/users?'))!);
  assert.equal(first.searchParams.get('$select'), 'id,userPrincipalName,mail,displayName,accountEnabled,department,onPremisesExtensionAttributes');
  assert.equal(first.searchParams.get('$top'), '200');
  assert.equal(first.searchParams.get('$expand'), null);
  const src = byId.get(users[3]!.id)!;
  assert.deepEqual(Object.keys(users[3]!.attrs).sort(), ['accountEnabled', 'department', 'displayName', 'id', 'mail', 'onPremisesExtensionAttributes', 'userPrincipalName']);
  assert.equal((users[3]!.attrs.onPremisesExtensionAttributes as any).extensionAttribute3, src.onPremisesExtensionAttributes.extensionAttribute3);
  assert.deepEqual(selectFor(['$uppercase(mail)', 'extension_abc_x']), ['id', 'userPrincipalName', 'mail', 'displayName', 'accountEnabled', 'extension_abc_x']);
});

test('manager attributes via $expand=manager, including users without a manager; pages capped at 100', async () => {
  const urls: string[] = [];
  const s = source({}, (r) => urls.push(r.url));
  const { pages, users } = await readAll(s, q({ attributes: ['manager.mail'], manager: true }));
  assert.equal(pages[0]!.length, 100);
  assert.equal(new URL(urls.find((u) => u.includes('/v1.0/users?'))!).searchParams.get('$expand'), 'manager($select=id,mail,userPrincipalName,displayName)');
  assert.equal(users.length, org.users.length);
  let none = 0;
  for (const u of users) {
    const src = byId.get(u.id)!;
    if (!src.managerId) {
      none++;
      assert.equal(u.manager, null);
      assert.equal(u.attrs.manager, undefined, 'the manager is a reference beside the attributes, not one of them');
    } else {
      const m = byId.get(src.managerId)!;
      assert.deepEqual(u.manager, { id: m.id, attrs: { mail: m.mail, userPrincipalName: m.userPrincipalName, displayName: m.displayName } });
    }
  }
  assert.ok(none > 1, 'the CEO and some others have no manager');
});

test('managers under an advanced $filter: no $expand (Graph refuses it), /manager in batches of 20, same references', async () => {
  const urls: string[] = [];
  const s = source({ filter: 'accountEnabled ne false' }, (r) => urls.push(r.url));
  const { users } = await readAll(s, q({ attributes: ['manager.mail'], manager: true }));
  const enabled = org.users.filter((u) => u.accountEnabled);
  assert.deepEqual(users.map((u) => u.id), enabled.map((u) => u.id));
  const listings = urls.filter((u) => new URL(u).pathname.endsWith('/v1.0/users'));
  assert.ok(listings.every((u) => !new URL(u).searchParams.has('$expand')), 'no $expand in an advanced query');
  assert.equal(urls.filter((u) => u.endsWith('/$batch')).length, Math.ceil(enabled.length / 20), 'one $batch per 20 listed users');
  for (const u of users) {
    const src = byId.get(u.id)!;
    const m = src.managerId ? byId.get(src.managerId)! : undefined;
    assert.deepEqual(u.manager, m ? { id: m.id, attrs: { mail: m.mail, userPrincipalName: m.userPrincipalName, displayName: m.displayName } } : null);
  }
});

test('guests and unicode names come through unchanged', async () => {
  const s = source();
  const { users } = await readAll(s, q({ attributes: ['userType', 'givenName'] }));
  const guest = users.find((u) => u.attrs.userType === 'Guest')!;
  assert.match(String(guest.attrs.userPrincipalName), /#EXT#@/);
  assert.equal(guest.attrs.userPrincipalName, byId.get(guest.id)!.userPrincipalName);
  const unicode = org.users.find((u) => /[^\x00-\x7f]/.test(u.displayName))!;
  assert.equal(users.find((u) => u.id === unicode.id)!.attrs.displayName, unicode.displayName);
  const noMail = org.users.find((u) => u.userType === 'Member' && u.mail === null)!;
  assert.equal(users.find((u) => u.id === noMail.id)!.attrs.mail, null);
});

test('searchUsers: by the start of a name, given name, surname, UPN or mail, case-insensitively, within the connector filter', async () => {
  const s = source();
  const someone = org.users.find((u) => u.userType === 'Member' && u.mail && u.accountEnabled && u.displayName.includes(' '))!;
  const prefix = someone.displayName.slice(0, 4).toLowerCase();
  const expected = org.users.filter((u) =>
    [u.displayName, u.givenName, u.surname, u.userPrincipalName, u.mail].some((v) => typeof v === 'string' && v.toLowerCase().startsWith(prefix)),
  );
  const hits = await s.searchUsers(prefix, 999);
  assert.deepEqual(hits.map((h) => h.id).sort(), expected.map((u) => u.id).sort(), 'exactly the users one of whose names starts with the text');
  assert.ok(hits.some((h) => h.id === someone.id && h.displayName === someone.displayName && h.userPrincipalName === someone.userPrincipalName), 'the hit carries the names');
  assert.deepEqual((await s.searchUsers(someone.mail!.toUpperCase(), 5)).map((h) => h.id), [someone.id]);
  assert.equal((await s.searchUsers(prefix.slice(0, 1), 3)).length, 3, 'at most limit hits');
  assert.deepEqual(await s.searchUsers("o'nobody", 5), [], 'a quote is a literal, not a broken filter');
  // The connector's own filter scopes the search as it scopes a sync.
  const disabled = org.users.find((u) => !u.accountEnabled && u.userType === 'Member')!;
  assert.ok((await s.searchUsers(disabled.userPrincipalName, 5)).some((h) => h.id === disabled.id), 'found without a filter');
  assert.deepEqual(await source({ filter: 'accountEnabled eq true' }).searchUsers(disabled.userPrincipalName, 5), [], 'not found when the filter leaves it out');
});

test('getUser by object id, UPN, mail, guest UPN and guest mail; null for unknown; manager and groups when asked', async () => {
  const s = source();
  const query = q({ attributes: ['department'], manager: true, groups: true });
  const u = org.users.find((x, i) => i > 20 && x.mail && x.managerId)!;
  for (const ref of [u.id, u.userPrincipalName, u.userPrincipalName.toUpperCase(), u.mail!]) {
    const got = await s.getUser(ref, query);
    assert.equal(got?.id, u.id, `found by ${ref}`);
    assert.equal(got!.attrs.department, u.department);
    assert.equal((got!.manager as { id: string }).id, u.managerId);
    assert.deepEqual(got!.groups, org.groups.filter((g) => g.members.includes(u.id)).map((g) => g.displayName).sort());
  }
  const guest = org.users.find((x) => x.userType === 'Guest')!;
  assert.equal((await s.getUser(guest.userPrincipalName, query))?.id, guest.id);
  assert.equal((await s.getUser(guest.mail!, query))?.id, guest.id);
  assert.equal((await s.getUser(org.users[0]!.id, query))!.manager, null, 'CEO has no manager');
  assert.equal(await s.getUser('00000000-0000-4000-8000-000000000000', query), null);
  assert.equal(await s.getUser("o'nobody@contoso.com", query), null);
  assert.equal(await s.getUser('nobody-at-all', query), null);
});

test('groups via memberOf $batch, following nextLinks for a user in more than one page of groups', async () => {
  const s = source({ pageSize: 100, membershipStrategy: 'perUser' });
  const before = emu.batchStats.batches;
  const { users } = await readAll(s, q({ groups: true }));
  assert.equal(users.length, org.users.length);
  for (const u of users) {
    assert.deepEqual(u.groups, org.groups.filter((g) => g.members.includes(u.id)).map((g) => g.displayName).sort());
  }
  const many = users.find((u) => u.id === POWER_USER)!;
  assert.ok(many.groups!.length > 1100, 'memberOf nextLinks were followed inside the batch answer');
  const single = await s.getUser(POWER_USER, q({ groups: true }));
  assert.deepEqual(single!.groups, many.groups);
  assert.ok(emu.batchStats.batches - before >= Math.ceil(org.users.length / 20), 'emu.batchStats.batches - before >= Math.ceil(org.users.length / 20)');
});

test('requiredGroups: only members are listed, by member list or by memberOf; transitiveGroups follows nesting', async () => {
  const apollo = org.groups.find((g) => g.displayName === 'project-apollo')!;
  const members = apollo.members.filter((m) => byId.has(m));
  const s = source({ requiredGroups: ['project-apollo'] });
  const plain = await readAll(s, q());
  assert.deepEqual(plain.users.map((u) => u.id).sort(), [...members].sort());
  const withGroups = await readAll(s, q({ groups: true }));
  assert.deepEqual(withGroups.users.map((u) => u.id).sort(), [...members].sort());
  assert.ok(withGroups.users.every((u) => u.groups!.includes('project-apollo')), "withGroups.users.every((u) => u.groups!.includes('project-apollo'))");

  const admins = org.groups.find((g) => g.displayName === 'jira-administrators')!.members;
  const jiraDirect = org.groups.find((g) => g.displayName === 'jira-users')!.members;
  const onlyAdmin = admins.find((a) => !jiraDirect.includes(a));
  const direct = await readAll(source({ requiredGroups: ['jira-users'] }), q({ groups: true }));
  const transitive = await readAll(source({ requiredGroups: ['jira-users'], transitiveGroups: true }), q({ groups: true }));
  const transitiveByList = await readAll(source({ requiredGroups: ['jira-users'], transitiveGroups: true }), q());
  if (onlyAdmin) assert.ok(!direct.users.some((u) => u.id === onlyAdmin), '!direct.users.some((u) => u.id === onlyAdmin)');
  for (const a of admins) assert.ok(transitive.users.some((u) => u.id === a), 'nested admins are in scope transitively');
  assert.deepEqual(transitiveByList.users.map((u) => u.id).sort(), transitive.users.map((u) => u.id).sort());
  await assert.rejects(readAll(source({ requiredGroups: ['no-such-group'] }), q()), (e: any) => e.code === 'CONFIG' && /no-such-group/.test(e.message));
});

test('a 5xx and 429 storm converges: every user read exactly once', async () => {
  const s = source({ pageSize: 40, membershipStrategy: 'perUser' });
  emu.setFaults({ errorRate: 0.3, errorStatus: 503, seed: 11 });
  emu.setBatchFaults([{ status: 429, retryAfterSeconds: 0, times: 15 }, { status: 503, times: 10 }]);
  try {
    const { users } = await readAll(s, q({ groups: true, manager: true }));
    assert.deepEqual(users.map((u) => u.id), org.users.map((u) => u.id));
    assert.ok(emu.stats.faultsInjected > 3, 'emu.stats.faultsInjected > 3');
    assert.ok(s.graph.stats.retries > 3, 's.graph.stats.retries > 3');
  } finally {
    emu.setFaults({ errorRate: 0 });
    emu.setBatchFaults([]);
  }
  // Throttling on a known schedule: a token bucket would throttle only as fast as this
  // machine happens to send, so whether a 429 comes at all would depend on its load.
  const throttle = { status: 429, headers: { 'retry-after': '0' } };
  emu.setFaults({ script: [{ ...throttle, path: '$skiptoken', times: 3 }, { ...throttle, path: '/users', times: 2 }] });
  try {
    const t = source({ pageSize: 30 });
    const { users } = await readAll(t, q());
    assert.deepEqual(users.map((u) => u.id), org.users.map((u) => u.id));
    assert.equal(t.graph.stats.rateLimited, 5, 'every 429 waited out');
  } finally {
    emu.setFaults({ script: [] });
  }
});

test('a throttled $batch, as a whole (429/424) or inside (429 with Retry-After, 424), is throttling: only the unanswered requests are sent again', async () => {
  const s = source({ pageSize: 100, membershipStrategy: 'perUser', filter: 'accountEnabled ne false' });
  const enabled = org.users.filter((u) => u.accountEnabled);
  const before = { ...emu.batchStats };
  emu.setBatchFaults([
    { scope: 'batch', status: 429, retryAfterSeconds: 0.01, times: 2 },
    { scope: 'batch', status: 424, retryAfterSeconds: 0.02, times: 2 },
    { path: '/memberOf', status: 429, retryAfterSeconds: 0.05, times: 6 },
    { path: '/manager', status: 424, times: 4 },
  ]);
  try {
    const { users } = await readAll(s, q({ groups: true, manager: true, attributes: ['manager.mail'] }));
    assert.deepEqual(users.map((u) => u.id), enabled.map((u) => u.id), 'every user once, none lost to throttling');
    const withGroups = users.find((u) => (u.groups ?? []).length > 0)!;
    assert.deepEqual(withGroups.groups, org.groups.filter((g) => g.members.includes(withGroups.id)).map((g) => g.displayName).sort());
    assert.equal(emu.batchStats.innerFaults - before.innerFaults, 14, 'every scripted fault was met');
    // Each listed user costs one memberOf and one manager request; only the 10 inner faults were sent twice.
    assert.equal(emu.batchStats.innerRequests - before.innerRequests, 2 * enabled.length + 10, 'only the throttled inner requests were repeated');
  } finally {
    emu.setBatchFaults([]);
  }
});

test('a persistent failure mid-listing makes listUsers throw, never end early', async () => {
  const s = source({ pageSize: 100 });
  emu.setFaults({ script: [{ path: '$skiptoken', status: 500, times: 1000 }] });
  const seen: SourceUser[] = [];
  try {
    await assert.rejects(
      (async () => {
        for await (const p of s.listUsers(q())) seen.push(...p.users);
      })(),
      (e: any) => e.code === 'TRANSIENT' && /Microsoft Graph answered 500/.test(e.message),
    );
  } finally {
    emu.setFaults({ script: [] });
  }
  assert.equal(seen.length, 100, 'only the first page arrived');
  emu.setBatchFaults([{ status: 503, times: 1000 }]);
  try {
    await assert.rejects(readAll(source({ membershipStrategy: 'perUser' }), q({ groups: true })), (e: any) => e.code === 'TRANSIENT');
  } finally {
    emu.setBatchFaults([]);
  }
});

test('a failed listing or a cancelled run stops its read-ahead: no request reaches Graph afterwards', async () => {
  const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
  /**
   * No request may be started once the listing has ended (the client's count), and after the
   * requests already on their way have landed, none may reach the emulator (its count) while
   * the throttled pages' Retry-After (1 s) passes.
   */
  const assertNothingAfter = async (s: EntraSource, what: string) => {
    const started = () => s.graph.stats.requests + s.login.stats.requests;
    const startedAtEnd = started();
    await wait(200);
    const arrived = emu.stats.requests;
    await wait(1300);
    assert.equal(started(), startedAtEnd, `no request started after ${what}`);
    assert.equal(emu.stats.requests, arrived, `no request reached the emulator after ${what}`);
  };
  // Pages after the first are throttled (Retry-After: 1) for long: without cancelling, the
  // read-ahead would keep retrying them for many seconds after the listing failed.
  emu.setFaults({ script: [{ path: 'top=50&$skiptoken', status: 429, headers: { 'retry-after': '1' }, times: 1000 }] });
  try {
    // The first page's memberships fail for good: this app may read users but not groups.
    process.env.IDSYNC_TEST_LIMITED_SECRET = limited.clientSecret;
    const failing = source({ pageSize: 50, membershipStrategy: 'perUser', clientId: limited.clientId, clientSecret: { env: 'IDSYNC_TEST_LIMITED_SECRET' } });
    await assert.rejects(readAll(failing, q({ groups: true })), (e: any) => e.code === 'AUTH');
    await assertNothingAfter(failing, 'the listing failed');

    const cancel = new AbortController();
    const cancelled = source({ pageSize: 50 });
    await assert.rejects(
      (async () => {
        for await (const page of cancelled.listUsers(q({ signal: cancel.signal }))) {
          assert.equal(page.users.length, 50);
          cancel.abort();
        }
      })(),
      (e: any) => e.name === 'AbortError' || e.code === 'INTERNAL',
    );
    await assertNothingAfter(cancelled, 'the run was cancelled');
  } finally {
    emu.setFaults({ script: [] });
  }
});

test('bad secret, unknown tenant, unknown app and missing permission give clear errors without the secret', async () => {
  process.env.IDSYNC_TEST_WRONG_SECRET = 'wr0ng-s3cret-value';
  const bad = source({ clientSecret: { env: 'IDSYNC_TEST_WRONG_SECRET' } });
  const result = await bad.test();
  assert.equal(result.ok, false);
  assert.equal(result.checks[0]!.name, 'token');
  assert.match(result.checks[0]!.message, /client secret was rejected.*AADSTS7000215/);
  await assert.rejects(readAll(bad, q()), (e: any) => {
    assert.equal(e.code, 'AUTH');
    assert.doesNotMatch(JSON.stringify({ m: e.message, h: e.hint }), /wr0ng-s3cret-value/);
    return true;
  });
  await assert.rejects(readAll(source({ tenantId: 'fabrikam.onmicrosoft.com' }), q()), (e: any) => e.code === 'CONFIG' && /tenant 'fabrikam.onmicrosoft.com' was not found/.test(e.message));
  await assert.rejects(readAll(source({ clientId: 'unknown-app' }), q()), (e: any) => e.code === 'CONFIG' && /application 'unknown-app' was not found/.test(e.message));
  process.env.IDSYNC_TEST_LIMITED_SECRET = limited.clientSecret;
  const noGroups = source({ clientId: limited.clientId, clientSecret: { env: 'IDSYNC_TEST_LIMITED_SECRET' } });
  await assert.rejects(readAll(noGroups, q({ groups: true })), (e: any) => e.code === 'AUTH' && /GroupMember\.Read\.All/.test(e.message + e.hint));
  await assert.rejects(readAll(source({ clientSecret: { env: 'IDSYNC_TEST_UNSET_VAR' } }), q()), (e: any) => e.code === 'CONFIG' && /IDSYNC_TEST_UNSET_VAR/.test(e.message));
});

test('an expired token is renewed after a 401 and the listing goes on', async () => {
  const s = source({ pageSize: 100 });
  const pages: number[] = [];
  for await (const p of s.listUsers(q())) {
    if (p.users.length === 0) continue;
    pages.push(p.users.length);
    if (pages.length === 1) await control('/tokens/expire');
  }
  assert.equal(pages.reduce((a, b) => a + b, 0), org.users.length);
  assert.equal(s.tokens.requests, 2);
});

test('certificate credential: a signed client assertion gets a token', async () => {
  const s = source({ clientId: 'cert-app', clientSecret: undefined, certificate: { privateKey: { file: keyFile }, certificate: certPem } });
  const result = await s.test();
  assert.ok(result.ok, JSON.stringify(result));
  const wrongThumb = source({ clientId: 'cert-app', clientSecret: undefined, certificate: { privateKey: { file: keyFile }, thumbprint: '00'.repeat(20) } });
  const bad = await wrongThumb.test();
  assert.match(bad.checks[0]!.message, /certificate credential was rejected/);
  // Thumbprint only: SHA-256 (PS256 + x5t#S256) and the portal's SHA-1 (RS256 + x5t) both sign in.
  const der = new X509Certificate(certPem).raw;
  for (const hash of ['sha256', 'sha1']) {
    const thumbprint = createHash(hash).update(der).digest('hex').toUpperCase();
    const byThumb = await source({ clientId: 'cert-app', clientSecret: undefined, certificate: { privateKey: { file: keyFile }, thumbprint } }).test();
    assert.ok(byThumb.checks[0]!.ok, `${hash} thumbprint: ${JSON.stringify(byThumb.checks[0])}`);
  }
  const [head] = clientAssertion({ kind: 'certificate', privateKey: { reveal: () => readFileSync(keyFile, 'utf8') } as never, certificatePem: certPem }, 'cert-app', 'https://x/token').split('.');
  const header = JSON.parse(Buffer.from(head!, 'base64url').toString());
  assert.deepEqual([header.alg, header['x5t#S256'], header.x5t], ['PS256', createHash('sha256').update(der).digest('base64url'), createHash('sha1').update(der).digest('base64url')], 'PS256 with x5t#S256, and x5t for older tenants');
});

test('attributes(): static catalogue plus discovered directory extensions and custom security attributes', async () => {
  const attrs = await source().attributes();
  const paths = new Map(attrs.map((a) => [a.path, a.type]));
  const hex = org.extensionAppId.replace(/-/g, '');
  assert.equal(paths.get(`extension_${hex}_badgeNumber`), 'number');
  assert.equal(paths.get(`extension_${hex}_githubHandle`), 'string');
  assert.equal(paths.get('onPremisesExtensionAttributes.extensionAttribute15'), 'string');
  assert.equal(paths.get('manager.targetUsername'), 'string');
  assert.equal(paths.get('groups'), 'string[]');
  assert.equal(paths.get('customSecurityAttributes.Engineering.Project'), 'string[]');
  assert.ok(definition.knownAttributes.every((a) => paths.has(a.path)), 'definition.knownAttributes.every((a) => paths.has(a.path))');
});

test('test(): token, users and manager checks pass against a healthy tenant', async () => {
  const r = await source({ requiredGroups: ['jira-users'] }).test();
  assert.ok(r.ok, JSON.stringify(r));
  assert.deepEqual(r.checks.map((c) => c.name), ['token', 'read users', 'read manager', 'required group jira-users']);
});

test('advanced-query detection reads property/operator pairs, not only operators', () => {
  assert.deepEqual(filterUses("proxyAddresses/any(x:startswith(x,'smtp:')) and identities/any(i:i/issuer eq 'b') or displayName eq null"), [
    { property: 'proxyAddresses', operator: 'startsWith' },
    { property: 'identities', operator: 'eq' },
    { property: 'displayName', operator: 'eqNull' },
  ]);
  assert.equal(needsAdvancedQuery('user', 'accountEnabled ne false'), true);
  assert.equal(needsAdvancedQuery('user', "department eq 'Sales and not marketing' or startswith(mail,'a')"), false, 'words inside literals are not operators');
  for (const advanced of ["onPremisesExtensionAttributes/extensionAttribute3 eq 'x'", "companyName eq 'Contoso'", "employeeType eq 'E'", "officeLocation eq 'B1'", "mobilePhone eq '1'", 'employeeHireDate ge 2020-01-01T00:00:00Z', "endswith(mail,'@x.com')", "not(userType eq 'Guest')", 'city eq null', "accountEnabled eq true and companyName in ('A','B')"]) {
    assert.equal(needsAdvancedQuery('user', advanced), true, advanced);
  }
  assert.equal(needsAdvancedQuery('group', "startswith(displayName,'jira-')"), false);
  assert.equal(needsAdvancedQuery('group', 'securityEnabled eq true and mailEnabled eq false'), false);
  for (const advanced of ["startswith(description,'x')", "preferredLanguage eq 'en'", 'expirationDateTime le 2030-01-01T00:00:00Z', "displayName ne 'x'"]) {
    assert.equal(needsAdvancedQuery('group', advanced), true, advanced);
  }
});

test('an advanced $filter gets ConsistencyLevel and $count automatically, in the listing, the search and groupFilter', async () => {
  const s = source({ filter: 'accountEnabled ne false' });
  const { users } = await readAll(s, q());
  assert.deepEqual(users.map((u) => u.id), org.users.filter((u) => u.accountEnabled).map((u) => u.id));
  // eq on an extension attribute: no advanced operator, but an advanced property (the strict emulator refuses it otherwise).
  const cc = org.users[3]!.onPremisesExtensionAttributes.extensionAttribute3!;
  const ext = await readAll(source({ filter: `onPremisesExtensionAttributes/extensionAttribute3 eq '${cc}'` }), q());
  assert.deepEqual(ext.users.map((u) => u.id), org.users.filter((u) => u.onPremisesExtensionAttributes.extensionAttribute3 === cc).map((u) => u.id));
  const member = org.users.find((u) => u.onPremisesExtensionAttributes.extensionAttribute3 === cc)!;
  const hits = await source({ filter: `onPremisesExtensionAttributes/extensionAttribute3 eq '${cc}'` }).searchUsers(member.userPrincipalName, 5);
  assert.deepEqual(hits.map((h) => h.id), [member.id], 'the search carries the connector filter as an advanced query');
  const described = await readAll(source({ groupFilter: "startswith(description,'jira')", membershipStrategy: 'perGroup' }), q({ groups: true }));
  const allowed = new Set(org.groups.filter((g) => g.description?.toLowerCase().startsWith('jira')).map((g) => g.displayName));
  assert.ok(allowed.size > 0, 'the seeded org has groups described as jira');
  assert.ok(described.users.every((u) => u.groups!.every((g) => allowed.has(g))), 'groupFilter on description (advanced) applied');
  const simple = await readAll(source({ filter: "userType eq 'Guest'" }), q({ attributes: ['userType'] }));
  assert.ok(simple.users.length > 0 && simple.users.every((u) => u.attrs.userType === 'Guest'), "simple.users.length > 0 && simple.users.every((u) => u.attrs.userType === 'Guest')");
});
