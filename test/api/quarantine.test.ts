// The quarantine API with the real engine, the in-memory identity provider and the Jira DC
// emulator: an empty read quarantines; list and show (paged users) are for administrators only;
// approving a selection acts on those users only, approving the rest closes it; a rejected
// quarantine changes nothing; hostile input gets a clear 4xx.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { memoryDataset, person, type MemoryDataset } from '../helpers/memory-source.ts';
import { startJiraDcEmulator, type JiraDcEmulator } from '../../emulators/jira-dc/index.ts';
import { buildServer, type IdsyncServer } from '../../src/server/index.ts';
import { defaultServices } from '../../src/server/services.ts';
import { Store } from '../../src/store/index.ts';
import { SyncEngine } from '../../src/engine/engine.ts';
import type { ConnectorConfig } from '../../src/config/schema.ts';
import { ADMIN_PASSWORD, Client } from './helpers.ts';

process.env.TEST_JIRA_PAT = 'admin-pat';

const connector = (url: string): ConnectorConfig => ({
  id: 'qapi',
  source: { type: 'memory', dataset: 'qapi', requiredGroups: [] },
  targets: [{ id: 'jira', type: 'jira-dc', url, auth: { type: 'pat', token: { env: 'TEST_JIRA_PAT' } }, createUsers: true, createMissingGroups: true, concurrency: 2, mapping: [
    { target: 'user.username', source: '$lower($stripDomain(userPrincipalName))', flow: 'always', whenEmpty: 'keep' },
    { target: 'user.displayName', source: 'displayName', flow: 'always', whenEmpty: 'keep' },
    { target: 'user.email', source: 'mail', flow: 'always', whenEmpty: 'keep' },
  ] }],
});

/** The events of a text/event-stream, as they come (keep-alive comments skipped). */
async function* sseEvents(reader: ReadableStreamDefaultReader<Uint8Array>): AsyncGenerator<{ event: string; data: any }> {
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const end = buffer.indexOf('\n\n');
    if (end < 0) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      continue;
    }
    const lines = buffer.slice(0, end).split('\n');
    buffer = buffer.slice(end + 2);
    if (lines.every((l) => l.startsWith(':'))) continue;
    const event = lines.find((l) => l.startsWith('event: '))?.slice(7) ?? 'message';
    yield { event, data: JSON.parse(lines.filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n')) };
  }
}

