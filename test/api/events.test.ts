// Server-sent events over real HTTP (fetch): the snapshot, a run's start, progress and end as
// the engine reports them, the same API auth as other routes, several clients at once, and a
// stream that ends when the server closes instead of holding close() up.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { newConnectorInput } from './fakes.ts';
import { harness, type Harness } from './helpers.ts';

interface Sse {
  event: string;
  data: any;
}

/** Reads a text/event-stream: events as they come, comments counted apart. */
class EventReader {
  private buffer = '';
  private readonly decoder = new TextDecoder();
  comments = 0;
  constructor(private readonly reader: ReadableStreamDefaultReader<Uint8Array>) {}

  /** The next event, or undefined when the stream has ended. */
  async next(comments = false): Promise<Sse | undefined> {
    for (;;) {
      const end = this.buffer.indexOf('\n\n');
      if (end >= 0) {
        const block = this.buffer.slice(0, end);
        this.buffer = this.buffer.slice(end + 2);
        const lines = block.split('\n');
        if (lines.every((l) => l.startsWith(':'))) {
          this.comments++;
          if (comments) return { event: 'comment', data: lines.join('\n') };
          continue;
        }
        const event = lines.find((l) => l.startsWith('event: '))?.slice(7) ?? 'message';
        const data = lines.filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
        return { event, data: JSON.parse(data) };
      }
      const { value, done } = await this.reader.read();
      if (done) return undefined;
      this.buffer += this.decoder.decode(value, { stream: true });
    }
  }

  /** Skips events until one of `type` arrives. */
  async until(type: string): Promise<Sse> {
    for (;;) {
      const e = await this.next();
      assert.ok(e, `the stream ended before a ${type} event`);
      if (e.event === type) return e;
    }
  }
}

async function open(url: string, cookie: string, query = ''): Promise<{ res: Response; events: EventReader }> {
  const res = await fetch(`${url}/api/v1/events${query}`, { headers: { cookie, accept: 'text/event-stream' } });
  return { res, events: new EventReader(res.body!.getReader()) };
}

const cookieOf = (h: Harness) => [...h.admin.cookies].map(([k, v]) => `${k}=${v}`).join('; ');

describe('server-sent run events', () => {
  test('snapshot, then run-started, run-progress and run-finished, to every client', async () => {
    const h = await harness({ server: { events: { heartbeatMs: 20 } } });
    try {
      assert.equal((await h.admin.post('/api/v1/connectors', { config: newConnectorInput() })).status, 201);
      const url = await h.server.app.listen({ host: '127.0.0.1', port: 0 });

      const anonymous = await fetch(`${url}/api/v1/events`);
      assert.equal(anonymous.status, 401, 'the same auth as every API route');

      const a = await open(url, cookieOf(h));
      const b = await open(url, cookieOf(h), '?connectorId=contoso');
      const other = await open(url, cookieOf(h), '?connectorId=someone-else');
      assert.equal(a.res.status, 200);
      assert.match(a.res.headers.get('content-type') ?? '', /^text\/event-stream/);
      for (const c of [a, b, other]) assert.deepEqual((await c.events.next())?.data, { connectors: [] }, 'nothing ran yet');

      h.engine.hold();
      assert.equal((await h.admin.post('/api/v1/connectors/contoso/sync', { kind: 'full' })).status, 202);
      for (const c of [a, b]) {
        const started = await c.events.until('run-started');
        assert.equal(started.data.connectorId, 'contoso');
        assert.equal(started.data.kind, 'full');
        assert.equal(started.data.trigger, 'ui');
        const progress = await c.events.until('run-progress');
        assert.deepEqual(progress.data.progress, { phase: 'reading', read: 1, planned: 0, written: 0, failed: 0 }, 'what the engine reported');
        assert.equal(progress.data.runId, started.data.runId);
      }
      // A client connecting now learns of the run in progress from its snapshot.
      const late = await open(url, cookieOf(h));
      const snapshot = (await late.events.next())!.data.connectors;
      assert.equal(snapshot.length, 1);
      assert.equal(snapshot[0].active.progress.read, 1);

      h.engine.release();
      for (const c of [a, b]) {
        const finished = await c.events.until('run-finished');
        assert.equal(finished.data.status, 'partial');
        assert.equal(finished.data.counts.read, 2);
      }
      assert.deepEqual(await a.events.next(true), { event: 'comment', data: ': keep-alive' }, 'heartbeat comments keep an idle stream alive');

      // The client that asked for another connector heard nothing of this run.
      await h.server.close();
      const heard: string[] = [];
      for (let e = await other.events.next(); e; e = await other.events.next()) heard.push(e.event);
      assert.deepEqual(heard, [], 'no event of another connector');
      for (const c of [a, b, late]) {
        while (await c.events.next());
      }
    } finally {
      h.engine.release();
      await h.store.close();
    }
  });

  test('server close ends open streams and does not wait for them', async () => {
    const h = await harness();
    try {
      const url = await h.server.app.listen({ host: '127.0.0.1', port: 0 });
      const c = await open(url, cookieOf(h));
      assert.equal((await c.events.next())?.event, 'snapshot');
      assert.equal(h.server.bus.listenerCount, 2, 'the metrics and the stream listen');
      await h.server.close();
      assert.equal(await c.events.next(), undefined, 'the stream has ended');
      assert.equal(h.server.bus.listenerCount, 0, 'the stream unsubscribed');
    } finally {
      await h.store.close();
    }
  });

  test('the first snapshot shows a run in progress that this process never heard of (another instance began it before this one started), with the counts of its last heartbeat', async () => {
    const h = await harness();
    try {
      assert.equal((await h.admin.post('/api/v1/connectors', { config: newConnectorInput() })).status, 201);
      // A run record as another instance's claim and heartbeat leave it: this server's bus has no event of it.
      const run = await h.store.runs.create({ id: 'run-elsewhere', connectorId: 'contoso', kind: 'full', dryRun: false, reconcile: false, trigger: 'schedule', userRef: null, startedAt: new Date().toISOString() });
      await h.store.runs.heartbeat(run.id, { ...run.counts, read: 42, created: 5, unchanged: 30, usersWritten: 5 });
      assert.deepEqual(h.server.bus.snapshot(), [], 'the bus knows nothing of it');
      const url = await h.server.app.listen({ host: '127.0.0.1', port: 0 });
      for (const query of ['', '?connectorId=contoso']) {
        const c = await open(url, cookieOf(h), query);
        const snapshot = await c.events.next();
        assert.equal(snapshot?.event, 'snapshot');
        const [contoso] = snapshot!.data.connectors;
        assert.equal(contoso?.active?.runId, 'run-elsewhere', `the run in progress is in the snapshot${query}: ${JSON.stringify(snapshot!.data)}`);
        assert.deepEqual(contoso.active.progress, { phase: 'reading', read: 42, planned: 35, written: 5, failed: 0 }, 'with its progress as far as the store knows it');
        assert.equal(contoso.active.trigger, 'schedule');
      }
      const other = await open(url, cookieOf(h), '?connectorId=someone-else');
      assert.deepEqual((await other.events.next())?.data, { connectors: [] }, 'another connector\'s stream does not show it');
    } finally {
      await h.server.close();
      await h.store.close();
    }
  });
});
