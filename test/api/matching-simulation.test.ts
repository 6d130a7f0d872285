// A simulation through the REST API shows how each first-contact user would be matched, in the
// run's items (`details.match`), and links nobody: the real engine against the Graph and Jira DC
// emulators, a hand-made Jira account that has one directory user's e-mail.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Suite } from '../../emulators/launch.ts';
import type { Store } from '../../src/store/index.ts';
import { startDemoServer, type DemoServer } from './demo-server.ts';

describe('simulated matches through the API', { timeout: 120_000 }, () => {
  let demo: DemoServer;
  let suite: Suite;
  let store: Store;

  before(async () => {
    demo = await startDemoServer({ users: 8 });
    ({ suite, store } = demo);
  });
  after(() => demo?.close());

  const api = (path: string, init?: RequestInit) => demo.api(path, init);

  test('each new user says "would link to … by email" or "would create: …"; nothing is linked or written', async () => {
    const person = suite.graph.directory.org.users.find((u) => u.userType === 'Member' && !!u.mail)!;
    const handMade = suite.jira.store.createUser({ name: 'hand.made', displayName: 'Hand Made', emailAddress: person.mail! });
    const writes = suite.jira.stats.writes;
    const finished = demo.nextRunFinished();
    const id = demo.connectorId;
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
