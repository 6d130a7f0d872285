import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, fetch } from 'undici';
import { generate } from 'selfsigned';
import { createHash, createSign, X509Certificate } from 'node:crypto';
import { rawCaller } from './raw-client.ts';
import { startGraphEmulator, DEFAULT_GRAPH_CLIENT, type GraphEmulator } from './index.ts';
import { generateOrg, MANY_GROUPS_USER_INDEX } from '../org/index.ts';
import { DEFAULT_USER_SELECT } from './directory.ts';
import { clientAssertion } from '../../src/sources/entra/token.ts';

let emu: GraphEmulator;
let agent: Agent;
let token: string;
const org = generateOrg({ users: 450, seed: 21 });
const limited = { clientId: 'limited-app', clientSecret: 'limited-secret', permissions: ['User.Read.All'] };
let certPem: string;
let keyPem: string;

before(async () => {
  const pems = await generate([{ name: 'commonName', value: 'idsync-test-client' }], { keySize: 2048, algorithm: 'sha256' } as never);
  certPem = pems.cert;
  keyPem = pems.private;
  emu = await startGraphEmulator({ org, clients: [DEFAULT_GRAPH_CLIENT, limited, { clientId: 'cert-app', certificates: [certPem] }] });
  agent = new Agent({ connect: { ca: emu.ca } });
  token = await getToken(DEFAULT_GRAPH_CLIENT.clientId, DEFAULT_GRAPH_CLIENT.clientSecret);
});
after(async () => {
  await agent.close();
  await emu.close();
});

const call = rawCaller({ url: () => emu.url, agent: () => agent, token: () => token });

async function tokenRequest(form: Record<string, string>, tenant = emu.tenantId) {
  return call(`/${tenant}/oauth2/v2.0/token`, {
    method: 'POST',
    auth: null,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });
}

