// Two buses relaying through one PostgreSQL store, as two instances would: each sees the other's
// runs (progress throttled), never its own twice; the metrics-style local listener sees only its
// own; a large error is cut to fit NOTIFY; a cut LISTEN connection is reopened (and logged), and
// an end missed meanwhile is taken from the runs table; an instance that starts late or was cut
// off converges on the runs table (runs begun before, progress and runs begun and ended meanwhile).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { openPostgresStore } from '../../test/helpers/stores.ts';
import { ProgressBus, type RunEvent } from './progress-bus.ts';
import { RunEventRelay, MAX_PAYLOAD_BYTES, encode, decode } from './run-event-relay.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class Log {
  lines: string[] = [];
  info = (_o: unknown, m?: string) => void this.lines.push(`info ${m}`);
  warn = (_o: unknown, m?: string) => void this.lines.push(`warn ${m}`);
  error = (_o: unknown, m?: string) => void this.lines.push(`error ${m}`);
}

const started = (runId: string): RunEvent => ({ type: 'run-started', connectorId: 'c', runId, kind: 'full', dryRun: false, trigger: 'api', startedAt: new Date().toISOString(), progress: { phase: 'connecting', read: 0, planned: 0, written: 0, failed: 0 } });
const progress = (runId: string, read: number): RunEvent => ({ type: 'run-progress', connectorId: 'c', runId, progress: { phase: 'reading', read, planned: 0, written: 0, failed: 0 } });
const finished = (runId: string, error?: string): RunEvent => ({ type: 'run-finished', connectorId: 'c', runId, kind: 'full', dryRun: false, status: error ? 'failed' : 'succeeded', ...(error ? { error } : {}), finishedAt: new Date().toISOString(), counts: { read: 7 } as never });

async function until<T>(what: string, probe: () => T | undefined, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    assert.ok(Date.now() < end, `timed out waiting for ${what}`);
    await sleep(20);
  }
}

test('two instances on one PostgreSQL store see each other\'s runs, each event once', { timeout: 60_000 }, async () => {
  const ts = await openPostgresStore();
  const logA = new Log();
  const logB = new Log();
  const busA = new ProgressBus(logA);
  const busB = new ProgressBus(logB);
  const relayA = await RunEventRelay.start(ts.store, busA, logA);
  const relayB = await RunEventRelay.start(ts.store, busB, logB, { reconcileEveryMs: 3_600_000 });
  try {
    const onA: RunEvent[] = [];
    const onB: RunEvent[] = [];
    const localOnB: RunEvent[] = [];
    busA.subscribe((e) => onA.push(e));
    busB.subscribe((e) => onB.push(e));
    busB.subscribe((e) => localOnB.push(e), { localOnly: true });

    busA.publish(started('r1'));
    // 40 progress reports over about 1.2 s: B gets a few per second, not 40.
    const began = Date.now();
    for (let i = 1; i <= 40; i++) {
      busA.publish(progress('r1', i));
      await sleep(30);
    }
    const took = Date.now() - began; // longer on a loaded machine: more progress may go out, never more than one per 250 ms
    await sleep(400); // the last throttled progress goes out
    busA.publish(finished('r1'));
    await until('r1 to end on B', () => onB.find((e) => e.type === 'run-finished'));

    assert.equal(onA.length, 42, 'A\'s own stream has each of its events exactly once (none echoed back)');
    assert.deepEqual(onB.map((e) => e.type).filter((t, i, a) => t !== a[i - 1]), ['run-started', 'run-progress', 'run-finished'], 'B sees start, progress, end in order');
    const reads = onB.flatMap((e) => (e.type === 'run-progress' ? [e.progress.read] : []));
    assert.ok(reads.length >= 3 && reads.length <= Math.ceil(took / 250) + 2, `progress throttled to at most 4 a second: ${reads.length} relayed of 40 in ${took} ms`);
    assert.deepEqual(reads, [...reads].sort((x, y) => x - y), 'progress arrives in order');
    assert.equal(reads.at(-1), 40, 'the latest progress is the one sent after a pause');
    assert.equal(localOnB.length, 0, 'a local-only listener (the metrics) does not count the other instance\'s runs');
    assert.equal(busB.snapshot('c')[0]?.last?.runId, 'r1', 'B\'s snapshot knows the remote run\'s end');
    assert.equal(busB.snapshot('c')[0]?.active, undefined, 'and no longer shows it in progress');

    // A run's error can be long: it is cut, and the message fits NOTIFY.
    busB.publish(started('r2'));
    busB.publish(finished('r2', 'x'.repeat(20_000)));
    const end = await until('r2 to end on A', () => onA.find((e) => e.type === 'run-finished' && e.runId === 'r2'));
    assert.ok(end.type === 'run-finished' && end.error && end.error.length < 1100 && end.error.startsWith('xxx'), 'the error arrives, cut short');
    assert.equal(onB.filter((e) => e.runId === 'r2').length, 2, 'B shows its own r2 events once each');
    assert.ok(!logA.lines.concat(logB.lines).some((l) => l.startsWith('warn') || l.startsWith('error')), `nothing went wrong: ${logA.lines.concat(logB.lines).join('; ')}`);
  } finally {
    await relayA.close();
    await relayB.close();
    await ts.dispose();
  }
});

