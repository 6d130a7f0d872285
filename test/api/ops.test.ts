// Operations endpoints over real HTTP: /healthz, /readyz (store reachable and migrated, 503 with
// a reason otherwise) and /metrics (Prometheus text, read by a strict parser; who may read it).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { sql } from 'kysely';
import { Store } from '../../src/store/index.ts';
import { buildServer } from '../../src/server/index.ts';
import { FakeEngine, fakeServices, newConnectorInput } from './fakes.ts';
import { harness, STORE_KINDS, type Harness } from './helpers.ts';
import { parseExposition } from './prom-text.ts';

const METRICS_TOKEN = 'scrape-token-for-tests-0123456789';

async function listen(h: Harness): Promise<string> {
  return h.server.app.listen({ host: '127.0.0.1', port: 0 });
}

for (const kind of STORE_KINDS) {
  describe(`operations endpoints on ${kind}`, () => {
    let h: Harness;
    let url: string;
    before(async () => {
      h = await harness({ store: kind, server: { metricsToken: METRICS_TOKEN } });
      assert.equal((await h.admin.post('/api/v1/connectors', { config: newConnectorInput() })).status, 201);
      url = await listen(h);
    });
    after(async () => {
      await h.dispose();
    });

    test('/healthz answers without a session', async () => {
      const res = await fetch(`${url}/healthz`);
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { status: 'ok' });
    });

    test('/readyz: ready when the store answers and has every migration', async () => {
      const res = await fetch(`${url}/readyz`);
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { status: 'ready', checks: { store: 'ok', migrations: 'ok' } });
    });

    test('/readyz: 503 naming the migration the store lacks', async () => {
      const [last] = await sql<{ name: string }>`select name from kysely_migration order by name desc limit 1`.execute(h.store.db).then((r) => r.rows);
      assert.ok(last, 'the store has applied migrations');
      await sql`delete from kysely_migration where name = ${last.name}`.execute(h.store.db);
      try {
        const res = await fetch(`${url}/readyz`);
        assert.equal(res.status, 503);
        const body = (await res.json()) as { status: string; reason: string };
        assert.equal(body.status, 'not ready');
        assert.match(body.reason, new RegExp(`lacks 1 migration\\(s\\) .*\\(${last.name}\\)`));
      } finally {
        await sql`insert into kysely_migration (name, timestamp) values (${last.name}, ${new Date().toISOString()})`.execute(h.store.db);
      }
      assert.equal((await fetch(`${url}/readyz`)).status, 200, 'ready again once the migration is recorded');
    });

    test('/metrics: refused without a token; the metrics token, an API token or a session may read it', async () => {
      const anonymous = await fetch(`${url}/metrics`);
      assert.equal(anonymous.status, 401);
      assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Bearer/);
      assert.equal((await fetch(`${url}/metrics`, { headers: { authorization: 'Bearer wrong-token' } })).status, 401);
      assert.equal((await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}x` } })).status, 401, 'a longer token is not the token');
      const scraper = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
      assert.equal(scraper.status, 200);
      assert.match(scraper.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
      const token = await h.admin.post('/api/v1/tokens', { name: 'prometheus' });
      assert.equal(token.status, 201, token.text);
      assert.equal((await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token.body.secret}` } })).status, 200, 'an API token of a user');
      const session = await h.admin.get('/metrics');
      assert.equal(session.status, 200, 'a logged-in browser session');
    });

    test('/metrics: runs, users read, queue depth and last success, in valid exposition format', async () => {
      const scrape = async () => {
        const res = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
        assert.equal(res.status, 200);
        return parseExposition(await res.text());
      };
      const before = await scrape();
      assert.equal(before.types.get('idsync_runs_total'), 'counter');
      assert.equal(before.types.get('idsync_target_write_requests_total'), 'counter');
      assert.equal(before.types.get('idsync_target_rate_limited_total'), 'counter');
      assert.equal(before.types.get('idsync_queue_depth'), 'gauge');
      assert.equal(before.types.get('idsync_last_success_timestamp_seconds'), 'gauge');
      assert.equal(before.value('idsync_queue_depth', { connector: 'contoso' }), 0, 'nothing waits');
      const readBefore = before.value('idsync_users_read_total', { connector: 'contoso' }) ?? 0;

      // A full sync held in progress, and a single-user sync queued behind it.
      h.engine.hold();
      assert.equal((await h.admin.post('/api/v1/connectors/contoso/sync', { kind: 'full' })).status, 202);
      await h.engine.started;
      const userSync = h.admin.post('/api/v1/connectors/contoso/sync', { kind: 'user', userRef: 'adele@contoso.test' });
      while (!(await h.server.runs.activity('contoso')).queued) await new Promise((r) => setTimeout(r, 10));
      assert.equal((await scrape()).value('idsync_queue_depth', { connector: 'contoso' }), 1, 'the waiting user sync');
      h.engine.release();
      assert.equal((await userSync).status, 200);
      await h.server.runs.stopAll();

      const after = await scrape();
      assert.equal(after.value('idsync_runs_total', { connector: 'contoso', kind: 'full', status: 'partial', dry_run: 'false' }), (before.value('idsync_runs_total', { connector: 'contoso', kind: 'full', status: 'partial', dry_run: 'false' }) ?? 0) + 1);
      assert.equal(after.value('idsync_runs_total', { connector: 'contoso', kind: 'user', status: 'succeeded', dry_run: 'false' }), 1);
      assert.equal(after.value('idsync_users_read_total', { connector: 'contoso' }), readBefore + 2 + 1, 'two users by the full sync, one by the user sync');
      assert.equal(after.value('idsync_queue_depth', { connector: 'contoso' }), 0);
      const [userRun] = await h.store.runs.list({ connectorId: 'contoso', limit: 1 });
      assert.equal(userRun?.kind, 'user');
      assert.equal(after.value('idsync_last_success_timestamp_seconds', { connector: 'contoso', kind: 'user' }), Date.parse(userRun!.finishedAt!) / 1000);
      assert.equal(after.value('idsync_last_success_timestamp_seconds', { connector: 'contoso', kind: 'full' }), undefined, 'a partial full sync is no success');
    });

    test('/metrics: write requests and 429 answers per target, from the requests the targets record', async () => {
      const recorder = h.server.metrics.recorder;
      const req = { url: 'https://jira.contoso.test/rest/api/2/user', headers: {}, connector: 'contoso', target: 'jira' };
      recorder({ ...req, method: 'POST', status: 201 });
      recorder({ ...req, method: 'PUT', status: 429 });
      recorder({ ...req, method: 'GET', status: 429 });
      recorder({ ...req, method: 'GET', status: 200 });
      // A source's request carries no target: it is no target's load.
      recorder({ method: 'POST', url: 'https://graph.test/$batch', headers: {}, status: 200 });
      const res = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
      const m = parseExposition(await res.text());
      assert.equal(m.value('idsync_target_write_requests_total', { connector: 'contoso', target: 'jira' }), 2, 'POST and PUT, not GET');
      assert.equal(m.value('idsync_target_rate_limited_total', { connector: 'contoso', target: 'jira' }), 2);
      assert.equal(m.samples.filter((s) => s.name === 'idsync_target_write_requests_total').length, 1, 'no series without a target');
    });
  });
}

