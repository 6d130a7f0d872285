// SIGKILL at fixed points of an initial and of an update run (counted in write requests the
// Jira DC emulator applied, the kill landing after the write and before its answer), a source
// change in between (values go back to what the stale snapshot says, users move groups), then
// two complete runs: Jira must then hold exactly what the mapping says for every user and
// field, groups included, and the journal must name every account idsync created, once.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { storeKinds, type TestStore } from '../helpers/stores.ts';
import { SyncEngine } from '../../src/engine/engine.ts';
import type { Org } from '../../emulators/org/types.ts';
import { assertJiraMatchesDirectory, e2eConnector, expectedUsername, startEmulators, type Emulators } from './harness.ts';

const CHILD = fileURLToPath(new URL('../helpers/sync-child.ts', import.meta.url));
const USERS = 200;

/**
 * The connector under test. The source changes between runs move many users between groups at
 * once, which the read guard would (rightly) hold back as a suspicious bulk removal; this test is
 * about crash consistency, so its connector allows every change.
 */
const connectorOf = (em: Emulators) => ({ ...e2eConnector(em), safety: { maxUsers: USERS, maxPercent: 100 } });

/** Runs a full sync in a child process and SIGKILLs it once Jira has applied `killAfter` writes. */
async function killedSync(em: Emulators, t: TestStore, killAfter: number): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify({ store: t.options, connector: connectorOf(em), ca: em.graph.ca })], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  em.jira.onWrite((n) => {
    if (n >= killAfter) child.kill('SIGKILL');
  });
  const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => child.on('exit', (c, s) => resolve([c, s])));
  em.jira.onWrite(undefined);
  assert.equal(signal, 'SIGKILL', `the sync was to be killed after ${killAfter} writes; it ended by itself (${code}): ${output}`);
  // No clean-up here: the next run finds the killed run's process gone and fails that run at once.
}

/** Moves every `step`-th user (from `offset`) from its department group into the next one. */
function moveGroups(org: Org, step: number, offset: number): void {
  const depts = org.groups.filter((g) => g.displayName.startsWith('dept-'));
  org.users.forEach((u, i) => {
    if (i % step !== offset) return;
    const from = depts.findIndex((g) => g.members.includes(u.id));
    if (from < 0) return;
    depts[from]!.members = depts[from]!.members.filter((m) => m !== u.id);
    depts[(from + 1) % depts.length]!.members.push(u.id);
  });
}

/** Every Jira account idsync made is journaled as created exactly once, across all runs. */
async function assertEveryCreatedAccountJournaled(em: Emulators, t: TestStore, org: Org): Promise<void> {
  const journaled = new Map<string, number>();
  for (const run of await t.store.runs.list({ connectorId: 'entra-e2e', limit: 100 })) {
    const { items } = await t.store.runs.items(run.id, { operation: ['created', 'failed'], targetId: 'jira', limit: 100_000 });
    for (const it of items) {
      if (it.operation === 'failed' && it.details?.accountCreated !== true) continue;
      journaled.set(it.sourceId!, (journaled.get(it.sourceId!) ?? 0) + 1);
    }
  }
  for (const u of org.users) {
    assert.ok(em.jira.inspect(expectedUsername(u)), `${expectedUsername(u)} exists in Jira`);
    assert.equal(journaled.get(u.id), 1, `${expectedUsername(u)}: journaled as created once (got ${journaled.get(u.id) ?? 0})`);
  }
  assert.equal(journaled.size, org.users.length, 'nobody else journaled as created');
}

for (const [kind, openStore] of storeKinds) {
  describe(`a crash never leaves data later runs believe (${kind} store)`, () => {
    let em: Emulators;
    let t: TestStore;

    before(async () => {
      em = await startEmulators({ users: USERS });
      t = await openStore();
    });
    after(async () => {
      await t?.dispose();
      await em?.close();
    });

    test('SIGKILL in an initial and an update run, a source change, two reruns: Jira equals the mapping and every created account is journaled', async () => {
      const org = structuredClone(em.graph.directory.org);
      const engine = new SyncEngine(t.store, { ca: em.graph.ca, fastRetries: true });
      const rerun = async () => {
        const r = await engine.run({ connector: connectorOf(em), kind: 'full', trigger: 'cli' });
        assert.equal(r.run.status, 'succeeded', r.run.error ?? JSON.stringify(r.run.counts));
      };

      // Initial run killed twice; users move groups in between (some left a group the killed run added).
      await killedSync(em, t, 30);
      moveGroups(org, 4, 0);
      em.graph.directory.replace(structuredClone(org));
      await killedSync(em, t, 350);
      moveGroups(org, 5, 1);
      em.graph.directory.replace(structuredClone(org));
      await rerun();
      await rerun();
      assertJiraMatchesDirectory(em.jira, org);
      await assertEveryCreatedAccountJournaled(em, t, org);

      // Update run: values change, the run is killed, the values go back to what the links'
      // stale snapshots say; users move groups meanwhile.
      const original = new Map(org.users.map((u) => [u.id, { department: u.department, jobTitle: u.jobTitle }]));
      for (const u of org.users) {
        u.department = `${u.department ?? 'none'} (reorganised)`;
        u.jobTitle = `${u.jobTitle ?? 'none'} II`;
      }
      moveGroups(org, 3, 2);
      em.graph.directory.replace(structuredClone(org));
      await killedSync(em, t, 8);
      await killedSync(em, t, 150);
      for (const u of org.users) Object.assign(u, original.get(u.id));
      moveGroups(org, 3, 2);
      em.graph.directory.replace(structuredClone(org));
      await rerun();
      await rerun();
      assertJiraMatchesDirectory(em.jira, org);
      await assertEveryCreatedAccountJournaled(em, t, org);
    });
  });
}