describe('quarantine API', () => {
  let jira: JiraDcEmulator;
  let store: Store;
  let server: IdsyncServer;
  let admin: Client;
  let viewer: Client;
  let ds: MemoryDataset;
  let engine: SyncEngine;
  const users = () => [person('a-1', 'Ann One'), person('a-2', 'Bob Two'), person('a-3', 'Cy Three'), person('a-4', 'Di Four')];
  const names = ['ann.one', 'bob.two', 'cy.three', 'di.four'];

  before(async () => {
    jira = await startJiraDcEmulator();
    store = await Store.open({ databaseUrl: ':memory:' });
    server = await buildServer({ store, services: await defaultServices(store, { fastRetries: true }), logger: false, scheduler: false });
    engine = new SyncEngine(store, { fastRetries: true });
    admin = new Client(server.app);
    assert.equal((await admin.post('/api/v1/auth/setup', { username: 'admin', password: ADMIN_PASSWORD })).status, 200);
    const v = await server.auth.createUser('viewer', 'unused', 'viewer');
    viewer = new Client(server.app);
    viewer.bearer = (await server.auth.createToken(v.id, 'test', 'viewer')).secret;
    await store.connectors.save(connector(jira.url));
  });
  after(async () => {
    await server?.close();
    await store?.close();
    await jira?.close();
  });

  /** Synced, then an empty read: a fresh quarantine of the four users. */
  async function quarantined(): Promise<string> {
    await fetch(`${jira.url}/_emulator/reset`, { method: 'POST' });
    await store.db.deleteFrom('links').execute();
    await store.db.deleteFrom('shadow_users').execute();
    // An open quarantine of the same users would hold them (they are not quarantined twice).
    await store.db.deleteFrom('cleanup_quarantine_users').execute();
    await store.db.deleteFrom('cleanup_quarantines').execute();
    ds = memoryDataset('qapi', users());
    const first = await engine.run({ connector: connector(jira.url), kind: 'full', trigger: 'cli' });
    assert.equal(first.run.counts.created, 4, first.run.error ?? '');
    ds.users = [];
    const r = await engine.run({ connector: connector(jira.url), kind: 'full', trigger: 'cli' });
    assert.ok(r.run.quarantine, 'quarantined');
    return r.run.quarantine.id;
  }
  const active = () => names.filter((n) => jira.inspect(n)?.active).length;

  test('list and show are for administrators; show pages the users', async () => {
    const id = await quarantined();
    assert.equal((await viewer.get('/api/v1/quarantines')).status, 403);
    assert.equal((await viewer.post(`/api/v1/quarantines/${id}/approve`, {})).status, 403);
    const list = await admin.get('/api/v1/quarantines?connectorId=qapi&status=open');
    assert.equal(list.status, 200, list.text);
    assert.ok(list.body.quarantines.some((q: { id: string }) => q.id === id), 'the list shows the quarantine');
    const page = await admin.get(`/api/v1/quarantines/${id}?limit=3`);
    assert.equal(page.status, 200, page.text);
    assert.equal(page.body.quarantine.reason, 'empty-read');
    assert.equal(page.body.quarantine.held, 4);
    assert.equal(page.body.users.total, 4);
    assert.equal(page.body.users.items.length, 3);
    assert.equal((await admin.get(`/api/v1/quarantines/${id}?limit=3&offset=3`)).body.users.items.length, 1);
    const run = await admin.get(`/api/v1/runs/${page.body.quarantine.runId}`);
    assert.equal(run.body.run.quarantine.id, id, 'the run names its quarantine');
    assert.equal((await admin.get('/api/v1/quarantines/q-nope')).status, 404);
    assert.equal((await admin.get(`/api/v1/quarantines/${id}?limit=0`)).status, 400);
  });

  test('approve a selection, then the rest; each user re-checked', async () => {
    const id = await quarantined();
    ds.upsert(users()[1]!); // Bob is back before the approval
    const sel = await admin.post(`/api/v1/quarantines/${id}/approve`, { sourceIds: ['a-1', 'a-2', 'not-held'] });
    assert.equal(sel.status, 200, sel.text);
    assert.equal(sel.body.run.kind, 'cleanup');
    assert.equal(sel.body.run.counts.disabled, 1);
    assert.deepEqual(sel.body.skipped.map((s: { sourceId: string }) => s.sourceId), ['a-2']);
    assert.deepEqual(sel.body.notHeld, ['not-held']);
    assert.equal(jira.inspect('ann.one')!.active, false);
    assert.equal(jira.inspect('bob.two')!.active, true);
    assert.equal(active(), 3);
    assert.equal(sel.body.quarantine.status, 'open');
    assert.match(sel.body.run.notice, /approval of quarantine .* by admin/);
    const all = await admin.post(`/api/v1/quarantines/${id}/approve`, {});
    assert.equal(all.status, 200, all.text);
    assert.equal(all.body.run.counts.disabled, 2);
    assert.equal(all.body.quarantine.status, 'approved');
    assert.equal(all.body.quarantine.closedBy, 'admin');
    assert.equal(active(), 1, 'only Bob, who came back, is active');
    assert.equal((await admin.post(`/api/v1/quarantines/${id}/approve`, {})).status, 409);
  });

  test('an approval is a run on the live view: run-started and run-finished of kind cleanup on the events stream, and a job of the queue', async () => {
    const id = await quarantined();
    const url = await server.app.listen({ host: '127.0.0.1', port: 0 });
    const cookie = [...admin.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    // A client of its own, destroyed at the end: after a cancelled stream the shared global
    // client leaves a connection open that holds the server's close() up for its header
    // timeout (about 70 s), long after this test.
    const { Agent, fetch: streamFetch } = await import('undici');
    const dispatcher = new Agent();
    const stream = await streamFetch(`${url}/api/v1/events?connectorId=qapi`, { headers: { cookie, accept: 'text/event-stream' }, dispatcher });
    assert.equal(stream.status, 200);
    const reader = stream.body!.getReader();
    const events = sseEvents(reader);
    assert.equal((await events.next()).value?.event, 'snapshot', 'the stream opens with its snapshot');
    const approved = await admin.post(`/api/v1/quarantines/${id}/approve`, {});
    assert.equal(approved.status, 200, approved.text);
    const seen: Array<{ event: string; data: any }> = [];
    while (!seen.some((e) => e.event === 'run-finished')) {
      const e = await events.next();
      assert.ok(!e.done, `the stream ended before the approval's run-finished (seen ${JSON.stringify(seen)})`);
      seen.push(e.value);
    }
    const started = seen.find((e) => e.event === 'run-started');
    assert.ok(started, `a run-started event for the approval (seen ${JSON.stringify(seen)})`);
    assert.equal(started.data.kind, 'cleanup');
    assert.equal(started.data.runId, approved.body.run.id, 'the event names the approval run');
    const finished = seen.find((e) => e.event === 'run-finished')!;
    assert.equal(finished.data.runId, approved.body.run.id);
    assert.equal(finished.data.status, approved.body.run.status);
    assert.equal(finished.data.counts.disabled, 4);
    const jobId = (await store.db.selectFrom('runs').select('job_id').where('id', '=', approved.body.run.id).executeTakeFirst())?.job_id;
    assert.ok(jobId, 'the approval ran as a job of the queue (its run carries the job id)');
    await reader.cancel();
    await dispatcher.destroy();
  });

  test('reject closes it and changes nothing; hostile input is refused', async () => {
    const id = await quarantined();
    assert.equal((await admin.post(`/api/v1/quarantines/${id}/approve`, { sourceIds: [] })).status, 400, 'an empty selection is a mistake, not "all"');
    assert.equal((await admin.post(`/api/v1/quarantines/${id}/approve`, { sourceIds: ['a\u0000b'] })).status, 400);
    assert.equal((await admin.post(`/api/v1/quarantines/${id}/approve`, { sourceIds: 'a-1' })).status, 400);
    assert.equal((await admin.post(`/api/v1/quarantines/${id}/approve`, { everyone: true })).status, 400);
    const nothing = await admin.post(`/api/v1/quarantines/${id}/approve`, { sourceIds: ['nobody'] });
    assert.equal(nothing.status, 400);
    assert.match(nothing.body.error, /none of the source ids given is held/);
    const r = await admin.post(`/api/v1/quarantines/${id}/reject`, {});
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.quarantine.status, 'rejected');
    assert.equal(active(), 4);
    assert.equal((await admin.post(`/api/v1/quarantines/${id}/reject`, {})).status, 409);
    const users = await admin.get(`/api/v1/quarantines/${id}?state=rejected`);
    assert.equal(users.body.users.total, 4);
  });

  test('the OpenAPI document has the quarantine routes, administrators only', async () => {
    const doc = await admin.get('/api/v1/openapi.json');
    assert.equal(doc.status, 200);
    for (const p of ['/api/v1/quarantines', '/api/v1/quarantines/{id}', '/api/v1/quarantines/{id}/approve', '/api/v1/quarantines/{id}/reject']) {
      const ops = doc.body.paths[p];
      assert.ok(ops, `${p} is documented`);
      for (const op of Object.values(ops) as Array<Record<string, unknown>>) assert.equal(op['x-idsync-access'], 'administrator');
    }
  });
});
