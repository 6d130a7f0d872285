// Prometheus metrics of one idsync server, in a registry of its own (not prom-client's global
// one), so several servers in one process (tests) never share or clash over a metric.
//
// Where each number comes from, and why:
// - runs, users read / written: counters this process increments as its runs finish (from the
//   progress bus). They start at 0 on restart, as Prometheus counters do (rate() handles that),
//   and each instance counts only its own runs, so a sum over instances is the true total.
// - write requests and 429 answers per target: counted from the HTTP client's recorder, every
//   attempt (retries included), because that is what the target's rate limit sees.
// - last successful run per connector and kind: read from the runs table at scrape time, so it
//   survives restarts and is the same on every instance (take max() across instances, not sum).
// - queue depth: asked of a QueueDepth provider at scrape time (the in-process coordinator now;
//   the job queue later).
// Label values are connector ids, target ids, run kinds and statuses: bounded by configuration,
// never user data.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { RecordedRequest } from '../core/http.ts';
import type { ConnectorContext } from '../sources/registry.ts';
import type { Store } from '../store/index.ts';
import type { RunTriggers } from '../jobs/triggers.ts';
import type { ProgressBus, RunEvent } from './progress-bus.ts';

/** How many syncs wait to run, per connector. Implemented by whatever queues runs. */
export interface QueueDepth {
  depth(): Promise<Array<{ connectorId: string; waiting: number }>>;
}

export interface MetricsOptions {
  store: Store;
  bus: ProgressBus;
  queue: QueueDepth;
  /** Node.js process metrics (heap, event loop lag, CPU); default true. */
  processMetrics?: boolean;
}

export class ServerMetrics {
  readonly registry = new Registry();
  private readonly runs: Counter<'connector' | 'kind' | 'status' | 'dry_run'>;
  private readonly usersRead: Counter<'connector'>;
  private readonly usersWritten: Counter<'connector'>;
  private readonly writeRequests: Counter<'connector' | 'target'>;
  private readonly rateLimited: Counter<'connector' | 'target'>;
  private readonly unsubscribe: () => void;

  constructor(opts: MetricsOptions) {
    const registers = [this.registry];
    if (opts.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    this.runs = new Counter({ name: 'idsync_runs_total', help: 'Runs finished by this process, by connector, kind (full, incremental, user), status and dry run', labelNames: ['connector', 'kind', 'status', 'dry_run'], registers });
    this.usersRead = new Counter({ name: 'idsync_users_read_total', help: 'Users read from the identity provider by finished runs of this process', labelNames: ['connector'], registers });
    this.usersWritten = new Counter({ name: 'idsync_users_written_total', help: 'Users written to targets by finished runs of this process (one per user and target changed; simulations write nothing)', labelNames: ['connector'], registers });
    this.writeRequests = new Counter({ name: 'idsync_target_write_requests_total', help: 'HTTP requests other than GET sent to a target, retries included', labelNames: ['connector', 'target'], registers });
    this.rateLimited = new Counter({ name: 'idsync_target_rate_limited_total', help: 'HTTP 429 (Too Many Requests) answers from a target', labelNames: ['connector', 'target'], registers });
    new Gauge({
      name: 'idsync_queue_depth',
      help: 'Syncs waiting to start, per connector',
      labelNames: ['connector'],
      registers,
      async collect() {
        this.reset();
        for (const q of await opts.queue.depth()) this.set({ connector: q.connectorId }, q.waiting);
      },
    });
    const store = opts.store;
    new Gauge({
      name: 'idsync_last_success_timestamp_seconds',
      help: 'When the last successful run (not a simulation) of a connector finished, per kind, as Unix time; from the runs table',
      labelNames: ['connector', 'kind'],
      registers,
      async collect() {
        this.reset();
        for (const r of await lastSuccesses(store)) this.set({ connector: r.connectorId, kind: r.kind }, Date.parse(r.finishedAt) / 1000);
      },
    });
    // Counters are this process's own (summed across instances), so runs relayed from another
    // instance are not counted again here.
    this.unsubscribe = opts.bus.subscribe((e) => this.onRun(e), { localOnly: true });
  }

  /** The Prometheus text exposition of every metric. */
  async text(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  /** Observes one answered HTTP request; only those a target's client made are counted. */
  readonly recorder = (r: RecordedRequest): void => {
    if (!r.connector || !r.target) return;
    const labels = { connector: r.connector, target: r.target };
    if (r.method !== 'GET') this.writeRequests.inc(labels);
    if (r.status === 429) this.rateLimited.inc(labels);
  };

  close(): void {
    this.unsubscribe();
    this.registry.clear();
  }

  private onRun(e: RunEvent): void {
    if (e.type !== 'run-finished') return;
    const connector = e.connectorId;
    this.runs.inc({ connector, kind: e.kind, status: e.status, dry_run: String(e.dryRun) });
    if (!e.counts) return;
    this.usersRead.inc({ connector }, e.counts.read);
    if (!e.dryRun) this.usersWritten.inc({ connector }, e.counts.usersWritten);
  }
}

/** The connector context with the metrics' recorder added beside any recorder it already has. */
export function withRecorder(ctx: ConnectorContext, recorder: (r: RecordedRequest) => void): ConnectorContext {
  const before = ctx.recorder;
  return {
    ...ctx,
    recorder: before
      ? (r) => {
          before(r);
          recorder(r);
        }
      : recorder,
  };
}

/** Latest successful, non-simulated run per existing connector and kind. */
async function lastSuccesses(store: Store): Promise<Array<{ connectorId: string; kind: string; finishedAt: string }>> {
  const rows = await store.db
    .selectFrom('runs')
    .select((eb) => ['connector_id', 'kind', eb.fn.max('finished_at').as('finished')])
    .where('status', '=', 'succeeded')
    .where('dry_run', '=', 0)
    .where('finished_at', 'is not', null)
    .where('connector_id', 'in', (eb) => eb.selectFrom('connectors').select('id'))
    .groupBy(['connector_id', 'kind'])
    .execute();
  return rows.filter((r) => r.finished).map((r) => ({ connectorId: r.connector_id, kind: r.kind, finishedAt: String(r.finished) }));
}

/**
 * Queue depth: per connector, the jobs (of every instance, on PostgreSQL) waiting for their
 * turn: queued, or taken and waiting for the run in progress (src/jobs/triggers.ts, waiting()).
 */
export function jobQueueDepth(runs: Pick<RunTriggers, 'waiting'>, store: Store): QueueDepth {
  return {
    async depth() {
      const connectors = await store.db.selectFrom('connectors').select('id').execute();
      const out: Array<{ connectorId: string; waiting: number }> = [];
      for (const c of connectors) out.push({ connectorId: c.id, waiting: await runs.waiting(c.id) });
      return out;
    },
  };
}