test('a lost LISTEN connection is reopened and logged; an end missed meanwhile comes from the runs table', { timeout: 60_000 }, async () => {
  const ts = await openPostgresStore();
  const logA = new Log();
  const logB = new Log();
  const busA = new ProgressBus(logA);
  const busB = new ProgressBus(logB);
  const relayA = await RunEventRelay.start(ts.store, busA, logA);
  const relayB = await RunEventRelay.start(ts.store, busB, logB, { reconcileEveryMs: 3_600_000 });
  try {
    const onB: RunEvent[] = [];
    busB.subscribe((e) => onB.push(e));
    const run = await ts.store.runs.create({ id: 'r-cut', connectorId: 'c', kind: 'full', dryRun: false, reconcile: false, trigger: 'api', userRef: null, startedAt: new Date().toISOString() });
    busA.publish({ ...started(run.id) });
    await until('the start on B', () => onB.find((e) => e.type === 'run-started'));

    const pid = relayB.listenerPid;
    assert.ok(pid, 'B listens on a connection of its own');
    await sql`SELECT pg_terminate_backend(${pid})`.execute(ts.store.db);
    await until('B to notice the lost connection', () => logB.lines.find((l) => l.includes('LISTEN connection to PostgreSQL was lost')));
    // While B is not listening the run ends: B misses the event.
    await ts.store.runs.update(run.id, { status: 'succeeded', finishedAt: new Date().toISOString(), counts: { ...run.counts, read: 3 } });
    busA.publish(finished(run.id));

    await until('B to listen again', () => logB.lines.find((l) => l.includes('listening to PostgreSQL again')));
    assert.notEqual(relayB.listenerPid, pid, 'on a new connection');
    const end = await until('the missed end on B', () => onB.find((e) => e.type === 'run-finished'));
    assert.ok(end.type === 'run-finished' && end.status === 'succeeded' && end.counts?.read === 3, `the end is the run record's: ${JSON.stringify(end)}`);
    assert.equal(busB.snapshot('c')[0]?.active, undefined, 'B no longer shows the run in progress');

    busA.publish(started('r-after'));
    await until('events after the reconnect', () => onB.find((e) => e.runId === 'r-after'));
  } finally {
    await relayA.close();
    await relayB.close();
    await ts.dispose();
  }
});

