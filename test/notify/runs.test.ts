// When a run's end is told: once per failed run, after the result (which it never changes);
// not for a simulation, a run refused before its claim, a run stopped on purpose or one that
// succeeded; partial runs only to channels that ask; the same failure again only after the quiet
// time; and notifyQuarantine's sample cut to ten.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { SyncRequest, SyncResult } from '../../src/engine/api.ts';
import type { RunRecord } from '../../src/store/runs.ts';
import { Notifier, notifyQuarantine, runAndNotify, type NotificationEvent, type QuarantineEvent } from '../../src/notify/index.ts';
import { notificationsSchema } from '../../src/notify/config.ts';
import { IdsyncError } from '../../src/core/errors.ts';
import { startWebhookReceiver, type LocalWebhook } from './servers.ts';

const connector = { id: 'c1', name: 'Connector one', source: { type: 'memory', requiredGroups: [] }, targets: [] } as unknown as SyncRequest['connector'];

function record(over: Partial<RunRecord>): RunRecord {
  return {
    id: 'run-1', connectorId: 'c1', kind: 'full', dryRun: false, reconcile: false, trigger: 'api', status: 'failed', userRef: null,
    startedAt: '2026-12-01T10:00:00.000Z', finishedAt: '2026-12-01T10:00:03.000Z', error: 'boom',
    counts: { read: 3, created: 0, updated: 0, unchanged: 2, failed: 1, skipped: 0, missing: 0, usersWritten: 0, writes: 0 },
    ...over,
  } as RunRecord;
}

/** A notifier that records what it is told (the wiring's policy, not the channels). */
function recorder(): { notifier: Notifier; told: NotificationEvent[] } {
  const told: NotificationEvent[] = [];
  const notifier = new Notifier(notificationsSchema.parse({ channels: [{ name: 'x', type: 'webhook', format: 'generic', url: { env: 'UNUSED' } }] }));
  notifier.notify = (e) => void told.push(e);
  return { notifier, told };
}

const engineEnding = (run: RunRecord) => async (req: SyncRequest): Promise<SyncResult> => {
  req.onClaimed?.(run);
  return { run } as SyncResult;
};

test('a failed run is told once, with what the run record says', async () => {
  const { notifier, told } = recorder();
  const run = record({});
  const result = await runAndNotify(notifier, { connector, kind: 'full', trigger: 'api' }, engineEnding(run));
  assert.equal(result.run, run, 'the result is the engine\'s');
  assert.deepEqual(told, [{ kind: 'run-failed', connectorId: 'c1', connectorName: 'Connector one', runId: 'run-1', runKind: 'full', status: 'failed', error: 'boom', startedAt: run.startedAt, finishedAt: run.finishedAt }]);
});

test('not told: a success, a simulation, a refusal before the claim, a run stopped on purpose', async () => {
  const { notifier, told } = recorder();
  await runAndNotify(notifier, { connector, kind: 'full', trigger: 'api' }, engineEnding(record({ status: 'succeeded', error: null })));
  await runAndNotify(notifier, { connector, kind: 'full', trigger: 'api', dryRun: true }, engineEnding(record({ dryRun: true })));
  await assert.rejects(runAndNotify(notifier, { connector, kind: 'full', trigger: 'api' }, async () => {
    throw new IdsyncError('CONFLICT', 'a sync of connector c1 is already running');
  }), /already running/);
  const stop = new AbortController();
  stop.abort();
  await runAndNotify(notifier, { connector, kind: 'full', trigger: 'schedule', signal: stop.signal }, engineEnding(record({ error: 'cancelled' })));
  assert.deepEqual(told, []);
});

test('an engine that throws after the claim: told as failed, and the caller still gets the error', async () => {
  const { notifier, told } = recorder();
  await assert.rejects(runAndNotify(notifier, { connector, kind: 'incremental', trigger: 'schedule' }, async (req) => {
    req.onClaimed?.(record({ status: 'running', finishedAt: null, error: null, kind: 'incremental' }));
    throw new Error('the store went away');
  }), /the store went away/);
  assert.equal(told.length, 1);
  assert.equal(told[0]!.kind === 'run-failed' && told[0]!.error, 'the store went away');
  assert.equal(told[0]!.kind === 'run-failed' && told[0]!.runKind, 'incremental');
});

