// Request bodies: small before authentication (log-in, set-up, an anonymous call to any route),
// larger for authenticated API calls, and never nested deeper than 64 levels; each refusal is a
// 4xx with a message, never a 500 or minutes of parsing.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { harness, type Harness } from './helpers.ts';
import { newConnectorInput } from './fakes.ts';
import { jsonNestedDeeperThan } from '../../src/server/json-body.ts';

const nested = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;

describe('request body limits', () => {
  let h: Harness;
  before(async () => {
    h = await harness({ server: { bodyLimit: 256 * 1024 } });
  });
  after(() => h.dispose());

  const raw = (url: string, payload: string, headers: Record<string, string> = {}) =>
    h.server.app.inject({ method: 'POST', url, payload, headers: { 'content-type': 'application/json', ...headers } });

  test('log-in and set-up take 64 KB at most', async () => {
    const big = JSON.stringify({ username: 'admin', password: 'x'.repeat(100 * 1024) });
    for (const url of ['/api/v1/auth/login', '/api/v1/auth/setup']) {
      const res = await raw(url, big);
      assert.equal(res.statusCode, 413, res.body);
      assert.match(JSON.parse(res.body).error, /larger than the 64 KB this route accepts; before log-in only small requests are taken/);
    }
  });

  test("an anonymous call to an authenticated route is refused before its body is read", async () => {
    // Not JSON at all: read and parsed, it would be a 400; refused unread, it is a 401.
    const res = await raw('/api/v1/connectors', `{"config": ${'x'.repeat(200 * 1024)}`);
    assert.equal(res.statusCode, 401, res.body);
  });

  test('an authenticated call takes the larger, configurable limit, and says how to raise it', async () => {
    const input = newConnectorInput();
    input.name = 'n'.repeat(100 * 1024);
    assert.notEqual((await h.admin.post('/api/v1/connectors/validate', { config: input })).status, 413, 'a 100 KB connector is read');
    input.name = 'n'.repeat(300 * 1024);
    const res = await h.admin.post('/api/v1/connectors/validate', { config: input });
    assert.equal(res.status, 413, res.text);
    assert.match(res.body.error, /larger than the 256 KB this route accepts; the operator can raise it with idsync serve --body-limit/);
  });

  test('10,000 levels of nesting are a 400 with a message, on authenticated and public routes alike', async () => {
    const deep = await h.admin.post('/api/v1/connectors', JSON.parse(`{"config": {"id": "deep", "source": ${'{"a":'.repeat(200)}1${'}'.repeat(200)}}}`));
    assert.equal(deep.status, 400, deep.text);
    const cookie = [...h.admin.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await raw('/api/v1/connectors', `{"config": ${nested(10_000)}}`, { cookie, 'x-csrf-token': h.admin.cookies.get('idsync_csrf')! });
    assert.equal(res.statusCode, 400, res.body);
    assert.match(JSON.parse(res.body).error, /nested deeper than 64 levels/);
    const login = await raw('/api/v1/auth/login', `{"username": "admin", "password": ${nested(5_000)}}`);
    assert.equal(login.statusCode, 400, login.body);
    assert.match(JSON.parse(login.body).error, /nested deeper than 64 levels/);
  });

  test('brackets inside strings are not nesting, and a __proto__ key is still refused', async () => {
    const input = newConnectorInput();
    input.name = nested(500);
    const res = await h.admin.post('/api/v1/connectors', { config: input });
    assert.equal(res.status, 201, res.text);
    const proto = await raw('/api/v1/auth/login', '{"username": "admin", "password": "x", "__proto__": {"isAdmin": true}}');
    assert.equal(proto.statusCode, 400, proto.body);
  });
});

test('the depth scan counts objects and arrays, skips strings and escapes', () => {
  assert.equal(jsonNestedDeeperThan('[[[]]]', 3), false);
  assert.equal(jsonNestedDeeperThan('[[[[]]]]', 3), true);
  assert.equal(jsonNestedDeeperThan('{"a":{"b":{"c":{}}}}', 3), true);
  assert.equal(jsonNestedDeeperThan(`["\\"${'['.repeat(10)}"]`, 3), false);
});
