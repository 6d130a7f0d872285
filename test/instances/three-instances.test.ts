// Three `idsync serve` processes on one PostgreSQL database, a Graph and a Jira emulator: the
// connector's cron slot was missed while every process was down, so all three find it at start
// and exactly one runs it; that process is SIGKILLed part-way through the run (after Jira has
// applied some writes); one of the other two takes the job over and finishes it. Afterwards the
// slot has one claim, its job one killed and one succeeded run on another process, and Jira
// holds exactly what the mapping says (nobody missing, nobody twice).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../../src/store/index.ts';
import { AuthRepo } from '../../src/store/auth.ts';
import { SlotClaims } from '../../src/jobs/slots.ts';
import { freshPostgresDatabase } from '../helpers/stores.ts';
import { serve, stop, until, type Instance } from './serve.ts';
import { assertJiraMatchesDirectory, e2eConnector, e2eOrg, startEmulators } from '../e2e/harness.ts';

const USERS = 200;
/** Jira writes applied before the process running the scheduled run is killed. */
const KILL_AFTER_WRITES = 40;

test('three instances: a missed slot runs once; its process is killed mid-run and another finishes the job; Jira equals the mapping', { timeout: 110_000 }, async () => {
  const em = await startEmulators({ users: USERS });
  const database = await freshPostgresDatabase('idsync_instances');
  const dataDir = mkdtempSync(join(tmpdir(), 'idsync-instances-'));
  const store = await Store.open({ dataDir, databaseUrl: database.url });
  const instances: Instance[] = [];
  try {
    const connector = {
      ...e2eConnector(em, { id: 'contoso' }),
      // A daily full sync; its last run was three days ago, so every process starting finds a missed slot.
      schedule: { cron: '0 3 * * *', timezone: 'UTC', enabled: true, incremental: false as const },
      safety: { maxUsers: USERS, maxPercent: 100 },
    };
    await store.connectors.save(connector);
    await new AuthRepo(store.db).markSlot('contoso', new Date(Date.now() - 3 * 86_400_000).toISOString());

    let killed: number | undefined;
    const killing = new Promise<void>((resolve) => {
      em.jira.onWrite((n) => {
        if (n < KILL_AFTER_WRITES || killed !== undefined) return;
        killed = -1; // once; the owner is looked up outside the emulator's hook
        resolve();
      });
    });

    const env = { IDSYNC_DATABASE_URL: database.url, IDSYNC_EXTRA_CA: em.graph.ca! };
    // Started together: each one looks for the missed slot at start.
    // Each is in `instances` from its spawn on, so `finally` stops it whatever happens next.
    for (let n = 0; n < 3; n++) instances.push(serve(dataDir, env));
    await Promise.all(instances.map((i) => i.announced));

    await killing;
    const running = await store.db.selectFrom('runs').select(['id', 'owner_pid', 'job_id']).where('status', '=', 'running').where('trigger', '=', 'schedule').executeTakeFirst();
    assert.ok(running?.owner_pid, 'the scheduled run is running when Jira has applied its first writes');
    process.kill(running.owner_pid, 'SIGKILL');
    killed = running.owner_pid;
    const victim = instances.find((i) => i.child.pid === killed);
    assert.ok(victim, `the run's owner (pid ${killed}) is one of the three serve processes`);
    assert.equal((await victim.exited).signal, 'SIGKILL');
    em.jira.onWrite(undefined);

    // The run is tied to its job right after its claim, long before Jira's first write.
    const jobId = running.job_id;
    assert.ok(jobId, 'the scheduled run records the job it does');
    const finished = await until(
      'the job to finish on another instance',
      async () => (await store.runs.ofJob(jobId)).find((r) => r.status !== 'running' && r.id !== running.id),
      instances,
    );

    const runs = await store.runs.ofJob(jobId);
    assert.deepEqual(runs.map((r) => r.id), [running.id, finished.id], 'the job has the killed run and the one that finished it');
    assert.equal(runs[0]!.status, 'failed');
    assert.match(runs[0]!.error ?? '', /interrupted: the process that ran it \(pid \d+ .*\) is gone/);
    assert.equal(finished.status, 'succeeded', `the run that took over: ${finished.error}`);
    assert.notEqual(finished.ownerPid, killed, 'another process finished it');
    assert.ok(instances.some((i) => i !== victim && i.child.pid === finished.ownerPid), 'one of the surviving instances');

    const scheduled = await store.runs.list({ connectorId: 'contoso' });
    assert.deepEqual(scheduled.map((r) => r.trigger), ['schedule', 'schedule'], 'no other run: the slot ran once, on one instance');
    const slots = await new SlotClaims(store.db).list('contoso');
    assert.equal(slots.length, 1, `one slot claimed by the three instances: ${JSON.stringify(slots)}`);
    assert.equal(slots[0]!.kind, 'full');

    // The emulated directory is the harness's seeded organisation, unchanged.
    assertJiraMatchesDirectory(em.jira, e2eOrg(USERS));
  } finally {
    em.jira.onWrite(undefined);
    await Promise.all(instances.map(stop));
    await store.close();
    await database.drop();
    rmSync(dataDir, { recursive: true, force: true });
    await em.close();
  }
});