async function getToken(clientId: string, clientSecret: string): Promise<string> {
  const r = await tokenRequest({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, scope: 'https://graph.microsoft.com/.default' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.access_token;
}

const graphError = (body: any) => body?.error?.code as string;

test('token endpoint: client secret, bad secret, unknown tenant, unknown client, and the bearer check', async () => {
  const ok = await tokenRequest({ grant_type: 'client_credentials', client_id: DEFAULT_GRAPH_CLIENT.clientId, client_secret: DEFAULT_GRAPH_CLIENT.clientSecret, scope: 'https://graph.microsoft.com/.default' });
  assert.equal(ok.body.token_type, 'Bearer');
  assert.equal(ok.body.expires_in, 3599);
  const bad = await tokenRequest({ grant_type: 'client_credentials', client_id: DEFAULT_GRAPH_CLIENT.clientId, client_secret: 'nope', scope: 'https://graph.microsoft.com/.default' });
  assert.equal(bad.status, 401);
  assert.equal(bad.body.error, 'invalid_client');
  assert.deepEqual(bad.body.error_codes, [7000215]);
  assert.match(bad.body.error_description, /^AADSTS7000215: Invalid client secret provided/);
  const tenant = await tokenRequest({ grant_type: 'client_credentials', client_id: DEFAULT_GRAPH_CLIENT.clientId, client_secret: 'x', scope: 'https://graph.microsoft.com/.default' }, 'not-a-tenant');
  assert.equal(tenant.status, 400);
  assert.equal(tenant.body.error, 'invalid_request');
  assert.match(tenant.body.error_description, /^AADSTS90002: Tenant 'not-a-tenant' not found/);
  const client = await tokenRequest({ grant_type: 'client_credentials', client_id: 'ghost', client_secret: 'x', scope: 'https://graph.microsoft.com/.default' });
  assert.deepEqual(client.body.error_codes, [700016]);
  // The tenant's domain works as well as its id.
  const byDomain = await tokenRequest({ grant_type: 'client_credentials', client_id: DEFAULT_GRAPH_CLIENT.clientId, client_secret: DEFAULT_GRAPH_CLIENT.clientSecret, scope: 'https://graph.microsoft.com/.default' }, org.initialDomain);
  assert.equal(byDomain.status, 200);

  const none = await call('/v1.0/users', { auth: null });
  assert.equal(none.status, 401);
  assert.equal(graphError(none.body), 'InvalidAuthenticationToken');
  assert.ok(none.body.error.innerError['request-id'], "none.body.error.innerError['request-id']");
  const forged = await call('/v1.0/users', { auth: 'a.b.c' });
  assert.equal(forged.status, 401);
  const fresh = await getToken(DEFAULT_GRAPH_CLIENT.clientId, DEFAULT_GRAPH_CLIENT.clientSecret);
  assert.equal((await call('/v1.0/users?$top=1', { auth: fresh })).status, 200);
  const expired = await (await fetch(`${emu.url}/_emulator/tokens/expire`, { method: 'POST', dispatcher: agent })).json() as { expired: number };
  assert.ok(expired.expired >= 1, 'expired.expired >= 1');
  const after = await call('/v1.0/users?$top=1', { auth: fresh });
  assert.equal(after.status, 401);
  assert.match(after.body.error.message, /expired/);
  token = await getToken(DEFAULT_GRAPH_CLIENT.clientId, DEFAULT_GRAPH_CLIENT.clientSecret);
});

function assertion(opts: { key: string; cert: string; clientId: string; aud: string; extraHeader?: Record<string, string> }): string {
  const x5t = createHash('sha1').update(new X509Certificate(opts.cert).raw).digest('base64url');
  const now = Math.floor(Date.now() / 1000);
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const head = `${enc({ alg: 'RS256', typ: 'JWT', x5t, ...opts.extraHeader })}.${enc({ aud: opts.aud, iss: opts.clientId, sub: opts.clientId, jti: 'j1', nbf: now, exp: now + 600 })}`;
  return `${head}.${createSign('RSA-SHA256').update(head).sign(opts.key).toString('base64url')}`;
}

test('token endpoint: certificate client assertion is verified against the registered certificate', async () => {
  const aud = `${emu.url}/${emu.tenantId}/oauth2/v2.0/token`;
  const form = (a: string) => ({ grant_type: 'client_credentials', client_id: 'cert-app', scope: 'https://graph.microsoft.com/.default', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: a });
  const good = await tokenRequest(form(assertion({ key: keyPem, cert: certPem, clientId: 'cert-app', aud })));
  assert.equal(good.status, 200, JSON.stringify(good.body));
  const other = await generate([{ name: 'commonName', value: 'other' }], { keySize: 2048, algorithm: 'sha256' } as never);
  // Signed by another key but claiming the registered thumbprint: signature check fails.
  const forged = assertion({ key: other.private, cert: certPem, clientId: 'cert-app', aud });
  const bad = await tokenRequest(form(forged));
  assert.equal(bad.status, 401);
  assert.match(bad.body.error_description, /^AADSTS700027: Client assertion failed signature validation/);
  const unknownCert = await tokenRequest(form(assertion({ key: other.private, cert: other.cert, clientId: 'cert-app', aud })));
  assert.match(unknownCert.body.error_description, /not registered on application/);
  // The current form: PS256 with x5t#S256, as idsync's source (and MSAL for Node) send it.
  const ps256 = await tokenRequest(form(clientAssertion({ kind: 'certificate', privateKey: { reveal: () => keyPem } as never, certificatePem: certPem }, 'cert-app', aud)));
  assert.equal(ps256.status, 200, JSON.stringify(ps256.body));
  const header = JSON.parse(Buffer.from(clientAssertion({ kind: 'certificate', privateKey: { reveal: () => keyPem } as never, certificatePem: certPem }, 'cert-app', aud).split('.')[0]!, 'base64url').toString());
  assert.equal(header.alg, 'PS256');
  assert.equal(header['x5t#S256'], createHash('sha256').update(new X509Certificate(certPem).raw).digest('base64url'));
  // A SHA-256 thumbprint of another certificate next to the right SHA-1 one is refused.
  const mixed = assertion({ key: keyPem, cert: certPem, clientId: 'cert-app', aud, extraHeader: { 'x5t#S256': createHash('sha256').update(new X509Certificate(other.cert).raw).digest('base64url') } });
  assert.match((await tokenRequest(form(mixed))).body.error_description, /^AADSTS700027: .*not registered/);
});

test('openid configuration points at the emulator token endpoint', async () => {
  const r = await call(`/${emu.tenantId}/v2.0/.well-known/openid-configuration`, { auth: null });
  assert.equal(r.status, 200);
  assert.equal(r.body.token_endpoint, `${emu.url}/${emu.tenantId}/oauth2/v2.0/token`);
});

test('users list: default property set, $top bounds, absolute nextLinks covering every user exactly once', async () => {
  const first = await call('/v1.0/users');
  assert.equal(first.status, 200);
  assert.equal(first.body.value.length, 100);
  assert.deepEqual(Object.keys(first.body.value[0]).sort(), [...DEFAULT_USER_SELECT].sort());
  assert.equal(first.headers.get('x-ms-resource-unit'), '2');
  const tooBig = await call('/v1.0/users?$top=1000');
  assert.equal(tooBig.status, 400);
  assert.equal(tooBig.body.error.message, "Invalid page size specified: '1000'. Must be between 1 and 999 inclusive.");
  assert.equal((await call('/v1.0/users?$top=0')).status, 400);

  const seen: string[] = [];
  let url: string | undefined = '/v1.0/users?$select=id,displayName&$top=64';
  let pages = 0;
  while (url) {
    const r = await call(url);
    assert.equal(r.status, 200);
    pages++;
    for (const u of r.body.value) {
      assert.deepEqual(Object.keys(u).sort(), ['displayName', 'id']);
      seen.push(u.id);
    }
    url = r.body['@odata.nextLink'];
    if (url) {
      assert.match(url, new RegExp(`^${emu.url.replace(/[.]/g, '\\.')}/v1\\.0/users\\?.*\\$skiptoken=`));
      assert.match(url, /\$select=id,displayName/);
    }
  }
  assert.equal(pages, Math.ceil(org.users.length / 64));
  assert.deepEqual(seen, org.users.map((u) => u.id));
  const tampered = await call('/v1.0/users?$filter=accountEnabled eq false&$skiptoken=' + Buffer.from('DSpt\u00025\u0001zzz').toString('base64url'));
  assert.equal(tampered.status, 400);
});

test('users list: $filter operators, advanced-query rules and $count', async () => {
  const q = (f: string, headers?: Record<string, string>, extra = '') => call(`/v1.0/users?$select=id,userPrincipalName,accountEnabled&$top=999&$filter=${encodeURIComponent(f)}${extra}`, { headers });
  const target = org.users[7]!;
  const byUpn = await q(`userPrincipalName eq '${target.userPrincipalName.toUpperCase()}'`);
  assert.deepEqual(byUpn.body.value.map((u: any) => u.id), [target.id]);
  const disabled = await q('accountEnabled eq false');
  assert.deepEqual(disabled.body.value.map((u: any) => u.id), org.users.filter((u) => !u.accountEnabled).map((u) => u.id));
  const cc = org.users[3]!.onPremisesExtensionAttributes.extensionAttribute3!;
  const byExtDefault = await q(`onPremisesExtensionAttributes/extensionAttribute3 eq '${cc}'`);
  assert.equal(byExtDefault.status, 400, 'eq on an on-premises extension attribute is an advanced query');
  assert.equal(byExtDefault.body.error.code, 'Request_UnsupportedQuery');
  const byExt = await q(`onPremisesExtensionAttributes/extensionAttribute3 eq '${cc}'`, { consistencylevel: 'eventual' }, '&$count=true');
  assert.deepEqual(byExt.body.value.map((u: any) => u.id), org.users.filter((u) => u.onPremisesExtensionAttributes.extensionAttribute3 === cc).map((u) => u.id));
  const ids = [org.users[1]!.id, org.users[2]!.id];
  const inList = await q(`id in ('${ids[0]}','${ids[1]}') and accountEnabled eq true or startswith(displayName,'zzzz')`);
  assert.deepEqual(inList.body.value.map((u: any) => u.id), ids);
  const guest = org.users.find((u) => u.userType === 'Guest')!;
  const quoted = await q(`mail eq 'o''brien@nowhere' or userPrincipalName eq '${guest.userPrincipalName}'`);
  assert.deepEqual(quoted.body.value.map((u: any) => u.id), [guest.id]);

  const ne = await q('accountEnabled ne true');
  assert.equal(ne.status, 400);
  assert.equal(ne.body.error.code, 'Request_UnsupportedQuery');
  const neAdvanced = await q('accountEnabled ne true', { consistencylevel: 'eventual' }, '&$count=true');
  assert.equal(neAdvanced.status, 200);
  assert.equal(neAdvanced.body['@odata.count'], disabled.body.value.length);
  assert.equal((await q("endswith(mail,'@contoso.com')")).status, 400);
  assert.equal((await call('/v1.0/users?$count=true')).status, 400);
  const counted = await call('/v1.0/users?$count=true&$top=100', { headers: { consistencylevel: 'eventual' } });
  assert.equal(counted.body['@odata.count'], org.users.length);
  const second = await call(counted.body['@odata.nextLink'], { headers: { consistencylevel: 'eventual' } });
  assert.equal(second.body['@odata.count'], undefined, '@odata.count only on the first page');
  // Per property and operator, as Microsoft's tables mark them (docs/protocol-facts.md).
  for (const advancedOnly of ["companyName eq 'Contoso'", "employeeType eq 'Employee'", "officeLocation eq 'B1'", "mobilePhone eq '+1 555'", 'employeeHireDate ge 2020-01-01T00:00:00Z', "startswith(companyName,'C')", 'displayName eq null', "not(department eq 'Sales')"]) {
    const refused = await q(advancedOnly);
    assert.equal(refused.status, 400, `${advancedOnly} needs advanced query parameters`);
    assert.equal(refused.body.error.code, 'Request_UnsupportedQuery');
    assert.ok(refused.body.error.innerError?.['request-id'], 'Graph error layout: innerError with request-id');
    assert.equal((await q(advancedOnly, { consistencylevel: 'eventual' }, '&$count=true')).status, 200, `${advancedOnly} as an advanced query`);
    assert.equal((await q(advancedOnly, { consistencylevel: 'eventual' })).status, 400, `${advancedOnly}: the header alone is not enough`);
  }
  for (const byDefault of ["department eq 'Sales'", "startswith(jobTitle,'Eng')", "userType eq 'Member'", "proxyAddresses/any(x:startswith(x,'smtp:'))"]) {
    assert.equal((await q(byDefault)).status, 200, `${byDefault} works by default`);
  }
  assert.equal((await q('nosuchprop eq 1')).status, 400);
  assert.equal((await q("displayName eq 'unterminated")).status, 400);
});

test('users list: $expand=manager caps pages at 100 and embeds the manager; extensions only when selected; 501 for aboutMe', async () => {
  const r = await call('/v1.0/users?$select=id,displayName&$top=999&$expand=manager($select=id,mail,userPrincipalName,displayName)');
  assert.equal(r.status, 200);
  assert.equal(r.body.value.length, 100);
  assert.ok(r.body['@odata.nextLink'], "r.body['@odata.nextLink']");
  const byId = new Map(org.users.map((u) => [u.id, u]));
  for (const u of r.body.value) {
    const src = byId.get(u.id)!;
    if (src.managerId) {
      assert.equal(u.manager.id, src.managerId);
      assert.deepEqual(Object.keys(u.manager).sort(), ['@odata.type', 'displayName', 'id', 'mail', 'userPrincipalName']);
    } else assert.equal(u.manager, undefined);
  }
  const expandAdvanced = await call("/v1.0/users?$select=id&$expand=manager($select=id)&$count=true&$filter=accountEnabled ne false", { headers: { consistencylevel: 'eventual' } });
  assert.equal(expandAdvanced.status, 400, '$expand is not supported with advanced queries');
  assert.equal(expandAdvanced.body.error.code, 'Request_UnsupportedQuery');
  const levelsOnList = await call('/v1.0/users?$select=id&$expand=manager($levels=max;$select=id)&$count=true', { headers: { consistencylevel: 'eventual' } });
  assert.equal(levelsOnList.status, 400, '$levels is only supported on a single user');
  const chain = org.users.find((u) => u.managerId)!;
  assert.equal((await call(`/v1.0/users/${chain.id}?$expand=manager($levels=max;$select=id)&$count=true`, { headers: { consistencylevel: 'eventual' } })).status, 200, '$levels on one user with ConsistencyLevel');
  assert.equal((await call(`/v1.0/users/${chain.id}?$expand=manager($levels=max;$select=id)`)).status, 400, '$levels needs ConsistencyLevel');
  const hex = org.extensionAppId.replace(/-/g, '');
  const ext = `extension_${hex}_badgeNumber`;
  const withExt = await call(`/v1.0/users?$select=id,${ext},onPremisesExtensionAttributes&$top=50`);
  assert.ok(withExt.body.value.some((u: any) => typeof u[ext] === 'number'), "withExt.body.value.some((u: any) => typeof u[ext] === 'number')");
  assert.ok(withExt.body.value.every((u: any) => 'onPremisesExtensionAttributes' in u), "withExt.body.value.every((u: any) => 'onPremisesExtensionAttributes' in u)");
  const without = await call('/v1.0/users?$top=50');
  assert.ok(without.body.value.every((u: any) => !(ext in u) && !('onPremisesExtensionAttributes' in u)), "without.body.value.every((u: any) => !(ext in u) && !('onPremisesExtensionAttributes' i...");
  const about = await call('/v1.0/users?$select=aboutMe');
  assert.equal(about.status, 501);
  assert.equal((await call(`/v1.0/users/${org.users[0]!.id}?$select=aboutMe`)).status, 200);
});

test('get user by id, by UPN (guest #EXT# form too), 404 body; manager and its 404', async () => {
  const u = org.users[30]!;
  const byId = await call(`/v1.0/users/${u.id}?$select=id,department`);
  assert.deepEqual({ id: byId.body.id, department: byId.body.department }, { id: u.id, department: u.department });
  const guest = org.users.find((x) => x.userType === 'Guest')!;
  const byUpn = await call(`/v1.0/users/${encodeURIComponent(guest.userPrincipalName)}`);
  assert.equal(byUpn.body.id, guest.id);
  const missing = await call('/v1.0/users/00000000-0000-4000-8000-000000000000');
  assert.equal(missing.status, 404);
  assert.equal(missing.body.error.code, 'Request_ResourceNotFound');
  assert.equal((await call(`/v1.0/users/${u.id}/manager`)).body.id, u.managerId);
  const ceo = await call(`/v1.0/users/${org.users[0]!.id}/manager`);
  assert.equal(ceo.status, 404);
  assert.equal(ceo.body.error.message, "Resource 'manager' does not exist or one of its queried reference-property objects are not present.");
});

test('memberOf: mixed directory objects, the group cast, nextLinks for a user in >100 groups, transitive nesting', async () => {
  const many = org.users[MANY_GROUPS_USER_INDEX]!;
  const mixed: any[] = [];
  let url: string | undefined = `/v1.0/users/${many.id}/memberOf`;
  while (url) {
    const r = await call(url);
    assert.equal(r.status, 200);
    mixed.push(...r.body.value);
    url = r.body['@odata.nextLink'];
  }
  const expected = org.groups.filter((g) => g.members.includes(many.id)).length;
  assert.equal(mixed.filter((o) => o['@odata.type'] === '#microsoft.graph.group').length, expected);
  assert.ok(expected > 100, 'expected > 100');
  assert.ok(mixed.some((o) => o['@odata.type'] === '#microsoft.graph.directoryRole'), "mixed.some((o) => o['@odata.type'] === '#microsoft.graph.directoryRole')");
  const castDefault = await call(`/v1.0/users/${many.id}/memberOf/microsoft.graph.group?$select=displayName&$top=999`);
  assert.equal(castDefault.status, 400, 'an OData cast with another query parameter is an advanced query');
  assert.equal(castDefault.body.error.code, 'Request_UnsupportedQuery');
  assert.equal((await call(`/v1.0/users/${many.id}/memberOf/microsoft.graph.group`)).status, 200, 'a cast alone is a default query');
  const cast = await call(`/v1.0/users/${many.id}/memberOf/microsoft.graph.group?$select=displayName&$top=999&$count=true`, { headers: { consistencylevel: 'eventual' } });
  assert.equal(cast.body.value.length, expected);
  assert.equal(cast.body['@odata.count'], expected);
  assert.ok(cast.body.value.every((o: any) => o['@odata.type'] === '#microsoft.graph.group' && o.displayName), "cast.body.value.every((o: any) => o['@odata.type'] === '#microsoft.graph.group' && o.di...");
  assert.equal((await call(`/v1.0/users/${many.id}/memberOf/microsoft.graph.nothing`)).body.error.code, 'Request_UnsupportedQuery');

  const admins = org.groups.find((g) => g.displayName === 'jira-administrators')!;
  const admin = admins.members[0]!;
  const direct = await call(`/v1.0/users/${admin}/memberOf/microsoft.graph.group?$select=displayName&$count=true`, { headers: { consistencylevel: 'eventual' } });
  assert.equal((await call(`/v1.0/users/${admin}/transitiveMemberOf/microsoft.graph.group?$select=displayName`)).status, 400, 'transitiveMemberOf cast with $select is advanced-only');
  const transitive = await call(`/v1.0/users/${admin}/transitiveMemberOf/microsoft.graph.group?$select=displayName&$count=true`, { headers: { consistencylevel: 'eventual' } });
  const names = (r: any) => r.body.value.map((g: any) => g.displayName);
  assert.ok(names(direct).includes('jira-administrators'), "names(direct).includes('jira-administrators')");
  assert.ok(names(transitive).includes('jira-users'), 'nested membership shows up transitively');
});

test('groups and members, with transitive expansion of nested groups', async () => {
  const r = await call(`/v1.0/groups?$filter=${encodeURIComponent("displayName eq 'confluence-users'")}`);
  assert.equal(r.body.value.length, 1);
  const byDescription = `/v1.0/groups?$filter=${encodeURIComponent("startswith(description,'confluence')")}`;
  const refused = await call(byDescription);
  assert.equal(refused.status, 400, 'startsWith on a group description is an advanced query');
  assert.equal(refused.body.error.code, 'Request_UnsupportedQuery');
  const advanced = await call(`${byDescription}&$count=true`, { headers: { consistencylevel: 'eventual' } });
  assert.equal(advanced.status, 200, JSON.stringify(advanced.body));
  assert.equal(advanced.body['@odata.count'], advanced.body.value.length);
  const id = r.body.value[0].id;
  const direct = await call(`/v1.0/groups/${id}/members?$top=999&$select=id`);
  assert.ok(direct.body.value.some((m: any) => m['@odata.type'] === '#microsoft.graph.group'), "direct.body.value.some((m: any) => m['@odata.type'] === '#microsoft.graph.group')");
  const users: string[] = [];
  let url: string | undefined = `/v1.0/groups/${id}/transitiveMembers/microsoft.graph.user?$select=id&$top=100&$count=true`;
  while (url) {
    const p = await call(url, { headers: { consistencylevel: 'eventual' } });
    users.push(...p.body.value.map((m: any) => m.id));
    url = p.body['@odata.nextLink'];
  }
  const eng = org.groups.find((g) => g.displayName === 'dept-engineering')!;
  assert.ok(eng.members.every((m) => users.includes(m)), 'eng.members.every((m) => users.includes(m))');
  assert.equal(new Set(users).size, users.length);
});

test('$batch: limits, unique ids, per-request status, inner throttling', async () => {
  const post = (requests: unknown[]) => call('/v1.0/$batch', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ requests }) });
  const reqs = Array.from({ length: 21 }, (_, i) => ({ id: String(i), method: 'GET', url: '/users?$top=1' }));
  assert.equal((await post(reqs)).status, 400);
  assert.equal((await post([{ id: 'a', method: 'GET', url: '/users' }, { id: 'A', method: 'GET', url: '/users' }])).status, 400);
  const u = org.users[5]!;
  emu.setBatchFaults([{ path: '/manager', status: 429, retryAfterSeconds: 3 }]);
  const ok = await post([
    { id: '1', method: 'GET', url: `/users/${u.id}/memberOf/microsoft.graph.group?$select=displayName&$count=true`, headers: { ConsistencyLevel: 'eventual' } },
    { id: '2', method: 'GET', url: '/users/00000000-0000-4000-8000-000000000000' },
    { id: '3', method: 'GET', url: `/users/${u.id}/manager` },
  ]);
  assert.equal(ok.status, 200);
  const byId = new Map(ok.body.responses.map((r: any) => [r.id, r]));
  assert.equal((byId.get('1') as any).status, 200);
  assert.deepEqual((byId.get('1') as any).body.value.map((g: any) => g.displayName).sort(), org.groups.filter((g) => g.members.includes(u.id)).map((g) => g.displayName).sort());
  assert.equal((byId.get('2') as any).status, 404);
  assert.equal((byId.get('3') as any).status, 429);
  assert.equal((byId.get('3') as any).headers['Retry-After'], '3');
  emu.setBatchFaults([{ scope: 'batch', status: 429, retryAfterSeconds: 1.5 }]);
  const whole = await post([{ id: 'a', method: 'GET', url: '/users?$top=1' }, { id: 'b', method: 'GET', url: '/users?$top=2' }]);
  assert.equal(whole.status, 429, 'a $batch can be throttled as a whole');
  assert.equal(whole.headers.get('retry-after'), '1.5', 'Retry-After with decimals');
  assert.deepEqual(whole.body.responses.map((r: any) => [r.status, r.headers['Retry-After']]), [[429, '1.5'], [429, '1.5']]);
  assert.equal((await post([{ id: 'a', method: 'GET', url: '/users?$top=1' }])).status, 200, 'the fault was used once');
});

