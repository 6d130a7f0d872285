// An idsync process starting up must not take another instance's live run for dead: it waits
// as long as every other process does (STALE_AFTER_MS without a heartbeat) before marking a run
// of another machine failed; a run whose process is gone from this machine is failed at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Store } from '../../src/store/index.ts';
import { STALE_AFTER_MS } from '../../src/store/runs.ts';
import { incrementalProblem, intervalSlot } from '../../src/server/schedule.ts';

test("start-up clean-up leaves another machine's run alone until it has been silent for the stale limit", async () => {
  const store = await Store.open({ databaseUrl: ':memory:' });
  try {
    const start = (id: string, connectorId: string) => store.runs.create({ id, connectorId, kind: 'full', dryRun: false, reconcile: false, trigger: 'schedule', userRef: null, startedAt: new Date().toISOString() });
    await start('remote-live', 'a');
    await start('remote-dead', 'b');
    const elsewhere = { owner_host: 'idsync-2', owner_pid: 4242, owner_token: 'other', owner_pid_space: 'linux:another-machine:pid:[1]' };
    // Two missed heartbeats (a busy database, a long GC pause): still alive for everyone.
    await store.db.updateTable('runs').set({ ...elsewhere, heartbeat_at: new Date(Date.now() - 40_000).toISOString() }).where('id', '=', 'remote-live').execute();
    await store.db.updateTable('runs').set({ ...elsewhere, heartbeat_at: new Date(Date.now() - STALE_AFTER_MS - 1000).toISOString() }).where('id', '=', 'remote-dead').execute();
    assert.equal(await store.runs.failInterrupted('idsync stopped while this run was in progress'), 1);
    assert.equal((await store.runs.get('remote-live'))?.status, 'running', 'a run silent for 40 s is not taken for dead at start-up');
    assert.equal((await store.runs.get('remote-dead'))?.status, 'failed');
  } finally {
    await store.close();
  }
});

test('incremental intervals: at least 10 s, in words; slots aligned so every process computes the same', () => {
  assert.equal(incrementalProblem('1m'), undefined);
  assert.equal(incrementalProblem(false), undefined);
  assert.match(incrementalProblem('5s') ?? '', /too often; use at least 10s/);
  assert.match(incrementalProblem('1d') ?? '', /not an interval; use a duration such as 30s/);
  const at = new Date('2026-12-01T12:00:47.300Z');
  assert.equal(intervalSlot(30_000, at).toISOString(), '2026-12-01T12:00:30.000Z');
  assert.equal(intervalSlot(60_000, at).toISOString(), '2026-12-01T12:00:00.000Z');
});
