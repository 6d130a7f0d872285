// The metrics with the real engine against the emulators: a full sync's write requests and the
// 429 answers Jira gave are counted per connector and target from the requests the target's
// client records, and agree with what the emulator itself received.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Suite } from '../../emulators/launch.ts';
import type { RunningServer } from '../../src/server/index.ts';
import { startDemoServer, type DemoServer } from './demo-server.ts';
import { parseExposition } from './prom-text.ts';

const TOKEN = 'metrics-token-for-the-engine-test';

describe('metrics of a real sync', { timeout: 120_000 }, () => {
  let demo: DemoServer;
  let suite: Suite;
  let server: RunningServer;

  before(async () => {
    demo = await startDemoServer({ users: 12, server: { metricsToken: TOKEN } });
    ({ suite, server } = demo);
  });
  after(() => demo?.close());

  test('write requests and 429s per target, users read and written, runs and last success', async () => {
    const id = demo.connectorId;
    // Jira answers the first two writes with 429; the client waits (Retry-After: 0) and retries.
    suite.jira.setFaults({ script: [{ method: 'POST', status: 429, headers: { 'retry-after': '0' }, times: 2 }] });
    const writesBefore = suite.jira.stats.writes;
    const finished = demo.nextRunFinished();
    const started = await demo.api(`/api/v1/connectors/${id}/sync`, { method: 'POST', body: JSON.stringify({ kind: 'full' }) });
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