test('permissions: a client without GroupMember.Read.All gets 403 Authorization_RequestDenied; customSecurityAttributes need their own permission', async () => {
  const t = await getToken(limited.clientId, limited.clientSecret);
  const r = await call(`/v1.0/users/${org.users[1]!.id}/memberOf`, { auth: t });
  assert.equal(r.status, 403);
  assert.equal(r.body.error.code, 'Authorization_RequestDenied');
  const withCsa = org.users.find((u) => u.customSecurityAttributes)!;
  const limitedView = await call(`/v1.0/users/${withCsa.id}?$select=customSecurityAttributes`, { auth: t });
  assert.equal(limitedView.body.customSecurityAttributes, null);
  const fullView = await call(`/v1.0/users/${withCsa.id}?$select=customSecurityAttributes`);
  assert.ok(fullView.body.customSecurityAttributes.Engineering, 'fullView.body.customSecurityAttributes.Engineering');
});

test('rate limiter answers 429 with Retry-After and a Graph error body', async () => {
  emu.setFaults({ rateLimit: { capacity: 1, perSecond: 0.001, retryAfterSeconds: 2 } });
  try {
    await call('/v1.0/users?$top=1');
    const r = await call('/v1.0/users?$top=1');
    assert.equal(r.status, 429);
    assert.equal(r.headers.get('retry-after'), '2');
    assert.equal(r.body.error.code, 'TooManyRequests');
  } finally {
    emu.setFaults({ rateLimit: undefined });
  }
});

