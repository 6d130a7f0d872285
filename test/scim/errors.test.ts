// RFC 7644 error cases and hostile input: every refusal is a SCIM error body with the right
// status and scimType, and nothing crashes the server. Plus a filter fuzz test and token
// management through the admin API.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { JIRA_PAT, startScimHarness, type ScimHarness } from './harness.ts';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';

function assertScimError(a: { status: number; body: any; headers: Headers }, status: number, scimType?: string): void {
  assert.equal(a.status, status, JSON.stringify(a.body));
  assert.match(a.headers.get('content-type') ?? '', /application\/scim\+json/);
  assert.deepEqual(a.body.schemas, [ERROR]);
  assert.equal(a.body.status, String(status));
  assert.equal(typeof a.body.detail, 'string');
  if (scimType) assert.equal(a.body.scimType, scimType);
}

describe('SCIM: errors and hostile input', () => {
  let h: ScimHarness;
  let id: string;
  before(async () => {
    h = await startScimHarness();
    id = (await h.client.post('/Users', { schemas: [USER], userName: 'err@example.com', active: true })).body.id;
  });
  after(async () => {
    await h?.close();
  });

  it('refuses bad bodies with invalidSyntax / invalidValue, never a 500', async () => {
    const c = h.client;
    assertScimError(await c.post('/Users', '{"userName": '), 400, 'invalidSyntax');
    assertScimError(await c.post('/Users', { schemas: [USER] }), 400, 'invalidValue');
    assertScimError(await c.post('/Users', { schemas: [USER], userName: 'x@y', active: 'maybe' }), 400, 'invalidValue');
    assertScimError(await c.post('/Users', { schemas: [USER], userName: 'x@y', emails: 'x@y' }), 400, 'invalidValue');
    assertScimError(await c.post('/Users', [1, 2]), 400, 'invalidSyntax');
    assertScimError(await c.post('/Users', { schemas: ['urn:wrong'], userName: 'x@y' }), 400, 'invalidValue');
    assertScimError(await c.post('/Users', '['.repeat(100) + ']'.repeat(100)), 400, 'invalidSyntax');
    const big = await c.post('/Users', { schemas: [USER], userName: 'big@y', title: 'x'.repeat(3 * 1024 * 1024) });
    assertScimError(big, 413);
    const text = await fetch(`${h.base}/Users`, { method: 'POST', headers: { authorization: `Bearer ${h.token}`, 'content-type': 'text/plain' }, body: 'hello' });
    assert.equal(text.status, 415);
  });

  it('refuses bad PATCH operations with the scimType the RFC names', async () => {
    const c = h.client;
    assertScimError(await c.patch(`/Users/${id}`, { schemas: [PATCH], Operations: [] }), 400, 'invalidSyntax');
    assertScimError(await c.patch(`/Users/${id}`, { schemas: [PATCH], Operations: [{ op: 'move', path: 'title', value: 'x' }] }), 400, 'invalidSyntax');
    assertScimError(await c.patch(`/Users/${id}`, { schemas: [PATCH], Operations: [{ op: 'remove' }] }), 400, 'noTarget');
    assertScimError(await c.patch(`/Users/${id}`, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'emails[type eq "work" or type eq "home"].value', value: 'x' }] }), 400, 'noTarget');
    assertScimError(await c.patch(`/Users/${id}`, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'emails[type eq', value: 'x' }] }), 400, 'invalidPath');
    assertScimError(await c.patch(`/Users/${id}`, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'id', value: 'x' }] }), 400, 'mutability');
    assertScimError(await c.patch(`/Users/${id}`, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'userName', value: '' }] }), 400, 'invalidValue');
  });

  it('answers 404, 409 and invalidFilter as SCIM errors', async () => {
    const c = h.client;
    assertScimError(await c.get('/Users/00000000-0000-0000-0000-000000000000'), 404);
    assertScimError(await c.del('/Users/00000000-0000-0000-0000-000000000000'), 404);
    assertScimError(await c.get('/Nothing'), 404);
    const other = (await c.post('/Users', { schemas: [USER], userName: 'other@example.com' })).body.id;
    assertScimError(await c.patch(`/Users/${other}`, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'userName', value: 'ERR@example.com' }] }), 409, 'uniqueness');
    assertScimError(await c.get(`/Users?filter=${encodeURIComponent('userName eq')}`), 400, 'invalidFilter');
    assertScimError(await c.get(`/Users?filter=${encodeURIComponent('x'.repeat(5000))}`), 400, 'invalidFilter');
    assertScimError(await c.get('/Users?count=abc'), 400, 'invalidValue');
  });

  it('fuzz: random and hostile filters give a valid answer or a SCIM error, never a crash or a hang', async () => {
    const pieces = ['userName', 'emails', '[', ']', '(', ')', ' eq ', ' ne ', ' co ', ' sw ', ' pr', ' and ', ' or ', 'not ', '"x"', '"', '\\', 'true', 'null', '42', '.value', 'type', ':', 'urn:ietf:params:scim:schemas:core:2.0:User:', ' gt ', '\u0000', '\u2028', '{}', "'"];
    let seed = 1234567;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const filters: string[] = ['('.repeat(3000) + 'userName eq "a"' + ')'.repeat(3000), 'userName eq "a" and '.repeat(150) + 'userName eq "a"', '"'.repeat(1000), '[[[[[[[[[[', 'emails[type eq "work"]]]'];
    for (let i = 0; i < 250; i++) filters.push(Array.from({ length: 1 + rand(12) }, () => pieces[rand(pieces.length)]).join(''));
    for (const f of filters) {
      const started = Date.now();
      const a = await h.client.get(`/Users?filter=${encodeURIComponent(f)}`);
      assert.ok(Date.now() - started < 5000, `filter ${JSON.stringify(f.slice(0, 80))} took too long`);
      if (a.status === 200) assert.equal(typeof a.body.totalResults, 'number');
      else assertScimError(a, 400, 'invalidFilter');
    }
    // Still serving.
    assert.equal((await h.client.get(`/Users/${id}`)).status, 200);
  });

  it('creates, lists and revokes tokens through the admin API; a revoked token is a 401', async () => {
    const { app } = h.server;
    // An administrator session (the first administrator is created through setup).
    const setup = await app.inject({ method: 'POST', url: '/api/v1/auth/setup', payload: { username: 'admin', password: 'Correct-Horse-Battery-42!' } });
    assert.ok(setup.statusCode < 300, setup.body);
    const cookies = setup.cookies.map((k) => `${k.name}=${k.value}`).join('; ');
    const csrf = setup.cookies.find((k) => k.name === 'idsync_csrf')?.value ?? '';
    const headers = { cookie: cookies, 'x-csrf-token': csrf };
    const made = await app.inject({ method: 'POST', url: '/api/v1/connectors/scim/scim-tokens', headers, payload: { label: 'entra' } });
    assert.equal(made.statusCode, 201, made.body);
    const { token, tokenInfo, tenantUrl } = made.json();
    assert.match(token, /^idsync_scim_/);
    assert.match(tenantUrl, /\/scim\/v2\/scim$/);
    const listed = await app.inject({ method: 'GET', url: '/api/v1/connectors/scim/scim-tokens', headers });
    assert.ok(!listed.body.includes(token), 'the token is shown once, never listed');
    assert.ok(listed.json().tokens.some((t: any) => t.id === tokenInfo.id), 'the token is listed');
    h.client.token = token;
    assert.equal((await h.client.get('/Users')).status, 200);
    const revoked = await app.inject({ method: 'DELETE', url: `/api/v1/connectors/scim/scim-tokens/${tokenInfo.id}`, headers });
    assert.equal(revoked.statusCode, 204, revoked.body);
    assertScimError(await h.client.get('/Users'), 401);
    h.client.token = h.token;

    // The source type is offered in the catalogue, and a SCIM connector is saved through the API.
    const types = await app.inject({ method: 'GET', url: '/api/v1/source-types', headers });
    assert.ok(types.body.includes('"scim"'), types.body.slice(0, 300));
    const base = (await h.server.store.connectors.get('scim'))!.config;
    const connector = { ...base, id: 'scim-api', name: 'via API', targets: base.targets.map((t) => ({ ...t, auth: { type: 'pat', token: { replace: JIRA_PAT } } })) };
    const saved = await app.inject({ method: 'POST', url: '/api/v1/connectors', headers, payload: { config: connector } });
    assert.equal(saved.statusCode, 201, saved.body);
    const wrongType = await app.inject({ method: 'POST', url: '/api/v1/connectors/scim-api/scim-tokens', headers, payload: {} });
    assert.equal(wrongType.statusCode, 201, 'a token for the new SCIM connector');
    const apiToken = wrongType.json().token as string;
    const pushedThere = await fetch(`${h.server.url}/scim/v2/scim-api/Users`, { method: 'POST', headers: { authorization: `Bearer ${apiToken}`, 'content-type': 'application/scim+json' }, body: JSON.stringify({ schemas: [USER], userName: 'gone@example.com' }) });
    assert.equal(pushedThere.status, 201);
    // Deleting the connector deletes what was pushed and its tokens: a new one of that id starts empty.
    await h.server.scimPush.idle('scim-api');
    assert.equal((await app.inject({ method: 'DELETE', url: '/api/v1/connectors/scim-api', headers })).statusCode, 204);
    assert.equal((await app.inject({ method: 'POST', url: '/api/v1/connectors', headers, payload: { config: connector } })).statusCode, 201);
    const old = await fetch(`${h.server.url}/scim/v2/scim-api/Users`, { headers: { authorization: `Bearer ${apiToken}` } });
    assert.equal(old.status, 401, 'the deleted connector\'s token is gone');
    const fresh = (await app.inject({ method: 'POST', url: '/api/v1/connectors/scim-api/scim-tokens', headers, payload: {} })).json().token;
    const list = (await (await fetch(`${h.server.url}/scim/v2/scim-api/Users`, { headers: { authorization: `Bearer ${fresh}` } })).json()) as any;
    assert.equal(list.totalResults, 0, 'nothing pushed to the deleted connector is inherited');
  });
});
