// The metrics with the real engine against the emulators: a full sync's write requests and the
// 429 answers Jira gave are counted per connector and target from the requests the target's
// client records, and agree with what the emulator itself received.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startSuite, type Suite } from '../../emulators/launch.ts';
import { demoConnector, demoSecrets } from '../../src/cli/demo.ts';
import { startServer, type RunningServer } from '../../src/server/index.ts';
import { Store } from '../../src/store/index.ts';
import type { RunFinished } from '../../src/server/progress-bus.ts';
import { parseExposition } from './prom-text.ts';

const TOKEN = 'metrics-token-for-the-engine-test';

describe('metrics of a real sync', { timeout: 120_000 }, () => {
  let suite: Suite;
  let store: Store;
  let server: RunningServer;
  let bearer: string;

  before(async () => {
    suite = await startSuite({ users: 12, confluence: false });
    store = await Store.open({ databaseUrl: ':memory:' });
    await store.connectors.save(demoConnector(suite.info), { secrets: demoSecrets(suite.info) });
    server = await startServer({ store, port: 0, logger: false, connectorContext: { ca: suite.info.graph.ca, fastRetries: true }, metricsToken: TOKEN });
    const admin = await server.auth.createUser('admin', 'not-used-for-log-in', 'administrator');
    bearer = (await server.auth.createToken(admin.id, 'test', 'administrator')).secret;
  });

  after(async () => {
    await server?.close();
    await store?.close();
    await suite?.close();
  });

  test('write requests and 429s per target, users read and written, runs and last success', async () => {
    const id = demoConnector(suite.info).id;
    // Jira answers the first two writes with 429; the client waits (Retry-After: 0) and retries.
    suite.jira.setFaults({ script: [{ method: 'POST', status: 429, headers: { 'retry-after': '0' }, times: 2 }] });
    const writesBefore = suite.jira.stats.writes;
    const finished = new Promise<RunFinished>((resolve) => {
      const stop = server.bus.subscribe((e) => {
        if (e.type === 'run-finished') {
          stop();
          resolve(e);
        }
      });
    });
    const started = await fetch(`${server.url}/api/v1/connectors/${id}/sync`, { method: 'POST', headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'full' }) });
    assert.equal(started.status, 202, await started.text());
    const run = await finished;
    assert.equal(run.status, 'succeeded', `the 429s were waited out (${JSON.stringify(run)})`);
    assert.ok(run.counts && run.counts.usersWritten > 0, `the run wrote users (${JSON.stringify(run.counts)})`);

    const res = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const m = parseExposition(await res.text());
    const target = { connector: id, target: 'jira' };
    assert.equal(m.value('idsync_target_write_requests_total', target), suite.jira.stats.writes - writesBefore, 'every write the emulator received, retries included');
    assert.equal(m.value('idsync_target_rate_limited_total', target), 2, 'the two 429 answers');
    assert.deepEqual([...new Set(m.samples.filter((s) => s.name === 'idsync_target_write_requests_total').map((s) => s.labels.target))], ['jira'], 'the source (Graph) is no target');
    assert.equal(m.value('idsync_users_read_total', { connector: id }), run.counts!.read);
    assert.equal(m.value('idsync_users_written_total', { connector: id }), run.counts!.usersWritten);
    assert.equal(m.value('idsync_runs_total', { connector: id, kind: 'full', status: run.status, dry_run: 'false' }), 1);
    assert.equal(m.value('idsync_last_success_timestamp_seconds', { connector: id, kind: 'full' }), Date.parse(run.finishedAt) / 1000);
  });
});
