// GET /api/v1/events: run start, progress and end pushed as server-sent events, so the UI watches
// a run without polling. Auth is that of every other API route (the browser's EventSource sends
// the session cookie; API clients send a bearer token).
//
// The stream opens with a `snapshot` event (each connector's run in progress, from the runs table
// so whichever instance began it and whenever, with its latest progress known; and the last end
// seen by this process since it started), then `run-started`, `run-progress` and `run-finished`
// events as they happen — on PostgreSQL those of every instance sharing the store, relayed by
// run-event-relay.ts (another instance's progress comes at most 4 times a second per run);
// a comment line every heartbeat keeps proxies from closing an idle stream. A client that does
// not keep up never slows a run: its events wait in a small per-client buffer in which a newer
// progress of a run replaces the older one, and a client whose buffer still overflows is
// disconnected (its EventSource reconnects and starts again from a snapshot). Streams end when
// the server closes, so they never hold up close().
import type { ServerResponse } from 'node:http';
import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import type { Store } from '../store/index.ts';
import type { ConnectorActivity, ProgressBus, RunEvent } from './progress-bus.ts';
import { activitySnapshot } from './store-activity.ts';
import type { ApiRouter } from './routes.ts';

export const SSE_HEARTBEAT_MS = 15_000;
/** Events one slow client may have waiting before it is disconnected. */
export const SSE_MAX_PENDING = 256;
/** How long a browser waits before reconnecting a dropped stream. */
const RETRY_MS = 3000;

export interface EventRouteOptions {
  heartbeatMs?: number;
  maxPending?: number;
}

/** `store`: where the runs in progress of every instance are read for the first snapshot (see store-activity.ts). */
export function eventRoutes(app: FastifyInstance, api: ApiRouter, bus: ProgressBus, opts: EventRouteOptions = {}, store?: Store): void {
  const clients = new Set<SseClient>();
  const heartbeatMs = opts.heartbeatMs ?? SSE_HEARTBEAT_MS;
  const maxPending = opts.maxPending ?? SSE_MAX_PENDING;
  app.addHook('preClose', async () => {
    for (const c of [...clients]) c.end();
  });

  api.route(
    {
      method: 'GET', path: '/api/v1/events', tag: 'runs', access: 'viewer', produces: 'text/event-stream',
      summary: 'Server-sent events: a snapshot, then run-started, run-progress and run-finished of every connector (or of connectorId)',
      query: z.object({ connectorId: z.string().max(200).optional() }),
    },
    async ({ req, reply, query }) => {
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
        // nginx buffers responses unless told not to; a buffered stream delivers nothing live.
        'x-accel-buffering': 'no',
      });
      const client = new SseClient(res, maxPending, () => {
        clients.delete(client);
        unsubscribe();
        clearInterval(heartbeat);
      });
      clients.add(client);
      const heartbeat = setInterval(() => client.comment('keep-alive'), heartbeatMs);
      heartbeat.unref();
      const only = query.connectorId;
      // Events published while the store is read wait, and follow the snapshot: none is lost
      // between the two (one that the snapshot has already is merely repeated).
      let held: RunEvent[] | undefined = [];
      const unsubscribe = bus.subscribe((e) => {
        if (only && e.connectorId !== only) return;
        if (held) held.push(e);
        else client.event(e);
      });
      let connectors: ConnectorActivity[];
      try {
        connectors = store ? await activitySnapshot(store, bus, only) : bus.snapshot(only);
      } catch (err) {
        // The stream still opens: the runs of this process (and those relayed) are known.
        req.log.warn({ err: String(err) }, 'the runs in progress could not be read from the store for an event stream\'s snapshot');
        connectors = bus.snapshot(only);
      }
      client.send('snapshot', { connectors }, `retry: ${RETRY_MS}\n`);
      for (const e of held) client.event(e);
      held = undefined;
      return reply;
    },
  );
}

/** One connected stream with its own small buffer (see the file's comment); exported for its unit test. */
export class SseClient {
  private pending: Array<{ key?: string; text: string }> = [];
  private congested = false;
  private ended = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly maxPending: number,
    private readonly onEnd: () => void,
  ) {
    res.on('close', () => this.finish());
    res.on('drain', () => this.flush());
  }

  event(e: RunEvent): void {
    const { type, ...data } = e;
    this.send(type, data, '', type === 'run-progress' ? `${e.connectorId}/${e.runId}` : undefined);
  }

  send(type: string, data: unknown, prefix = '', key?: string): void {
    this.write(`${prefix}event: ${type}\ndata: ${JSON.stringify(data)}\n\n`, key);
  }

  comment(text: string): void {
    // A heartbeat only matters to an idle stream; a congested one has data waiting already.
    if (!this.congested) this.write(`: ${text}\n\n`);
  }

  end(): void {
    if (this.ended) return;
    this.res.end();
    this.finish();
  }

  private write(text: string, key?: string): void {
    if (this.ended) return;
    if (!this.congested) {
      this.congested = !this.res.write(text);
      return;
    }
    const same = key ? this.pending.findIndex((p) => p.key === key) : -1;
    if (same >= 0) this.pending[same] = { key, text };
    else this.pending.push({ ...(key ? { key } : {}), text });
    if (this.pending.length > this.maxPending) this.res.destroy();
  }

  private flush(): void {
    this.congested = false;
    while (this.pending.length && !this.congested) this.congested = !this.res.write(this.pending.shift()!.text);
  }

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    this.pending = [];
    this.onEnd();
  }
}
