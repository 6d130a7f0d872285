// A crashed run must not block its connector: a process that holds a run is SIGKILLed, and the
// next run starts at once (not after the heartbeat timeout), with the dead run marked failed and
// the process named. A single-user sync that finds another process's live run waits for it (up
// to its bound), then is refused naming the run. On SQLite and PostgreSQL.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { hostname } from 'node:os';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { memoryDataset, person } from './helpers/memory-source.ts';
import { PG_URL, storeKinds } from './helpers/stores.ts';
import type { TestStore } from './helpers/stores.ts';
import { startJiraDcEmulator, type JiraDcEmulator } from '../emulators/jira-dc/index.ts';
import { SyncEngine } from '../src/engine/engine.ts';
import type { ConnectorConfig } from '../src/config/schema.ts';

process.env.TEST_JIRA_PAT = 'admin-pat';
const holderScript = fileURLToPath(new URL('./helpers/run-holder.ts', import.meta.url));

const connector = (url: string): ConnectorConfig => ({
  id: 'crashed',
  source: { type: 'memory', dataset: 'crash-org', requiredGroups: [] },
  targets: [
    {
      id: 'jira', type: 'jira-dc', url, auth: { type: 'pat', token: { env: 'TEST_JIRA_PAT' } },
      mapping: [
        { target: 'user.username', source: '$lower($stripDomain(userPrincipalName))', flow: 'always', whenEmpty: 'keep' },
        { target: 'user.displayName', source: 'displayName', flow: 'always', whenEmpty: 'keep' },
        { target: 'user.email', source: 'mail', flow: 'always', whenEmpty: 'keep' },
      ],
      createUsers: true, createMissingGroups: false, concurrency: 2,
    },
  ] as ConnectorConfig['targets'],
});

/** Starts a child process that claims a run of `crashed` and never finishes it. */
async function holdRunInChild(t: TestStore): Promise<{ child: ChildProcess; runId: string }> {
  const env = { ...process.env, IDSYNC_DATA_DIR: t.dataDir, ...(t.kind === 'postgres' ? { IDSYNC_DATABASE_URL: PG_URL, IDSYNC_TEST_PG_SCHEMA: t.pgSchema } : {}) };
  const child = spawn(process.execPath, ['--import', 'tsx', holderScript], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const runId = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /claimed (\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`the run holder exited (${code}) before claiming a run: ${err}`)));
  });
  return { child, runId };
}