test('control API: PATCH and DELETE a user are visible through Graph', async () => {
  const u = org.users[40]!;
  const ctl = (path: string, method: string, body?: unknown) =>
    fetch(`${emu.url}/_emulator${path}`, { method, dispatcher: agent, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  assert.equal((await ctl(`/users/${u.id}`, 'PATCH', { jobTitle: 'Chief Tester' })).status, 200);
  const filtered = await call(`/v1.0/users?$select=id&$filter=${encodeURIComponent("jobTitle eq 'Chief Tester'")}`);
  assert.deepEqual(filtered.body.value.map((x: any) => x.id), [u.id]);
  const victim = org.users[41]!.id;
  assert.equal((await ctl(`/users/${victim}`, 'DELETE')).status, 204);
  assert.equal((await call(`/v1.0/users/${victim}`)).status, 404);
  const stats = (await (await ctl('/directory', 'GET')).json()) as { users: number };
  assert.equal(stats.users, 449);
});

test('GET /users/$count: text/plain, needs ConsistencyLevel: eventual, honours $filter', async () => {
  const plain = await call('/v1.0/users/$count');
  assert.equal(plain.status, 400);
  const all = await call('/v1.0/users/$count', { headers: { consistencylevel: 'eventual' } });
  assert.equal(all.status, 200);
  assert.match(String(all.headers.get('content-type')), /^text\/plain/);
  assert.equal(String(all.body), String(emu.directory.org.users.length));
  const disabled = await call(`/v1.0/users/$count?$filter=${encodeURIComponent('accountEnabled eq false')}`, { headers: { consistencylevel: 'eventual' } });
  assert.equal(Number(disabled.body), emu.directory.org.users.filter((u) => !u.accountEnabled).length);
  assert.ok(Number(disabled.body) > 0 && Number(disabled.body) < emu.directory.org.users.length, 'Number(disabled.body) > 0 && Number(disabled.body) < emu.directory.org.users.length');
  assert.equal((await call(`/v1.0/users/$count?$filter=${encodeURIComponent('nosuchprop eq 1')}`, { headers: { consistencylevel: 'eventual' } })).status, 400);
});

test('usage counts every Graph call, batched ones included, and the resource units charged', async () => {
  const before = { ...emu.usage };
  const group = emu.directory.org.groups[0]!;
  await call(`/v1.0/groups/${group.id}/members/microsoft.graph.user?$select=id&$top=999&$count=true`, { headers: { consistencylevel: 'eventual' } }); // members, $select: 3 - 1
  const users = emu.directory.org.users.slice(0, 3);
  const batch = await call('/v1.0/$batch', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ requests: users.map((u, i) => ({ id: String(i), method: 'GET', url: `/users/${u.id}/memberOf/microsoft.graph.group?$select=displayName&$count=true`, headers: { ConsistencyLevel: 'eventual' } })) }), // memberOf, $select: 2 - 1 each
  });
  assert.equal(batch.status, 200);
  assert.equal(emu.usage.calls - before.calls, 4, 'the $batch envelope is not a call; its three requests are');
  assert.equal(emu.usage.resourceUnits - before.resourceUnits, 2 + 3 * 1);
});

