// Authentication and authorisation on every declared route: nothing is reachable without a
// session or a token, a viewer changes nothing, CSRF is enforced for browser sessions, log-in
// is rate-limited, tokens are shown once and can be revoked.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_PASSWORD, concretePath, harness, STORE_KINDS, type Harness } from './helpers.ts';
import { newConnectorInput } from './fakes.ts';

for (const kind of STORE_KINDS) describe(`authentication and authorisation (${kind} store)`, () => {
  let h: Harness;
  let viewerToken: string;
  before(async () => {
    h = await harness({ store: kind });
    assert.equal((await h.admin.post('/api/v1/connectors', { config: newConnectorInput() })).status, 201);
    const created = await h.admin.post('/api/v1/tokens', { name: 'read-only script', role: 'viewer' });
    assert.equal(created.status, 201);
    viewerToken = created.body.secret;
  });
  after(() => h.dispose());

  test('first-run set-up happens once and sets a HttpOnly SameSite=Strict session cookie', async () => {
    const again = await h.anonymous.post('/api/v1/auth/setup', { username: 'mallory', password: 'another long password' });
    assert.equal(again.status, 409);
    const c = h.client();
    const res = await c.post('/api/v1/auth/login', { username: 'admin', password: ADMIN_PASSWORD });
    assert.equal(res.status, 200);
    const setCookie = ([] as string[]).concat(res.headers['set-cookie'] as string[]);
    const session = setCookie.find((s) => s.startsWith('idsync_session='))!;
    assert.match(session, /HttpOnly/i);
    assert.match(session, /SameSite=Strict/i);
    const csrf = setCookie.find((s) => s.startsWith('idsync_csrf='))!;
    assert.doesNotMatch(csrf, /HttpOnly/i, 'the page must be able to read the CSRF cookie');
    assert.equal((await c.get('/api/v1/auth/status')).body.user.username, 'admin');
  });

  test('no protected route answers without a session or token', async () => {
    const protectedRoutes = h.server.api.routes.filter((r) => r.spec.access !== 'public');
    assert.ok(protectedRoutes.length >= 25, `expected the whole API to be declared, found ${protectedRoutes.length}`);
    for (const { spec } of protectedRoutes) {
      const res = await h.anonymous.call(spec.method, concretePath(spec.path), spec.method === 'GET' ? undefined : {});
      assert.equal(res.status, 401, `${spec.method} ${spec.path} answered ${res.status} without credentials`);
    }
  });

  test('a wrong or revoked bearer token is refused', async () => {
    const c = h.client();
    c.bearer = 'idsync_not-a-real-token';
    assert.equal((await c.get('/api/v1/connectors')).status, 401);
  });

  test('a viewer can read but every state-changing route answers 403', async () => {
    const viewer = h.client();
    viewer.bearer = viewerToken;
    assert.equal((await viewer.get('/api/v1/connectors')).status, 200);
    assert.equal((await viewer.get('/api/v1/connectors/contoso')).status, 200);
    // Logging out and changing one's own password are every user's (tested on their own below).
    const own = ['/api/v1/auth/logout', '/api/v1/auth/password'];
    const writes = h.server.api.routes.filter((r) => r.spec.method !== 'GET' && r.spec.access !== 'public' && !own.includes(r.spec.path));
    for (const { spec } of writes) {
      const res = await viewer.call(spec.method, concretePath(spec.path), {});
      assert.equal(res.status, 403, `${spec.method} ${spec.path} let a viewer through (${res.status})`);
    }
    assert.equal((await h.admin.get('/api/v1/connectors/contoso')).body.revision, 1, 'nothing changed');
  });

  test('a viewer user logged in through the browser gets the same read-only treatment', async () => {
    assert.equal((await h.admin.post('/api/v1/users', { username: 'vera', password: 'viewer password 1', role: 'viewer' })).status, 201);
    const vera = h.client();
    assert.equal((await vera.post('/api/v1/auth/login', { username: 'vera', password: 'viewer password 1' })).status, 200);
    assert.equal((await vera.get('/api/v1/runs')).status, 200);
    assert.equal((await vera.post('/api/v1/connectors/contoso/sync', { kind: 'full' })).status, 403);
    assert.equal((await vera.del('/api/v1/connectors/contoso')).status, 403);
    assert.equal(h.engine.calls.length, 0);
  });

  test('anyone changes their own password in a browser session: the current one is checked, other sessions end, tokens cannot', async () => {
    assert.equal((await h.admin.post('/api/v1/users', { username: 'pia', password: 'pia password 1', role: 'viewer' })).status, 201);
    const here = h.client();
    const elsewhere = h.client();
    for (const c of [here, elsewhere]) assert.equal((await c.post('/api/v1/auth/login', { username: 'pia', password: 'pia password 1' })).status, 200);

    const wrong = await here.post('/api/v1/auth/password', { currentPassword: 'not it', newPassword: 'pia password 2' });
    assert.equal(wrong.status, 400, wrong.text);
    assert.deepEqual(wrong.body.issues?.[0]?.path, ['currentPassword']);
    const weak = await here.post('/api/v1/auth/password', { currentPassword: 'pia password 1', newPassword: 'short' });
    assert.equal(weak.status, 400, weak.text);

    const changed = await here.post('/api/v1/auth/password', { currentPassword: 'pia password 1', newPassword: 'pia password 2' });
    assert.equal(changed.status, 200, changed.text);
    assert.equal((await here.get('/api/v1/runs')).status, 200, 'this browser stays logged in');
    assert.equal((await elsewhere.get('/api/v1/runs')).status, 401, 'the other session ended');
    assert.equal((await h.client().post('/api/v1/auth/login', { username: 'pia', password: 'pia password 1' })).status, 401, 'the old password no longer works');
    assert.equal((await h.client().post('/api/v1/auth/login', { username: 'pia', password: 'pia password 2' })).status, 200, 'the new one does');

    const script = h.client();
    script.bearer = viewerToken;
    const byToken = await script.post('/api/v1/auth/password', { currentPassword: ADMIN_PASSWORD, newPassword: 'taken over 12345' });
    assert.equal(byToken.status, 403, byToken.text);
    assert.equal((await h.client().post('/api/v1/auth/login', { username: 'admin', password: ADMIN_PASSWORD })).status, 200, 'the token owner keeps their password');
  });

  test('state-changing requests from a browser session need the CSRF header', async () => {
    const c = h.client();
    await c.post('/api/v1/auth/login', { username: 'admin', password: ADMIN_PASSWORD });
    c.csrf = false;
    const res = await c.post('/api/v1/tokens', { name: 'x' });
    assert.equal(res.status, 403);
    assert.match(res.body.error, /CSRF/);
    assert.equal((await c.get('/api/v1/tokens')).status, 200, 'reads need no CSRF token');
    c.csrf = true;
    assert.equal((await c.post('/api/v1/tokens', { name: 'x' })).status, 201);
  });

  test('log-in is rate-limited after repeated failures, even with the right password', async () => {
    const c = h.client();
    for (let i = 0; i < 3; i++) assert.equal((await c.post('/api/v1/auth/login', { username: 'vera', password: 'wrong password!' })).status, 401);
    const blocked = await c.post('/api/v1/auth/login', { username: 'vera', password: 'viewer password 1' });
    assert.equal(blocked.status, 429);
    assert.ok(Number(blocked.headers['retry-after']) > 0, "Number(blocked.headers['retry-after']) > 0");
  });

  test('an API token is shown once, stored hashed and can be revoked', async () => {
    const created = await h.admin.post('/api/v1/tokens', { name: 'ci', role: 'administrator' });
    const secret: string = created.body.secret;
    assert.match(secret, /^idsync_/);
    const list = await h.admin.get('/api/v1/tokens');
    assert.ok(!list.text.includes(secret), 'the token list never shows a value');
    const rows = await h.store.db.selectFrom('auth_tokens' as never).selectAll().execute();
    assert.ok(!JSON.stringify(rows).includes(secret), 'only a hash is stored');
    const bot = h.client();
    bot.bearer = secret;
    assert.equal((await bot.post('/api/v1/connectors/validate', { config: newConnectorInput() })).status, 200, 'tokens need no CSRF header');
    assert.equal((await h.admin.del(`/api/v1/tokens/${created.body.token.id}`)).status, 204);
    assert.equal((await bot.get('/api/v1/connectors')).status, 401);
  });

  test('logout ends the session', async () => {
    const c = h.client();
    await c.post('/api/v1/auth/login', { username: 'admin', password: ADMIN_PASSWORD });
    const stolen = new Map(c.cookies);
    assert.equal((await c.post('/api/v1/auth/logout')).status, 204);
    const replay = h.client();
    replay.cookies = stolen;
    assert.equal((await replay.get('/api/v1/connectors')).status, 401);
  });

  test('the last administrator cannot be demoted or removed', async () => {
    const me = (await h.admin.get('/api/v1/auth/status')).body.user;
    const res = await h.admin.patch(`/api/v1/users/${me.id}`, { role: 'viewer' });
    assert.equal(res.status, 409);
    assert.match(res.body.error, /at least one administrator/);
  });

  test('the OpenAPI document describes every route with its access rule', async () => {
    const doc = (await h.anonymous.get('/api/v1/openapi.json')).body;
    assert.equal(doc.openapi, '3.1.0');
    for (const { spec } of h.server.api.routes) {
      const op = doc.paths[spec.path.replace(/:(\w+)/g, '{$1}')]?.[spec.method.toLowerCase()];
      assert.ok(op, `${spec.method} ${spec.path} missing from the OpenAPI document`);
      assert.equal(op['x-idsync-access'], spec.access);
    }
    assert.ok(doc.paths['/api/v1/connectors'].post.requestBody.content['application/json'].schema.properties.config, "doc.paths['/api/v1/connectors'].post.requestBody.content['application/json'].schema.pro...");
  });
});
