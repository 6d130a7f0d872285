// A target that is down must not cost hours: when failures concern the whole target
// (unreachable, credentials refused mid-run, a 5xx storm past the retries, a Retry-After longer
// than the run can wait) the engine stops writing to it at once, ends the run failed for that
// target with one reason, and keeps the other targets going (src/core/error-policy.ts).
import { describe, test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { memoryDataset, person } from './helpers/memory-source.ts';
import { openSqliteStore, type TestStore } from './helpers/stores.ts';
import { startJiraDcEmulator, type JiraDcEmulator } from '../emulators/jira-dc/index.ts';
import { SyncEngine } from '../src/engine/engine.ts';
import type { ConnectorConfig } from '../src/config/schema.ts';
import type { MappingRule } from '../src/core/types.ts';
import type { SourceUser } from '../src/core/types.ts';

process.env.TEST_JIRA_PAT = 'admin-pat';
const USERS = 60;
const CONCURRENCY = 4;

const rules: MappingRule[] = [
  { target: 'user.username', source: '$lower($stripDomain(userPrincipalName))', flow: 'always', whenEmpty: 'keep' },
  { target: 'user.displayName', source: 'displayName', flow: 'always', whenEmpty: 'keep' },
  { target: 'user.email', source: 'mail', flow: 'always', whenEmpty: 'keep' },
  { target: 'groups', source: 'groups', flow: 'always', whenEmpty: 'clear' },
  { target: 'property.department', source: 'department', flow: 'always', whenEmpty: 'clear' },
];

const target = (id: string, url: string) => ({
  id,
  type: 'jira-dc' as const,
  url,
  auth: { type: 'pat' as const, token: { env: 'TEST_JIRA_PAT' } },
  mapping: rules,
  createUsers: true,
  createMissingGroups: true,
  concurrency: CONCURRENCY,
});

// The 401 test moves everyone to a new group at once, which the read guard would hold back as a
// suspicious bulk removal; these tests are about a target that is down, so every change is allowed.
function connector(...targets: ConnectorConfig['targets']): ConnectorConfig {
  return { id: 'down', source: { type: 'memory', dataset: 'down', requiredGroups: [] }, targets, safety: { maxUsers: USERS, maxPercent: 100 } };
}

function staff(): SourceUser[] {
  return Array.from({ length: USERS }, (_, n) => person(`00000000-0000-0000-0000-${String(n).padStart(12, '0')}`, `User ${String.fromCharCode(97 + Math.floor(n / 26))}${String.fromCharCode(97 + (n % 26))}`, { department: 'Sales' }, ['old-team']));
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

describe('a target that is down', () => {
  let jira: JiraDcEmulator;
  let t: TestStore;
  let engine: SyncEngine;

  before(async () => {
    jira = await startJiraDcEmulator({ patTokens: { 'admin-pat': 'admin' }, groups: ['old-team', 'new-team'] });
  });
  after(async () => {
    await t?.dispose();
    await jira.close();
  });
  beforeEach(async () => {
    await fetch(`${jira.url}/_emulator/reset`, { method: 'POST' });
    jira.store.ensureGroup('old-team');
    jira.store.ensureGroup('new-team');
    await t?.dispose();
    t = await openSqliteStore();
    engine = new SyncEngine(t.store, { fastRetries: true });
  });

  const itemsOf = async (runId: string, targetId: string) => (await t.store.runs.items(runId, { targetId, limit: 10_000 })).items;

  test('unreachable: the run stops writing to it after the users in flight, fails with one reason, and says how many were not synced', async () => {
    memoryDataset('down', staff(), 20);
    const r = await engine.run({ connector: connector(target('jira', `http://127.0.0.1:${await closedPort()}`)), kind: 'full', trigger: 'cli' });
    assert.equal(r.run.status, 'failed');
    assert.match(r.run.error ?? '', /stopped writing to target jira: Jira could not be reached/);
    assert.match(r.run.error ?? '', /users were not synced to it/);
    const items = await itemsOf(r.run.id, 'jira');
    const failed = items.filter((i) => i.operation === 'failed');
    assert.ok(failed.length >= 1 && failed.length <= CONCURRENCY, `only the users in flight fail on their own (${failed.length})`);
    assert.ok(items.filter((i) => i.operation === 'skipped').every((i) => /^not synced: Jira could not be reached/.test(i.error ?? '')), 'the others are not tried, with the reason');
    assert.ok(items.length < USERS, 'reading stops once every target is given up');
  });

  test('one target down, the other completes', async () => {
    memoryDataset('down', staff(), 20);
    const r = await engine.run({ connector: connector(target('jira', jira.url), target('jira-eu', `http://127.0.0.1:${await closedPort()}`)), kind: 'full', trigger: 'cli' });
    assert.equal(r.run.status, 'failed');
    assert.match(r.run.error ?? '', /stopped writing to target jira-eu/);
    assert.doesNotMatch(r.run.error ?? '', /target jira:/);
    assert.equal(r.run.counts.targets?.jira?.created, USERS, 'every user created in the target that is up');
    assert.ok(jira.inspect('user.aa'), 'written to Jira');
  });

  test('a 401 in the middle of a run stops writing at once; no user ends in both its old and new group; the next run completes them', async () => {
    const users = staff();
    memoryDataset('down', users, 20);
    const first = await engine.run({ connector: connector(target('jira', jira.url)), kind: 'full', trigger: 'cli' });
    assert.equal(first.run.status, 'succeeded', first.run.error ?? '');
    for (const u of users) u.groups = ['new-team'];
    jira.onWrite((n) => {
      if (n === 25) jira.setFaults({ script: [{ status: 401, times: 1_000_000 }] });
    });
    const cut = await engine.run({ connector: connector(target('jira', jira.url)), kind: 'full', trigger: 'cli' });
    jira.onWrite(undefined);
    assert.equal(cut.run.status, 'failed');
    assert.match(cut.run.error ?? '', /stopped writing to target jira: Jira answered 401/);
    const failed = (await itemsOf(cut.run.id, 'jira')).filter((i) => i.operation === 'failed');
    assert.ok(failed.length <= CONCURRENCY, `only the users in flight fail (${failed.length})`);
    const both = [...jira.store.allUsers()].filter((u) => jira.store.groupsOf(u.key).includes('old-team') && jira.store.groupsOf(u.key).includes('new-team'));
    assert.deepEqual(both.map((u) => u.name), [], 'nobody in both the old and the new group');

    jira.setFaults({ script: [] });
    const again = await engine.run({ connector: connector(target('jira', jira.url)), kind: 'full', trigger: 'cli' });
    assert.equal(again.run.status, 'succeeded', again.run.error ?? '');
    for (const u of users) {
      const groups = jira.inspect(String(u.attrs.userPrincipalName).split('@')[0]!.toLowerCase())!.groups.filter((g) => g !== 'jira-software-users');
      assert.deepEqual(groups, ['new-team'], `${u.attrs.displayName}: in the new group only`);
    }
  });

  test('a 5xx storm past the retries stops the target after a few users in a row', async () => {
    memoryDataset('down', staff(), 20);
    jira.setFaults({ errorRate: 1, errorStatus: 500 });
    const r = await engine.run({ connector: connector(target('jira', jira.url)), kind: 'full', trigger: 'cli' });
    jira.setFaults({ errorRate: 0 });
    assert.equal(r.run.status, 'failed');
    assert.match(r.run.error ?? '', /stopped writing to target jira: 5 users in a row failed after their retries: Jira answered 500/);
    const failed = (await itemsOf(r.run.id, 'jira')).filter((i) => i.operation === 'failed');
    assert.ok(failed.length >= 5 && failed.length < 5 + CONCURRENCY, `a few users fail on their own, not all ${USERS} (${failed.length})`);
  });

  test('a Retry-After longer than the run can wait stops the target at once', async () => {
    memoryDataset('down', staff(), 20);
    jira.setFaults({ script: [{ status: 429, headers: { 'retry-after': '7200' }, times: 1_000_000 }] });
    const r = await engine.run({ connector: connector(target('jira', jira.url)), kind: 'full', trigger: 'cli' });
    jira.setFaults({ script: [] });
    assert.equal(r.run.status, 'failed');
    assert.match(r.run.error ?? '', /stopped writing to target jira: Jira answered 429/);
    const failed = (await itemsOf(r.run.id, 'jira')).filter((i) => i.operation === 'failed');
    assert.ok(failed.length <= CONCURRENCY, `only the users in flight fail (${failed.length})`);
  });
});
