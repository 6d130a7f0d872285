// A simulation through the REST API shows how each first-contact user would be matched, in the
// run's items (`details.match`), and links nobody: the real engine against the Graph and Jira DC
// emulators, a hand-made Jira account that has one directory user's e-mail.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startSuite, type Suite } from '../../emulators/launch.ts';
import { demoConnector, demoSecrets } from '../../src/cli/demo.ts';
import { startServer, type RunningServer } from '../../src/server/index.ts';
import { Store } from '../../src/store/index.ts';
import type { RunFinished } from '../../src/server/progress-bus.ts';

describe('simulated matches through the API', { timeout: 120_000 }, () => {
  let suite: Suite;
  let store: Store;
  let server: RunningServer;
  let bearer: string;

  before(async () => {
    suite = await startSuite({ users: 8, confluence: false });
    store = await Store.open({ databaseUrl: ':memory:' });
    await store.connectors.save(demoConnector(suite.info), { secrets: demoSecrets(suite.info) });
    server = await startServer({ store, port: 0, logger: false, connectorContext: { ca: suite.info.graph.ca, fastRetries: true } });
    const admin = await server.auth.createUser('admin', 'not-used-for-log-in', 'administrator');
    bearer = (await server.auth.createToken(admin.id, 'test', 'administrator')).secret;
  });
  after(async () => {
    await server?.close();
    await store?.close();
    await suite?.close();
  });

  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${server.url}${path}`, { ...init, headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json', ...init.headers } });

  test('each new user says "would link to … by email" or "would create: …"; nothing is linked or written', async () => {
    const person = suite.graph.directory.org.users.find((u) => u.userType === 'Member' && !!u.mail)!;
    const handMade = suite.jira.store.createUser({ name: 'hand.made', displayName: 'Hand Made', emailAddress: person.mail! });
    const writes = suite.jira.stats.writes;
    const finished = new Promise<RunFinished>((resolve) => {
      const stop = server.bus.subscribe((e) => {
        if (e.type === 'run-finished') {
          stop();
          resolve(e);
        }
      });
    });
    const id = demoConnector(suite.info).id;
    const started = await api(`/api/v1/connectors/${id}/sync`, { method: 'POST', body: JSON.stringify({ kind: 'full', dryRun: true }) });
    assert.equal(started.status, 202, await started.text());
    const run = await finished;
    assert.equal(run.status, 'succeeded', JSON.stringify(run));
    assert.equal(suite.jira.stats.writes, writes, 'a simulation writes nothing');
    assert.equal(await store.links.count(id), 0, 'a simulation links nobody');

    const res = await api(`/api/v1/runs/${run.runId}/items?limit=100`);
    assert.equal(res.status, 200);
    const { items } = (await res.json()) as { items: Array<{ sourceId: string; operation: string; details: Record<string, unknown> | null }> };
    const linked = items.find((i) => i.sourceId === person.id);
    assert.equal(linked?.operation, 'updated');
    assert.equal(linked?.details?.matched, 'email');
    assert.equal(linked?.details?.match, `would link to hand.made (key ${handMade.key}) by email "${person.mail}"`);
    const created = items.filter((i) => i.operation === 'created');
    assert.ok(created.length > 0, 'the real run created users');
    for (const i of created) assert.match(String(i.details?.match), /^would create: no account has username "[^"]+" or email "[^"]+"$/);
  });
});