test('group members with $count=true: @odata.count on the first page, only with ConsistencyLevel: eventual', async () => {
  const eng = org.groups.find((g) => g.displayName === 'dept-engineering')!;
  const url = `/v1.0/groups/${eng.id}/members/microsoft.graph.user?$select=id&$top=5&$count=true`;
  const refused = await call(url);
  assert.equal(refused.status, 400, 'an advanced query without the header');
  const first = await call(url, { headers: { consistencylevel: 'eventual' } });
  assert.equal(first.status, 200);
  assert.equal(first.body['@odata.count'], eng.members.filter((m) => org.users.some((u) => u.id === m)).length);
  const second = await call(first.body['@odata.nextLink'], { headers: { consistencylevel: 'eventual' } });
  assert.equal(second.body['@odata.count'], undefined, 'the count is on the first page only');
});

test('$count=true on any directory collection needs ConsistencyLevel; token errors have the AAD layout', async () => {
  const group = org.groups[0]!;
  const user = org.users[3]!;
  for (const path of ['/v1.0/groups?$count=true', `/v1.0/groups/${group.id}/members?$count=true`, `/v1.0/users/${user.id}/memberOf?$count=true`, `/v1.0/users/${user.id}/transitiveMemberOf/microsoft.graph.group?$count=true`]) {
    const refused = await call(path);
    assert.equal(refused.status, 400, `${path} without ConsistencyLevel`);
    assert.equal(refused.body.error.code, 'Request_BadRequest');
    assert.ok(refused.body.error.innerError?.date && refused.body.error.innerError['request-id'], 'Graph error layout');
    const counted = await call(path, { headers: { consistencylevel: 'eventual' } });
    assert.equal(counted.status, 200, `${path} with ConsistencyLevel`);
    assert.equal(typeof counted.body['@odata.count'], 'number', `${path}: @odata.count`);
  }
  const bad = await tokenRequest({ grant_type: 'client_credentials', client_id: DEFAULT_GRAPH_CLIENT.clientId, client_secret: 'wrong', scope: 'https://graph.microsoft.com/.default' });
  assert.equal(bad.status, 401);
  assert.deepEqual(Object.keys(bad.body).sort(), ['correlation_id', 'error', 'error_codes', 'error_description', 'error_uri', 'timestamp', 'trace_id']);
  assert.deepEqual(bad.body.error_codes, [7000215]);
  assert.match(bad.body.error_description, /^AADSTS7000215: .* Trace ID: [0-9a-f-]{36} Correlation ID: [0-9a-f-]{36} Timestamp: \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}/);
});

