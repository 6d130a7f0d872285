// A quarantine approval's job handed on after its run had ended (its process died between the
// run's end and the job's completion, or the same request sent again after a lost response) is
// not run again, and answers like the first attempt: the run, the quarantine, the users skipped
// after the re-check and the ids asked for that it did not hold (src/jobs/approval-answer.ts).
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
const id = (n: number) => `00000000-0000-0000-0000-0000000000e${n}`;

test('a retried approval job whose run had ended answers with the approval details the first attempt gave', { timeout: 60_000 }, async () => {
  const jira = await startJiraDcEmulator();
  const t = await openSqliteStore();
  try {
    const people = [person(id(1), 'Ann Stay'), person(id(2), 'Bob Gone'), person(id(3), 'Cy Back')];
    const ds = memoryDataset('approval-retry', [...people]);
    const connector = {
      id: 'approval-retry',
      source: { type: 'memory', dataset: 'approval-retry', requiredGroups: [] },
      // Every leaver is held: the approval has something to do.
      safety: { maxUsers: 0, maxPercent: 0 },
      targets: [{
        id: 'jira', type: 'jira-dc', url: jira.url, auth: { type: 'pat', token: { env: 'TEST_JIRA_PAT' } },
        mapping: [
          ...ACCOUNT_MAPPING,
        ],
        createUsers: true, createMissingGroups: false, concurrency: 2,
      }],
    } as unknown as ConnectorConfig;
    await t.store.connectors.save(connector);
    const engine = new SyncEngine(t.store, { fastRetries: true });
    assert.equal((await engine.run({ connector, kind: 'full', trigger: 'cli' })).run.status, 'succeeded');
    ds.remove(id(2), 'deleted');
    ds.remove(id(3), 'deleted');
    const held = await engine.run({ connector, kind: 'full', trigger: 'cli' });
    const quarantineId = held.run.quarantine?.id;
    assert.ok(quarantineId, `the leavers are quarantined: ${held.run.notice}`);
    ds.upsert(people[2]!); // back before the approval: skipped by the re-check

    const runner = new JobRunner(t.store, new LocalJobQueue(quiet), new RunCoordinator(engine, quiet), quiet);
    const job: RunJob = { connectorId: connector.id, kind: 'cleanup', trigger: 'api', approval: { quarantineId, sourceIds: [id(2), id(3), 'not-held'], by: 'admin' } };
    const first = await runner.handle(job, { jobId: 'job-approve', attempt: 0 });
    const answer = first.approval as { quarantine: { status: string; held: number }; skipped: Array<{ sourceId: string }>; notHeld: string[] };
    assert.ok(first.runId && answer, `the first attempt answers with its run and the approval: ${JSON.stringify(first)}`);
    assert.deepEqual(answer.skipped.map((s) => s.sourceId), [id(3)], 'the user back in the provider is skipped');
    assert.deepEqual(answer.notHeld, ['not-held']);
    assert.equal(answer.quarantine.status, 'approved');
    for (let i = 0; i < 50 && (await t.store.runs.ofJob('job-approve')).length === 0; i++) await new Promise((r) => setTimeout(r, 20));

    const retried = await runner.handle(job, { jobId: 'job-approve', attempt: 1 });
    assert.equal(retried.runId, first.runId, 'the retry answers with the run the first attempt did');
    const asSent = (v: unknown) => JSON.parse(JSON.stringify(v));
    assert.deepEqual(asSent(retried.approval), asSent(first.approval), 'and with the same approval details');
    assert.equal((await t.store.runs.list({ connectorId: connector.id })).filter((r) => r.kind === 'cleanup').length, 1, 'the approval was not run again');
  } finally {
    await t.dispose();
    await jira.close();
  }
});