async function kill(child: ChildProcess): Promise<void> {
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

for (const [kind, open] of storeKinds) {
  describe(`a crashed run on ${kind}`, () => {
    let jira: JiraDcEmulator;
    let t: TestStore;

    before(async () => {
      jira = await startJiraDcEmulator();
      t = await open();
      memoryDataset('crash-org', [person('00000000-0000-0000-0000-0000000000c1', 'Cora Crash', {}, [])]);
    });
    after(async () => {
      await t.dispose();
      await jira.close();
    });

    test('a run whose process was killed is failed at once and the next run starts', async () => {
      const { child, runId } = await holdRunInChild(t);
      const pid = child.pid!;
      assert.equal((await t.store.runs.get(runId))?.status, 'running', 'the child holds the run');
      await kill(child);
      const next = await new SyncEngine(t.store, { fastRetries: true }).run({ connector: connector(jira.url), kind: 'full', trigger: 'cli' });
      assert.equal(next.run.status, 'succeeded', String(next.run.error));
      const dead = await t.store.runs.get(runId);
      assert.equal(dead?.status, 'failed');
      assert.equal(dead?.error, `interrupted: the process that ran it (pid ${pid} on host ${hostname()}) is gone`);
      assert.ok(dead?.finishedAt, 'the dead run has an end');
    });

    test("a user sync waits for another process's live run, and runs once that process is gone", async () => {
      const { child, runId } = await holdRunInChild(t);
      const engine = new SyncEngine(t.store, { fastRetries: true });
      // Bounded wait while the other process lives: refused, naming the run and its process.
      await assert.rejects(
        engine.run({ connector: connector(jira.url), kind: 'user', userRef: 'cora.crash@contoso.com', trigger: 'cli', claimWaitMs: 600 }),
        (e: Error) => e.message.includes(`run ${runId}`) && e.message.includes(`pid ${child.pid} on host ${hostname()}`) && /waited 0.6 s/.test(e.message),
      );
      // A full sync is refused at once.
      await assert.rejects(engine.run({ connector: connector(jira.url), kind: 'full', trigger: 'cli' }), (e: Error) => /already running/.test(e.message) && !/waited/.test(e.message));
      // Waiting with time to spare: the run starts as soon as the holder dies.
      let claimed = false;
      const said: string[] = [];
      let saidWaiting!: () => void;
      const toldWaiting = new Promise<void>((r) => (saidWaiting = r));
      const waiting = engine.run({
        connector: connector(jira.url), kind: 'user', userRef: 'cora.crash@contoso.com', trigger: 'cli', claimWaitMs: 120_000,
        onClaimed: () => (claimed = true),
        onWaiting: (m) => {
          said.push(m);
          saidWaiting();
        },
      });
      await toldWaiting;
      assert.equal(claimed, false, 'still waiting while the holder lives');
      assert.match(said[0]!, new RegExp(`already running \\(run ${runId}, .*; waiting up to 120 s for it to end$`));
      await kill(child);
      const done = await waiting;
      assert.equal(done.run.status, 'succeeded', String(done.run.error));
      assert.equal(done.user?.found, true);
      assert.equal((await t.store.runs.get(runId))?.status, 'failed');
      assert.equal(said.length, 1, 'the wait is announced once');
    });

    test('a run of another machine keeps the heartbeat timeout; a live process here keeps its run even when silent', async () => {
      const start = (id: string) => t.store.runs.create({ id, connectorId: 'owners', kind: 'full', dryRun: false, reconcile: false, trigger: 'cli', userRef: null, startedAt: new Date().toISOString() });
      const setRun = (id: string, set: Record<string, unknown>) => t.store.db.updateTable('runs').set(set).where('id', '=', id).execute();
      await start('remote');
      await setRun('remote', { owner_host: 'idsync-2', owner_pid: 4242, owner_token: 'other', owner_pid_space: 'linux:another-machine:pid:[1]' });
      await assert.rejects(start('r2'), (e: Error) => /already running \(run remote, .* by pid 4242 on host idsync-2\)/.test(e.message));
      assert.equal((await t.store.runs.get('remote'))?.status, 'running', 'a fresh heartbeat of another machine is trusted');
      await setRun('remote', { heartbeat_at: new Date(Date.now() - 3 * 60_000).toISOString() });
      await start('r3');
      assert.match((await t.store.runs.get('remote'))?.error ?? '', /^interrupted: the idsync process running it stopped \(pid 4242 on host idsync-2, no heartbeat since /);
      await t.store.runs.update('r3', { status: 'succeeded', finishedAt: new Date().toISOString() });

      // Another live process on this machine, silent for longer than the timeout: blocked, not dead.
      const sleeper = spawn('sleep', ['60']);
      try {
        await once(sleeper, 'spawn');
        await start('local');
        await setRun('local', { owner_pid: sleeper.pid, owner_token: 'sleeper', owner_start_ticks: null, heartbeat_at: new Date(Date.now() - 10 * 60_000).toISOString() });
        await assert.rejects(start('r4'), (e: Error) => new RegExp(`run local, .* by pid ${sleeper.pid} on host .*, alive but silent since`).test(e.message));
        assert.equal((await t.store.runs.get('local'))?.status, 'running');
        await kill(sleeper);
        await start('r5');
        assert.match((await t.store.runs.get('local'))?.error ?? '', /is gone$/);
      } finally {
        sleeper.kill('SIGKILL');
      }
    });
  });
}
