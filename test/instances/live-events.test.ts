// Two `idsync serve` processes sharing PostgreSQL: a run performed by one shows up live (claimed,
// progress, ended) on the other's GET /api/v1/events, relayed through LISTEN/NOTIFY; the
// instance performing it shows each of its events once on its own stream.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../../src/store/index.ts';
import { freshPostgresDatabase } from '../helpers/stores.ts';
import { e2eConnector, startEmulators } from '../e2e/harness.ts';
import { addressOf, adminToken, serve, stop, until, type Instance } from './serve.ts';

const USERS = 120;

interface Received {
  type: string;
  data: { runId?: string; status?: string; progress?: { read: number } };
  /** The run's status in the store when the event arrived: 'running' shows it came live. */
  statusThen?: string;
}

/** Reads an event stream, recording each event with the run's status in the store at that moment. */
function watch(url: string, token: string, store: Store): { events: Received[]; close(): void; opened: Promise<void> } {
  const events: Received[] = [];
  const ac = new AbortController();
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  void (async () => {
    const res = await fetch(`${url}/api/v1/events`, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' }, signal: ac.signal });
    assert.equal(res.status, 200, 'the event stream opens');
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += value;
      let cut: number;
      while ((cut = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, cut);
        buf = buf.slice(cut + 2);
        const type = /^event: (.+)$/m.exec(block)?.[1];
        const data = /^data: (.+)$/m.exec(block)?.[1];
        if (!type || !data) continue;
        if (type === 'snapshot') open();
        const parsed = JSON.parse(data) as Received['data'];
        const e: Received = { type, data: parsed };
        events.push(e);
        if (parsed.runId) void store.runs.get(parsed.runId).then((r) => (e.statusThen = r?.status));
      }
    }
  })().catch((e: unknown) => {
    if (!ac.signal.aborted) throw e;
  });
  return { events, opened, close: () => ac.abort() };
}

test('a run performed by instance B shows up live on instance A\'s event stream', { timeout: 150_000 }, async () => {
  const em = await startEmulators({ users: USERS });
  // Slow Jira down so the run lasts a few seconds: long enough for progress to be relayed.
  em.jira.setFaults({ latencyMs: 30 });
  const database = await freshPostgresDatabase('idsync_live_events');
  const dataDir = mkdtempSync(join(tmpdir(), 'idsync-live-events-'));
  const store = await Store.open({ dataDir, databaseUrl: database.url });
  const instances: Instance[] = [];
  const streams: Array<ReturnType<typeof watch>> = [];
  try {
    await store.connectors.save({ ...e2eConnector(em, { id: 'contoso' }), safety: { maxUsers: USERS, maxPercent: 100 } });
    const secret = await adminToken(store);

    const env = { IDSYNC_DATABASE_URL: database.url, IDSYNC_EXTRA_CA: em.graph.ca! };
    for (let n = 0; n < 2; n++) instances.push(serve(dataDir, env));
    await Promise.all(instances.map((i) => i.announced));
    const urls = instances.map(addressOf);
    for (const u of urls) streams.push(watch(u, secret, store));
    await Promise.all(streams.map((s) => s.opened));

    // The trigger goes to B; whichever instance performs the run (B, or another taking its job),
    // the other one must show it live.
    const res = await fetch(`${urls[1]}/api/v1/connectors/contoso/sync`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'full' }) });
    assert.equal(res.status, 202, await res.clone().text());
    const running = await until('the run to be claimed', async () => (await store.db.selectFrom('runs').select(['id', 'owner_pid']).where('connector_id', '=', 'contoso').executeTakeFirst()) ?? undefined, instances);
    const owner = instances.findIndex((i) => i.child.pid === running.owner_pid);
    assert.ok(owner >= 0, 'the run belongs to one of the two instances');
    const other = 1 - owner;

    const finished = await until('the run to end on the other instance\'s stream', async () => streams[other]!.events.find((e) => e.type === 'run-finished' && e.data.runId === running.id), instances);
    await until('the run to end on its own instance\'s stream', async () => streams[owner]!.events.find((e) => e.type === 'run-finished' && e.data.runId === running.id), instances);
    await new Promise((r) => setTimeout(r, 500)); // late duplicates, if any, would arrive by now
    const record = await store.runs.get(running.id);
    assert.equal(record?.status, 'succeeded', record?.error ?? '');
    assert.equal(finished.data.status, 'succeeded', 'the relayed end carries the status');

    const remote = streams[other]!.events.filter((e) => e.data.runId === running.id);
    const started = remote.find((e) => e.type === 'run-started');
    assert.ok(started, `the other instance's stream shows the run claimed: ${remote.map((e) => e.type).join(', ')}`);
    assert.equal(started.statusThen, 'running', 'and shows it while the run is still going (live, not from the history)');
    const progress = remote.filter((e) => e.type === 'run-progress');
    assert.ok(progress.length >= 1, 'progress is relayed');
    assert.ok(progress.some((e) => e.statusThen === 'running' && (e.data.progress?.read ?? 0) > 0), 'progress of the running run arrives while it runs');
    assert.deepEqual(remote.map((e) => e.type).filter((t, i, a) => t !== a[i - 1]), ['run-started', 'run-progress', 'run-finished'], 'in order');

    for (const [i, s] of streams.entries()) {
      const mine = s.events.filter((e) => e.data.runId === running.id);
      assert.equal(mine.filter((e) => e.type === 'run-started').length, 1, `instance ${i} shows the start once`);
      assert.equal(mine.filter((e) => e.type === 'run-finished').length, 1, `instance ${i} shows the end once`);
    }
    // (Progress is not counted: the engine may itself report the same figures twice in a row;
    // an echo of the instance's own events would show in the start and end counted above.)
  } finally {
    for (const s of streams) s.close();
    await Promise.all(instances.map(stop));
    await store.close();
    await database.drop();
    rmSync(dataDir, { recursive: true, force: true });
    await em.close();
  }
});
