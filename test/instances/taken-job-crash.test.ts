// The window between taking a job and claiming its run: a process takes a connector's job from
// pg-boss and is SIGKILLed before any run exists (so no run can be found dead). Two `idsync
// serve` processes sharing the database take the job over once its lease (the queue's lease,
// shortened for the tests in serve.ts; not the day a long expiration would mean) runs out unrenewed; it runs once, as its second
// attempt, and Jira ends up with what the mapping says.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../../src/store/index.ts';
import { PgBossJobQueue } from '../../src/jobs/pg-boss-queue.ts';
import { jobTimingsFromEnv } from '../../src/jobs/index.ts';
import { freshPostgresDatabase } from '../helpers/stores.ts';
import { assertJiraMatchesDirectory, e2eConnector, e2eOrg, startEmulators } from '../e2e/harness.ts';
import { JOB_LEASE_SECONDS, JOB_TIMINGS_ENV, serve, stop, until, type Instance } from './serve.ts';

const USERS = 30;
const CHILD = new URL('./take-job-child.ts', import.meta.url).pathname;

test('a job taken by a process killed before its run began is run once by another instance after its lease', { timeout: 150_000 }, async () => {
  const em = await startEmulators({ users: USERS });
  const database = await freshPostgresDatabase('idsync_taken_job');
  const dataDir = mkdtempSync(join(tmpdir(), 'idsync-taken-job-'));
  const store = await Store.open({ dataDir, databaseUrl: database.url });
  const instances: Instance[] = [];
  let queue: PgBossJobQueue | undefined;
  try {
    await store.connectors.save({ ...e2eConnector(em, { id: 'contoso' }), safety: { maxUsers: USERS, maxPercent: 100 } });
    // The job is enqueued with this queue's lease: the one the serve processes use.
    queue = await PgBossJobQueue.open(store.db, console, jobTimingsFromEnv(JOB_TIMINGS_ENV));
    const slot = new Date(Date.now() - 60_000).toISOString();
    const queued = await queue.enqueue({ connectorId: 'contoso', kind: 'full', trigger: 'schedule', slot });
    assert.ok(queued.queued, 'the job is queued');

    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify({ store: { dataDir, databaseUrl: database.url }, connectorId: 'contoso' })], { stdio: ['ignore', 'pipe', 'inherit'] });
    const [line] = (await once(child.stdout!, 'data')) as [Buffer];
    assert.equal(line.toString().trim(), `taken ${queued.jobId}`);
    child.kill('SIGKILL');
    await once(child, 'exit');
    const killedAt = Date.now();

    const env = { IDSYNC_DATABASE_URL: database.url, IDSYNC_EXTRA_CA: em.graph.ca! };
    for (let n = 0; n < 2; n++) instances.push(serve(dataDir, env));
    await Promise.all(instances.map((i) => i.announced));

    const finished = await until('the job to be run by an instance', async () => (await store.runs.ofJob(queued.jobId)).find((r) => r.status !== 'running'), instances);
    const waited = Date.now() - killedAt;
    assert.equal(finished.status, 'succeeded', `the run that took the job over: ${finished.error}`);
    assert.ok(instances.some((i) => i.child.pid === finished.ownerPid), 'run by one of the serve instances');
    // Not before the lease ran out: the killed process held the job until then.
    assert.ok(waited >= (JOB_LEASE_SECONDS - 5) * 1000, `taken over after the lease (${waited} ms)`);
    process.stdout.write(`# taken over ${Math.round(waited / 1000)} s after the kill (lease ${JOB_LEASE_SECONDS} s)\n`);

    const runs = await store.runs.list({ connectorId: 'contoso' });
    assert.deepEqual(runs.map((r) => r.id), [finished.id], 'the job ran once, on one instance');
    assertJiraMatchesDirectory(em.jira, e2eOrg(USERS));
  } finally {
    await Promise.all(instances.map(stop));
    await queue?.stop();
    await store.close();
    await database.drop();
    rmSync(dataDir, { recursive: true, force: true });
    await em.close();
  }
});
