// API triggers are jobs on the queue shared by every `idsync serve` process (pg-boss on
// PostgreSQL), answered from the runs table and the job's output, whichever process does them:
// - a single-user sync sent to one instance while the other runs a full sync of the connector
//   waits its turn and answers with its own result once the full sync has ended;
// - a full sync triggered through instance A's API while B is idle runs exactly once (one run,
//   one job), and the run is the same seen through either instance's API.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { Store } from '../../src/store/index.ts';
import { freshPostgresDatabase } from '../helpers/stores.ts';
import { assertJiraMatchesDirectory, e2eConnector, e2eOrg, startEmulators } from '../e2e/harness.ts';
import { addressOf, adminToken, serve, stop, until, type Instance } from './serve.ts';

const USERS = 150;

test('two serve processes on PostgreSQL: a user sync waits behind the other instance\'s full sync; a full sync through A runs once and both see it', { timeout: 170_000 }, async () => {
  const em = await startEmulators({ users: USERS });
  // Slow Jira down so the first full sync (it creates every account) is still going when the user sync comes.
  // 25 ms: about 10 s for the 150 accounts (17 s measured at 40 ms on a loaded machine), well inside the user sync's 30 s.
  em.jira.setFaults({ latencyMs: 25 });
  const database = await freshPostgresDatabase('idsync_api_jobs');
  const dataDir = mkdtempSync(join(tmpdir(), 'idsync-api-jobs-'));
  const store = await Store.open({ dataDir, databaseUrl: database.url });
  const instances: Instance[] = [];
  try {
    await store.connectors.save({ ...e2eConnector(em, { id: 'contoso' }), safety: { maxUsers: USERS, maxPercent: 100 } });
    const secret = await adminToken(store);
    const env = { IDSYNC_DATABASE_URL: database.url, IDSYNC_EXTRA_CA: em.graph.ca! };
    for (let n = 0; n < 2; n++) instances.push(serve(dataDir, env));
    await Promise.all(instances.map((i) => i.announced));
    const call = async (i: Instance, method: string, path: string, body?: unknown) => {
      const res = await fetch(`${addressOf(i)}${path}`, { method, headers: { authorization: `Bearer ${secret}`, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });
      return { status: res.status, body: (await res.json()) as any };
    };
    const pidOf = (i: Instance) => i.child.pid!;

    // --- a user sync while the other instance runs a full sync
    const started = await call(instances[0]!, 'POST', '/api/v1/connectors/contoso/sync', { kind: 'full' });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    const full = await until('the full sync to be claimed', async () => (await store.db.selectFrom('runs').select(['id', 'owner_pid', 'job_id', 'status']).where('kind', '=', 'full').executeTakeFirst()) ?? undefined, instances);
    assert.equal(started.body.active.runId, full.id, 'the 202 names the claimed run');
    assert.ok(full.job_id, 'the full sync is a job of the queue');
    const b = instances.find((i) => pidOf(i) === full.owner_pid);
    assert.ok(b, 'one of the two instances runs the full sync');
    const a = instances.find((i) => i !== b)!;
    const someone = e2eOrg(USERS).users[3]!;
    assert.equal((await store.runs.get(full.id))?.status, 'running', 'the full sync still runs when the user sync is sent');
    const asked = Date.now();
    const userSync = await call(a, 'POST', '/api/v1/connectors/contoso/sync', { kind: 'user', userRef: someone.userPrincipalName });
    const waitedMs = Date.now() - asked;
    assert.equal(userSync.status, 200, JSON.stringify(userSync.body));
    assert.equal(userSync.body.run.kind, 'user');
    assert.equal(userSync.body.run.status, 'succeeded', userSync.body.run.error ?? '');
    assert.equal(userSync.body.user?.found, true, 'the answer carries the user sync\'s own report');
    const fullDone = (await store.runs.get(full.id))!;
    assert.equal(fullDone.status, 'succeeded', fullDone.error ?? '');
    assert.ok(userSync.body.run.startedAt >= fullDone.finishedAt!, `the user sync ran after the full sync (${userSync.body.run.startedAt} vs ${fullDone.finishedAt})`);
    const userRow = await store.db.selectFrom('runs').select(['job_id', 'owner_pid']).where('id', '=', userSync.body.run.id).executeTakeFirstOrThrow();
    assert.ok(userRow.job_id, 'the user sync is a job of the queue');
    console.log(`# user sync answered after ${waitedMs} ms, by pid ${userRow.owner_pid} (full sync on pid ${full.owner_pid}, asked through pid ${pidOf(a)})`);
    assertJiraMatchesDirectory(em.jira, e2eOrg(USERS));

    // --- a full sync through A while B is idle: once, seen from both
    const before = (await store.runs.list({ connectorId: 'contoso' })).length;
    const again = await call(a, 'POST', '/api/v1/connectors/contoso/sync', { kind: 'full' });
    assert.equal(again.status, 202, JSON.stringify(again.body));
    const runId: string = again.body.active.runId;
    const finished = await until('the full sync through A to end', async () => {
      const r = await store.runs.get(runId);
      return r && r.status !== 'running' ? r : undefined;
    }, instances);
    assert.equal(finished.status, 'succeeded', finished.error ?? '');
    // Another look after a few polls of both instances: nothing ran twice.
    await new Promise((r) => setTimeout(r, 3000));
    const runs = await store.runs.list({ connectorId: 'contoso' });
    assert.equal(runs.length, before + 1, 'exactly one more run');
    const jobId = (await store.db.selectFrom('runs').select('job_id').where('id', '=', runId).executeTakeFirstOrThrow()).job_id;
    const jobs = await sql<{ state: string; n: number }>`SELECT state, count(*)::int AS n FROM idsync_boss.job WHERE id = ${jobId}::uuid GROUP BY state`.execute(store.db);
    assert.deepEqual(jobs.rows, [{ state: 'completed', n: 1 }], 'one job, completed once');
    for (const i of instances) {
      const seen = await call(i, 'GET', `/api/v1/runs/${runId}`);
      assert.equal(seen.status, 200);
      assert.equal(seen.body.run.status, 'succeeded', `instance pid ${pidOf(i)} sees the run's result`);
      assert.deepEqual(seen.body.run.counts, finished.counts);
      const list = await call(i, 'GET', '/api/v1/runs?connectorId=contoso&limit=1');
      assert.equal(list.body.runs[0]?.id, runId, `instance pid ${pidOf(i)} lists it as the latest run`);
    }
  } finally {
    await Promise.all(instances.map(stop));
    await store.close();
    await database.drop();
    rmSync(dataDir, { recursive: true, force: true });
    await em.close();
  }
});

test('a user sync whose process is killed mid-run is not lost: the job is handed to the other process and the waiting API call gets its result', { timeout: 170_000 }, async () => {
  const em = await startEmulators({ users: 20 });
  const org = e2eOrg(20);
  const database = await freshPostgresDatabase('idsync_api_jobs_kill');
  const dataDir = mkdtempSync(join(tmpdir(), 'idsync-api-jobs-kill-'));
  const store = await Store.open({ dataDir, databaseUrl: database.url });
  const instances: Instance[] = [];
  try {
    await store.connectors.save(e2eConnector(em, { id: 'contoso' }));
    const secret = await adminToken(store);
    const env = { IDSYNC_DATABASE_URL: database.url, IDSYNC_EXTRA_CA: em.graph.ca! };
    for (let n = 0; n < 2; n++) instances.push(serve(dataDir, env));
    await Promise.all(instances.map((i) => i.announced));
    // A slow Jira: one user sync takes seconds, long enough to kill its process in the middle.
    em.jira.setFaults({ latencyMs: 1500 });
    // The job goes to whichever process takes it first, and the process asked looks at once: so
    // while it is busy with one user sync, a second one asked of it is taken by the other process
    // (which waits for its turn behind the first). Asked until that happens.
    const ask = (i: Instance, ref: string) =>
      fetch(`${addressOf(i)}/api/v1/connectors/contoso/sync`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'user', userRef: ref }) }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
    // Claimed and tied to its job: the job id is written on the run right after the claim, and
    // read before then it would be missing when the test looks the job's runs up.
    const runOf = (ref: string) => until(`the user sync of ${ref} to be claimed`, async () => (await store.db.selectFrom('runs').select(['id', 'owner_pid', 'job_id']).where('kind', '=', 'user').where('user_ref', '=', ref).where('job_id', 'is not', null).executeTakeFirst()) ?? undefined, instances);
    for (let attempt = 0; attempt < 4; attempt++) {
      const asked = instances[attempt % 2]!;
      const first = org.users[2 * attempt + 2]!.userPrincipalName;
      const second = org.users[2 * attempt + 3]!.userPrincipalName;
      const firstAnswer = ask(asked, first);
      await runOf(first);
      const answer = ask(asked, second);
      const run = await runOf(second);
      assert.equal((await firstAnswer).status, 200, 'the first user sync answers');
      if (run.owner_pid === asked.child.pid) {
        assert.equal((await answer).status, 200, 'a user sync done by the process asked answers too');
        continue;
      }
      const killed = instances.find((i) => i.child.pid === run.owner_pid)!;
      killed.child.kill('SIGKILL');
      await killed.exited;
      const got = await answer;
      assert.equal(got.status, 200, JSON.stringify(got.body));
      assert.equal(got.body.run.kind, 'user');
      assert.equal(got.body.run.status, 'succeeded', got.body.run.error ?? '');
      assert.equal(got.body.user?.found, true, "the answer is the handed-on run's own report");
      assert.notEqual(got.body.run.id, run.id, 'a new run, by the process that took the job over');
      const rows = await store.db.selectFrom('runs').select(['id', 'status', 'job_id', 'owner_pid']).where('job_id', '=', run.job_id).orderBy('started_at').execute();
      assert.deepEqual(rows.map((r) => [r.status, r.owner_pid]), [['failed', killed.child.pid], ['succeeded', asked.child.pid]], 'the killed run is marked failed; the same job ran again on the survivor');
      console.log(`# user sync handed on after its process (pid ${killed.child.pid}) was killed; answered by pid ${asked.child.pid}`);
      return;
    }
    assert.fail('in four tries no user sync ran on the process not asked');
  } finally {
    await Promise.all(instances.map(stop));
    await store.close();
    await database.drop();
    rmSync(dataDir, { recursive: true, force: true });
    await em.close();
  }
});
