// A crash between apply and checkpoint: an incremental run in a child process is SIGKILLed
// after some of the changes it read were written to Jira (the kill lands after a write and
// before its answer), so the checkpoint was never stored. The next run reads the same changes
// again and converges: every change reaches Jira, none is written twice, nothing stays pending.
// On SQLite and PostgreSQL.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { memoryDataset, person, ACCOUNT_MAPPING } from './helpers/memory-source.ts';
import { storeKinds, type TestStore } from './helpers/stores.ts';
import { startJiraDcEmulator, type JiraDcEmulator } from '../emulators/jira-dc/index.ts';
import { SyncEngine } from '../src/engine/engine.ts';
import type { ConnectorConfig } from '../src/config/schema.ts';

process.env.TEST_JIRA_PAT = 'admin-pat';
const CHILD = fileURLToPath(new URL('./helpers/incremental-child.ts', import.meta.url));
const USERS = 8;
const CHANGED = 6;
const KILL_AFTER = 3;

for (const [kind, open] of storeKinds) {
  describe(`an incremental run killed between apply and checkpoint on ${kind}`, () => {
    let jira: JiraDcEmulator;
    let t: TestStore;
    const dataset = `crash-inc-${kind}`;
    const connector = (): ConnectorConfig => ({
      id: 'crash-inc',
      source: { type: 'memory', dataset, requiredGroups: [] },
      targets: [{
        id: 'jira', type: 'jira-dc', url: jira.url, auth: { type: 'pat', token: { env: 'TEST_JIRA_PAT' } },
        mapping: [
          ...ACCOUNT_MAPPING,
        ],
        // One write at a time: the kill lands after exactly KILL_AFTER writes.
        createUsers: true, createMissingGroups: false, concurrency: 1,
      }] as ConnectorConfig['targets'],
    });

    before(async () => {
      jira = await startJiraDcEmulator();
      t = await open();
    });
    after(async () => {
      await t.dispose();
      await jira.close();
    });

    test('the rerun applies every change once and stores the checkpoint', async () => {
      const users = Array.from({ length: USERS }, (_, i) => person(`00000000-0000-0000-0000-0000000000${String(i + 10)}`, `Kim Number${String.fromCharCode(97 + i)}`));
      const ds = memoryDataset(dataset, users, 2);
      const engine = new SyncEngine(t.store, { fastRetries: true });
      const seed = await engine.run({ connector: connector(), kind: 'incremental', trigger: 'cli' });
      assert.equal(seed.run.status, 'succeeded', seed.run.error ?? '');
      const checkpoint = (await t.store.shadow.state('crash-inc')).checkpoint;
      for (const u of users.slice(0, CHANGED)) ds.edit(u.id, { displayName: `${u.attrs.displayName} Renamed` });

      // The child reads the changes, ingests them, writes some, and dies.
      jira.resetStats();
      const child = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify({ store: t.options, connector: connector(), dataset: { name: dataset, users: ds.users, log: ds.log, pageSize: 2 } })], { stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (d) => (output += d));
      child.stderr.on('data', (d) => (output += d));
      jira.onWrite((n) => {
        if (n >= KILL_AFTER) child.kill('SIGKILL');
      });
      const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => child.on('exit', (c, s) => resolve([c, s])));
      jira.onWrite(undefined);
      assert.equal(signal, 'SIGKILL', `the run was to be killed after ${KILL_AFTER} writes; it ended by itself (${code}): ${output}`);
      assert.equal(jira.stats.writes, KILL_AFTER);
      assert.equal((await t.store.shadow.state('crash-inc')).checkpoint, checkpoint, 'the checkpoint is not stored before everything it covers is applied');
      assert.ok((await t.store.shadow.count('crash-inc', { pending: true })) > 0, 'what the dead run did not finish is pending in the shadow');

      // The rerun reads the same changes from the old checkpoint and writes only what is not there yet.
      jira.resetStats();
      const rerun = await engine.run({ connector: connector(), kind: 'incremental', trigger: 'cli' });
      assert.equal(rerun.run.status, 'succeeded', rerun.run.error ?? '');
      assert.equal(jira.stats.writes, CHANGED - KILL_AFTER, 'nothing written twice');
      for (const u of users.slice(0, CHANGED)) {
        const login = String(u.attrs.userPrincipalName).split('@')[0]!;
        assert.equal(jira.inspect(login)!.displayName, u.attrs.displayName, `${login}: nothing lost`);
      }
      assert.equal(await t.store.shadow.count('crash-inc', { pending: true }), 0);
      assert.equal((await t.store.shadow.state('crash-inc')).checkpoint, `log:${ds.log.length}`);
      const again = await engine.run({ connector: connector(), kind: 'incremental', trigger: 'cli' });
      assert.equal(again.run.counts.usersWritten, 0);
    });
  });
}