describe('readiness of a store that does not answer', () => {
  test('503 with a reason that names no secret', async () => {
    const store = await Store.open({ databaseUrl: ':memory:' });
    const server = await buildServer({ store, services: fakeServices(new FakeEngine(store)), logger: false });
    try {
      await store.close();
      const res = await server.app.inject({ method: 'GET', url: '/readyz' });
      assert.equal(res.statusCode, 503);
      assert.match(res.json().reason, /^the SQLite store cannot be reached/);
    } finally {
      await server.close();
    }
  });

  test('two servers in one process keep their own metrics', async () => {
    const stores = await Promise.all([Store.open({ databaseUrl: ':memory:' }), Store.open({ databaseUrl: ':memory:' })]);
    const servers = await Promise.all(stores.map((s) => buildServer({ store: s, services: fakeServices(new FakeEngine(s)), logger: false, metricsToken: METRICS_TOKEN })));
    try {
      servers[0]!.metrics.recorder({ method: 'POST', url: 'https://x.test/', headers: {}, status: 201, connector: 'a', target: 't' });
      const texts = await Promise.all(servers.map(async (s) => parseExposition((await s.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).body)));
      assert.equal(texts[0]!.value('idsync_target_write_requests_total', { connector: 'a', target: 't' }), 1);
      assert.equal(texts[1]!.value('idsync_target_write_requests_total', { connector: 'a', target: 't' }), undefined, 'the other server counted nothing');
    } finally {
      for (const s of servers) await s.close();
      for (const s of stores) await s.close();
    }
  });
});

test("the README's monitoring table names every idsync metric the server exposes", async () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const store = await Store.open({ databaseUrl: ':memory:' });
  const server = await buildServer({ store, services: fakeServices(new FakeEngine(store)), logger: false });
  try {
    const names = (await server.metrics.registry.getMetricsAsJSON()).map((m) => m.name).filter((n) => n.startsWith('idsync_'));
    assert.ok(names.length >= 7, 'the idsync metrics are registered');
    for (const n of names) assert.ok(readme.includes(`| \`${n}\` |`), `README.md documents ${n}`);
  } finally {
    await server.close();
    await store.close();
  }
});