test('a partial run becomes a run-partial event with the failed users counted', async () => {
  const { notifier, told } = recorder();
  await runAndNotify(notifier, { connector, kind: 'full', trigger: 'api' }, engineEnding(record({ status: 'partial', error: null })));
  assert.equal(told.length, 1);
  const e = told[0]!;
  assert.ok(e.kind === 'run-failed', 'a run-failed event');
  assert.equal(e.status, 'partial');
  assert.equal(e.failedUsers, 1);
  assert.match(e.error, /1 user could not be synced/);
});

describe('channels: subscriptions, connectors, quiet time', () => {
  let hook: LocalWebhook;
  before(async () => {
    hook = await startWebhookReceiver();
    process.env.IDSYNC_TEST_RUNS_HOOK = `${hook.url}/a`;
  });
  after(async () => {
    delete process.env.IDSYNC_TEST_RUNS_HOOK;
    await hook.close();
  });

  test('partial runs only where asked, connectors filtered, the same failure again only after the quiet time', async () => {
    let now = Date.parse('2026-12-01T10:00:00Z');
    const url = { env: 'IDSYNC_TEST_RUNS_HOOK' };
    const notifier = new Notifier(
      notificationsSchema.parse({
        quietMinutes: 60,
        channels: [
          { name: 'default', type: 'webhook', format: 'generic', url },
          { name: 'partial', type: 'webhook', format: 'generic', url, events: ['run-partial'], connectors: ['c1'] },
        ],
      }),
      { now: () => now, log: { info: () => undefined, warn: () => undefined } },
    );
    const failed = { kind: 'run-failed', connectorId: 'c1', runId: 'r1', runKind: 'full', status: 'failed', error: 'boom', startedAt: 'a', finishedAt: 'b' } as const;
    const names = (os: Array<{ channel: string; suppressed?: boolean }>) => os.map((o) => `${o.channel}${o.suppressed ? ' (quiet)' : ''}`);
    assert.deepEqual(names(await notifier.send(failed)), ['default']);
    assert.deepEqual(names(await notifier.send({ ...failed, status: 'partial' })), ['partial']);
    assert.deepEqual(names(await notifier.send({ ...failed, connectorId: 'c2', status: 'partial' })), []);
    now += 10 * 60_000;
    assert.deepEqual(names(await notifier.send({ ...failed, runId: 'r2' })), ['default (quiet)'], 'the same failure ten minutes later');
    assert.deepEqual(names(await notifier.send({ ...failed, runId: 'r3', error: 'another error' })), ['default'], 'a new error is told at once');
    now += 61 * 60_000;
    assert.deepEqual(names(await notifier.send({ ...failed, runId: 'r4' })), ['default'], 'after the quiet time');
    assert.equal(hook.posts.length, 4);
    // A quarantine is always told.
    const q: QuarantineEvent = { kind: 'quarantine', connectorId: 'c1', runId: 'r5', quarantineId: 'q1', reason: 'empty read', affected: 3, sample: ['a', 'b', 'c'] };
    assert.deepEqual(names(await notifier.send(q)), ['default']);
    assert.deepEqual(names(await notifier.send(q)), ['default']);
  });

  test('notifyQuarantine returns at once, never throws, and sends at most ten labels', async () => {
    hook.posts.length = 0;
    const notifier = new Notifier(notificationsSchema.parse({ channels: [{ name: 'h', type: 'webhook', format: 'generic', url: { env: 'IDSYNC_TEST_RUNS_HOOK' } }] }), { log: { info: () => undefined, warn: () => undefined } });
    const labels = Array.from({ length: 25 }, (_, i) => `u${i}`);
    assert.equal(notifyQuarantine(notifier, { connectorId: 'c1', runId: 'r', quarantineId: 'q', reason: 'the read returned nobody', affected: 25, sample: labels }), undefined);
    notifyQuarantine(undefined, { connectorId: 'c1', runId: 'r', quarantineId: 'q', reason: 'x', affected: 1, sample: [] });
    await notifier.drain();
    assert.equal(hook.posts.length, 1);
    assert.deepEqual(hook.posts[0]!.body.event.sample, labels.slice(0, 10));
    assert.equal(hook.posts[0]!.body.event.affected, 25);
  });
});