test('an instance that starts late, or whose LISTEN connection was cut, converges on the runs table: runs begun before, progress and runs begun and ended meanwhile', { timeout: 60_000 }, async () => {
  const ts = await openPostgresStore();
  const logA = new Log();
  const logB = new Log();
  const busA = new ProgressBus(logA);
  const busB = new ProgressBus(logB);
  const relayA = await RunEventRelay.start(ts.store, busA, logA);
  let relayB: RunEventRelay | undefined;
  const create = (id: string, connectorId: string) => ts.store.runs.create({ id, connectorId, kind: 'full', dryRun: false, reconcile: false, trigger: 'api', userRef: null, startedAt: new Date().toISOString() });
  try {
    // A's run, begun before B starts: B's bus learns it from the runs table when it starts listening.
    const early = await create('r-early', 'c');
    busA.publish(started(early.id));
    await ts.store.runs.heartbeat(early.id, { ...early.counts, read: 5 });
    relayB = await RunEventRelay.start(ts.store, busB, logB, { reconcileEveryMs: 3_600_000 });
    assert.equal(busB.snapshot('c')[0]?.active?.runId, 'r-early', 'B knows the run begun before it started');
    assert.equal(busB.snapshot('c')[0]?.active?.progress.read, 5, 'with the counts of its last heartbeat');
    const onB: RunEvent[] = [];
    busB.subscribe((e) => onB.push(e));

    const pid = relayB.listenerPid!;
    await sql`SELECT pg_terminate_backend(${pid})`.execute(ts.store.db);
    await until('B to notice the lost connection', () => logB.lines.find((l) => l.includes('LISTEN connection to PostgreSQL was lost')));
    // While B is deaf: A's run progresses (relayed live, and recorded by its heartbeat), a run of
    // connector d begins and ends, a run of connector e begins.
    busA.publish(progress(early.id, 50));
    await ts.store.runs.heartbeat(early.id, { ...early.counts, read: 50 });
    const brief = await create('r-brief', 'd');
    busA.publish({ ...started(brief.id), connectorId: 'd' });
    await ts.store.runs.update(brief.id, { status: 'succeeded', finishedAt: new Date().toISOString(), counts: { ...brief.counts, read: 9 } });
    busA.publish({ ...finished(brief.id), connectorId: 'd' });
    const later = await create('r-later', 'e');
    busA.publish({ ...started(later.id), connectorId: 'e' });
    assert.equal(onB.length, 0, 'B heard none of it');

    await until('B to listen again', () => logB.lines.find((l) => l.includes('listening to PostgreSQL again')));
    await until('B to resynchronise', () => (busB.snapshot('e')[0]?.active ? true : undefined));
    assert.equal(busB.snapshot('c')[0]?.active?.progress.read, 50, 'the progress made meanwhile reached B');
    assert.ok(onB.some((e) => e.type === 'run-progress' && e.runId === 'r-early' && e.progress.read === 50), 'as a run-progress its streams send');
    const d = busB.snapshot('d')[0];
    assert.equal(d?.last?.runId, 'r-brief', 'the run begun and ended meanwhile is known by its end');
    assert.equal(d?.last?.status, 'succeeded');
    assert.equal(d?.last?.counts?.read, 9, 'with its record\'s counts');
    assert.equal(d?.active, undefined, 'and is not shown in progress');
    assert.equal(busB.snapshot('e')[0]?.active?.runId, 'r-later', 'the run begun meanwhile is in progress on B');
    assert.deepEqual(onB.map((e) => `${e.type} ${e.runId}`).sort(), ['run-finished r-brief', 'run-progress r-early', 'run-started r-later'], 'one event each, nothing twice');

    // And live again: A's next progress comes by NOTIFY.
    busA.publish(progress(early.id, 60));
    await until('live progress after the reconnect', () => onB.find((e) => e.type === 'run-progress' && e.progress.read === 60));
  } finally {
    await relayA.close();
    await relayB?.close();
    await ts.dispose();
  }
});

test('messages carry only a run event\'s fields and are checked on the way in', () => {
  const e = { ...started('r'), connector: { secrets: { token: 'hunter2' } } } as unknown as RunEvent;
  const text = encode('me', e)!;
  assert.ok(!text.includes('hunter2'), 'a field that is not a run event\'s does not travel');
  assert.ok(Buffer.byteLength(text) <= MAX_PAYLOAD_BYTES, 'fits NOTIFY');
  assert.equal(decode(text)?.event.runId, 'r', 'decodes');
  assert.equal(decode('{"v":1,"from":"x","event":{"type":"run-started","runId":"r"}}'), undefined, 'an event missing its fields is refused');
  assert.equal(decode('not json'), undefined, 'garbage is refused');
  const huge = encode('me', { ...started('r'), userRef: 'u'.repeat(20_000) } as RunEvent)!;
  assert.ok(huge && Buffer.byteLength(huge) <= MAX_PAYLOAD_BYTES && !huge.includes('uuuu'), 'a user reference too long to fit is left out, the event still goes');
});
