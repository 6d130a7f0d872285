// The server behind a reverse proxy and with TLS of its own: the client's address and protocol
// come from X-Forwarded-For / -Proto only when the proxy is trusted; the session cookie is Secure
// whenever the browser sees https; failed log-ins from one address never lock everyone out.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, fetch } from 'undici';
import type { FastifyInstance } from 'fastify';
import { startServer, type RunningServer } from '../../src/server/index.ts';
import { parseTrustProxy, deploymentFrom } from '../../src/server/deployment.ts';
import { Store } from '../../src/store/index.ts';
import { emulatorTls } from '../../emulators/common/tls.ts';
import { ADMIN_PASSWORD, harness, type Harness } from './helpers.ts';
import { FakeEngine, fakeServices } from './fakes.ts';

const PROXY = '127.0.0.1'; // where app.inject's requests come from

async function login(app: FastifyInstance, username: string, password: string, headers: Record<string, string> = {}) {
  const res = await app.inject({ method: 'POST', url: '/api/v1/auth/login', headers, payload: { username, password } });
  return { status: res.statusCode, setCookie: ([] as string[]).concat((res.headers['set-cookie'] as string[] | string | undefined) ?? []) };
}

const sessionCookie = (setCookie: string[]) => setCookie.find((c) => c.startsWith('idsync_session='));

describe('without a trusted proxy', () => {
  let h: Harness;
  before(async () => {
    h = await harness();
    assert.equal((await h.admin.post('/api/v1/users', { username: 'vera', password: 'viewer password 1', role: 'viewer' })).status, 201);
  });
  after(() => h.dispose());

  test("many failed log-ins from one address, across user names, do not lock out the others from that address", async () => {
    // The harness allows 3 failures per pair; before, 12 from one address locked every account.
    for (let i = 0; i < 25; i++) assert.equal((await login(h.server.app, `guess${i}`, 'wrong password!')).status, 401);
    for (let i = 0; i < 3; i++) assert.equal((await login(h.server.app, 'vera', 'wrong password!')).status, 401);
    assert.equal((await login(h.server.app, 'vera', 'viewer password 1')).status, 429, 'the name guessed at from this address waits');
    assert.equal((await login(h.server.app, 'admin', ADMIN_PASSWORD)).status, 200, 'another account from the same address still logs in');
  });

  test('X-Forwarded-For and X-Forwarded-Proto are not believed: no Secure cookie over plain http', async () => {
    const res = await login(h.server.app, 'admin', ADMIN_PASSWORD, { 'x-forwarded-proto': 'https', 'x-forwarded-for': '198.51.100.7' });
    assert.equal(res.status, 200);
    assert.doesNotMatch(sessionCookie(res.setCookie) ?? '', /;\s*Secure/i);
  });
});

describe('behind a trusted proxy (trustProxy)', () => {
  let h: Harness;
  before(async () => {
    // No limiter handed in: the server's own, which knows addresses are the clients'.
    h = await harness({ server: { trustProxy: [PROXY], loginLimiter: undefined } });
  });
  after(() => h.dispose());

  test("the real client's address counts: a guesser is stopped, the account's owner elsewhere is not", async () => {
    const attacker = { 'x-forwarded-for': '203.0.113.9' };
    for (let i = 0; i < 5; i++) assert.equal((await login(h.server.app, 'admin', 'wrong password!', attacker)).status, 401);
    assert.equal((await login(h.server.app, 'admin', ADMIN_PASSWORD, attacker)).status, 429, 'the guessing address waits, even with the right password');
    assert.equal((await login(h.server.app, 'admin', ADMIN_PASSWORD, { 'x-forwarded-for': '198.51.100.7' })).status, 200, 'the owner, at another address, logs in');
  });

  test('the session cookie is Secure when the proxy says the browser sees https', async () => {
    const https = await login(h.server.app, 'admin', ADMIN_PASSWORD, { 'x-forwarded-proto': 'https', 'x-forwarded-for': '198.51.100.8' });
    assert.equal(https.status, 200);
    assert.match(sessionCookie(https.setCookie) ?? '', /;\s*Secure/i);
    const http = await login(h.server.app, 'admin', ADMIN_PASSWORD, { 'x-forwarded-proto': 'http', 'x-forwarded-for': '198.51.100.8' });
    assert.doesNotMatch(sessionCookie(http.setCookie) ?? '', /;\s*Secure/i);
  });
});

describe('TLS of its own (--tls-cert / --tls-key)', () => {
  let server: RunningServer;
  let store: Store;
  let ca: string;
  before(async () => {
    const tls = await emulatorTls();
    ca = tls.cert;
    store = await Store.open({ databaseUrl: ':memory:' });
    server = await startServer({ store, services: fakeServices(new FakeEngine(store)), port: 0, logger: false, tls });
  });
  after(async () => {
    await server?.close();
    await store?.close();
  });

  test('serves https, and its session cookie is Secure', async () => {
    assert.match(server.url, /^https:\/\//);
    const dispatcher = new Agent({ connect: { ca } });
    const res = await fetch(`${server.url}/api/v1/auth/setup`, { method: 'POST', dispatcher, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }) });
    assert.equal(res.status, 200, await res.text());
    assert.match(res.headers.getSetCookie().find((c) => c.startsWith('idsync_session=')) ?? '', /;\s*Secure/i);
    await dispatcher.close();
  });
});

describe('serve flags and their environment variables', () => {
  test('trust proxy takes true, a hop count or addresses, and says what is wrong', () => {
    assert.equal(parseTrustProxy('true'), true);
    assert.equal(parseTrustProxy(undefined), false);
    assert.equal(parseTrustProxy('2'), 2);
    assert.deepEqual(parseTrustProxy('10.0.0.0/8, 127.0.0.1,loopback'), ['10.0.0.0/8', '127.0.0.1', 'loopback']);
    assert.throws(() => parseTrustProxy('10.0.0.0/33'), /"10.0.0.0\/33" is not an IP address/);
    assert.throws(() => parseTrustProxy('proxy.example.test'), /not an IP address/);
  });

  test('flags win over the environment; TLS needs both files', () => {
    const d = deploymentFrom({ trustProxy: '1' }, { IDSYNC_TRUST_PROXY: 'true', IDSYNC_ALLOWED_SECRET_REFS: 'env:JIRA_PAT', IDSYNC_BODY_LIMIT: '512kb' });
    assert.equal(d.trustProxy, 1);
    assert.deepEqual(d.secretRefs.env, ['JIRA_PAT']);
    assert.equal(d.bodyLimit, 512 * 1024);
    assert.throws(() => deploymentFrom({ tlsCert: '/etc/idsync/cert.pem' }, {}), /both --tls-cert .* and --tls-key/);
    assert.throws(() => deploymentFrom({ tlsCert: '/nonexistent/cert.pem', tlsKey: '/nonexistent/key.pem' }, {}), /cannot read the TLS certificate \/nonexistent\/cert.pem: ENOENT/);
  });
});