test('$filter limits: 15 expressions by default (each value of in counts), a 2,048-character URL with advanced queries', async () => {
  const ids = (n: number) => org.users.slice(0, n).map((u) => `'${u.id}'`).join(',');
  const ok = await call(`/v1.0/users?$filter=${encodeURIComponent(`id in (${ids(15)})`)}&$select=id`);
  assert.equal(ok.status, 200);
  assert.equal(ok.body.value.length, 15);
  const many = await call(`/v1.0/users?$filter=${encodeURIComponent(`id in (${ids(14)}) and accountEnabled eq true`)}&$select=id`);
  assert.equal(many.status, 200, '14 values and one comparison are 15 expressions');
  const tooMany = await call(`/v1.0/users?$filter=${encodeURIComponent(`id in (${ids(15)}) and accountEnabled eq true`)}&$select=id`);
  assert.equal(tooMany.status, 400);
  assert.equal(graphError(tooMany.body), 'Request_UnsupportedQuery');
  const advanced = { consistencylevel: 'eventual' };
  const long = await call(`/v1.0/users?$count=true&$filter=${encodeURIComponent(`id in (${ids(60)})`)}&$select=id`, { headers: advanced });
  assert.equal(long.status, 400, 'a URL over 2,048 characters is refused');
  const fits = await call(`/v1.0/users?$count=true&$filter=${encodeURIComponent(`id in (${ids(30)})`)}&$select=id`, { headers: advanced });
  assert.equal(fits.status, 200, 'advanced queries are limited by URL length, not by 15 expressions');
  assert.equal(fits.body.value.length, 30);
});
