// A single-user sync's job handed on after its run had ended (its process died between the run's
// end and the job's completion) is not run again, and answers with the same report as the first
// attempt (SyncResult.user, rebuilt from the run's journal; only the mapped values are not
// journaled). Compared with what a real first attempt answered: a user created, then unchanged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { memoryDataset, person, ACCOUNT_MAPPING } from './helpers/memory-source.ts';
import { openSqliteStore } from './helpers/stores.ts';
import { startJiraDcEmulator } from '../emulators/jira-dc/index.ts';
import { SyncEngine } from '../src/engine/engine.ts';
import { RunCoordinator } from '../src/server/run-coordinator.ts';
import { LocalJobQueue } from '../src/jobs/local-queue.ts';
import { JobRunner } from '../src/jobs/runner.ts';
import type { RunJob } from '../src/jobs/types.ts';
import type { ConnectorConfig } from '../src/config/schema.ts';

process.env.TEST_JIRA_PAT = 'admin-pat';
const quiet = { error() {}, warn() {}, info() {} };

test('a retried single-user job whose run had ended answers with the run and the user report the first attempt gave', { timeout: 60_000 }, async () => {
  const jira = await startJiraDcEmulator();
  const t = await openSqliteStore();
  try {
    memoryDataset('retry-org', [person('00000000-0000-0000-0000-0000000000d1', 'Dora Retry', {}, [])]);
    const connector: ConnectorConfig = {
      id: 'retry',
      source: { type: 'memory', dataset: 'retry-org', requiredGroups: [] },
      targets: [{
        id: 'jira', type: 'jira-dc', url: jira.url, auth: { type: 'pat', token: { env: 'TEST_JIRA_PAT' } },
        mapping: [
          ...ACCOUNT_MAPPING,
        ],
        createUsers: true, createMissingGroups: false, concurrency: 2,
      }] as ConnectorConfig['targets'],
    } as ConnectorConfig;
    await t.store.connectors.save(connector);
    const runner = new JobRunner(t.store, new LocalJobQueue(quiet), new RunCoordinator(new SyncEngine(t.store, { fastRetries: true }), quiet), quiet);
    const job: RunJob = { connectorId: 'retry', kind: 'user', userRef: 'dora.retry@contoso.com', trigger: 'api' };

    for (const [jobId, expected] of [['job-created', 'created'], ['job-unchanged', 'unchanged']] as const) {
      const first = await runner.handle(job, { jobId, attempt: 0 });
      assert.ok(first.runId && first.user, `the first attempt answers with its run and report: ${JSON.stringify(first)}`);
      const report = first.user as { targets: Array<{ operation: string }>; mapped: Record<string, unknown> };
      assert.equal(report.targets[0]?.operation, expected);
      for (let i = 0; i < 50 && (await t.store.runs.ofJob(jobId)).length === 0; i++) await new Promise((r) => setTimeout(r, 20));

      const retried = await runner.handle(job, { jobId, attempt: 1 });
      assert.equal(retried.runId, first.runId, 'the retry answers with the run the first attempt did');
      // As the answer travels (JSON: the HTTP body, pg-boss's output column).
      const asSent = (v: unknown) => JSON.parse(JSON.stringify(v));
      assert.deepEqual(asSent(retried.user), asSent({ ...report, mapped: {} }), 'and with the same report (the mapped values are not journaled)');
      assert.equal((await t.store.runs.list({ connectorId: 'retry' })).filter((r) => r.kind === 'user').length, expected === 'created' ? 1 : 2, 'the user sync was not run again');
    }
  } finally {
    await t.dispose();
    await jira.close();
  }
});
