// From the SCIM store into Atlassian: writes accepted by the endpoint are durable in the store
// (dirty rows) before they are answered; this batcher turns them into push runs. The first
// write of a batch waits `batchWindowMs` for more (or less once `batchSize` users are owed), so a
// provisioning cycle of thousands of users makes a few runs, not thousands. A run takes the
// versions it read; rows changed meanwhile stay dirty for the next one. A run that fails, or
// that cannot start because another run of the connector is going, is retried later: nothing
// pushed is lost, and a server that stopped picks up what it owed when it starts.
//
// Several idsync instances may share the store, each accepting SCIM writes; a write is batched
// by the instance that accepted it. Should that instance stop (or die) before its batch ran, or
// keep failing, the rows stay dirty: every instance therefore sweeps the store periodically
// (`sweepMs`, 30 s by default) and pushes what stayed dirty longer than the connector's batch
// window. The run claim (run-claim.ts) keeps two instances from running the same connector at
// once; the one that loses waits and finds nothing left to push, or pushes what is left.
import type { ConnectorConfig } from '../../config/schema.ts';
import { errorText } from '../../core/errors.ts';
import type { SyncResult } from '../../engine/api.ts';
import type { StartRequest } from '../../server/run-coordinator.ts';
import type { Store } from '../../store/index.ts';
import { ScimRepo } from './repo.ts';
import { ScimSource, scimConfigSchema } from './index.ts';

export interface PushRuns {
  start(req: StartRequest): Promise<SyncResult>;
}

interface Log {
  warn(obj: unknown, msg?: string): void;
  error(obj: unknown, msg?: string): void;
}

interface State {
  timer?: NodeJS.Timeout;
  running?: Promise<void>;
  /** Writes noted since the current batch was planned. */
  noted: number;
  /** Consecutive failed attempts (the retry waits longer each time). */
  failures: number;
}

const RETRY_BUSY_MS = 2_000;
const RETRY_MAX_MS = 60_000;
/** How often an instance looks for pushes nobody ran (see above). */
export const DEFAULT_SWEEP_MS = 30_000;

export interface PushBatcherOptions {
  /** How often to sweep for users owed longer than their connector's batch window; 0: never. */
  sweepMs?: number;
}

export class PushBatcher {
  private readonly repo: ScimRepo;
  private readonly states = new Map<string, State>();
  private stopped = false;
  private sweeper?: NodeJS.Timeout;
  private sweeping = false;
  private readonly sweepMs: number;

  constructor(
    private readonly store: Store,
    private readonly runs: PushRuns,
    private readonly log: Log,
    opts: PushBatcherOptions = {},
  ) {
    this.repo = new ScimRepo(store.db);
    this.sweepMs = opts.sweepMs ?? DEFAULT_SWEEP_MS;
  }

  /** Schedules a push of what every SCIM connector still owes (start-up), and the periodic sweep. */
  async start(): Promise<void> {
    // Owed since before the stop: late already, so pushed at once rather than after a window.
    for (const id of await this.repo.connectorsWithDirty()) this.flushSoon(id, 0);
    if (this.sweepMs > 0 && !this.sweeper && !this.stopped) {
      this.sweeper = setInterval(() => void this.sweep(), this.sweepMs);
      this.sweeper.unref?.();
    }
  }

  /**
   * Pushes what stayed owed longer than its connector's batch window and that this instance has
   * not scheduled: writes another instance accepted and never pushed (it stopped, or its runs fail).
   */
  async sweep(): Promise<void> {
    if (this.stopped || this.sweeping) return;
    this.sweeping = true;
    try {
      for (const { connectorId, since } of await this.repo.oldestDirty()) {
        const s = this.stateOf(connectorId);
        if (this.stopped || s.timer || s.running) continue; // already on its way here
        const { batchWindowMs } = await this.settings(connectorId);
        if (Date.now() - Date.parse(since) <= batchWindowMs) continue; // the accepting instance's window is still open
        this.flushSoon(connectorId, 0);
      }
    } catch (e) {
      this.log.warn({ err: errorText(e) }, 'SCIM push sweep failed; it runs again at the next interval');
    } finally {
      this.sweeping = false;
    }
  }

  /** A write to the connector was stored: a push run follows within the batch window. */
  notify(connectorId: string): void {
    if (this.stopped) return;
    const s = this.stateOf(connectorId);
    s.noted++;
    if (s.running) return; // the running batch loop picks it up
    void this.settings(connectorId).then(({ batchWindowMs, batchSize }) => {
      if (this.stopped || s.running) return;
      if (s.noted >= batchSize) this.flushSoon(connectorId, 0);
      else if (!s.timer) this.flushSoon(connectorId, batchWindowMs);
    });
  }

  /** Waits for a push in progress and stops scheduling new ones. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.sweeper);
    for (const s of this.states.values()) clearTimeout(s.timer);
    await Promise.allSettled([...this.states.values()].map((s) => s.running));
  }

  /** Resolves once nothing is owed or scheduled for the connector (tests, benchmarks). */
  async idle(connectorId: string): Promise<void> {
    for (;;) {
      const s = this.states.get(connectorId);
      if (s?.running) await s.running;
      else if (s?.timer) await new Promise((r) => setTimeout(r, 50));
      else return;
    }
  }

  private stateOf(id: string): State {
    let s = this.states.get(id);
    if (!s) this.states.set(id, (s = { noted: 0, failures: 0 }));
    return s;
  }

  private flushSoon(connectorId: string, ms: number): void {
    const s = this.stateOf(connectorId);
    clearTimeout(s.timer);
    s.timer = setTimeout(() => {
      s.timer = undefined;
      s.running = this.flush(connectorId).finally(() => {
        s.running = undefined;
      });
    }, ms);
    s.timer.unref?.();
  }

  private async settings(connectorId: string): Promise<{ config?: ConnectorConfig; simulate: boolean; batchWindowMs: number; batchSize: number }> {
    const stored = await this.store.connectors.get(connectorId).catch(() => undefined);
    const parsed = stored?.config.source.type === 'scim' ? scimConfigSchema.safeParse(stored.config.source) : undefined;
    const src = parsed?.success ? parsed.data : scimConfigSchema.parse({ type: 'scim' });
    return { config: stored?.config, simulate: src.simulate, batchWindowMs: src.batchWindowMs, batchSize: src.batchSize };
  }

  /** Runs batches until nothing is owed; schedules a retry when one cannot be applied now. */
  private async flush(connectorId: string): Promise<void> {
    const s = this.stateOf(connectorId);
    const source = new ScimSource(connectorId, this.store.db);
    while (!this.stopped) {
      const { config, simulate, batchSize } = await this.settings(connectorId);
      if (!config || config.source.type !== 'scim') return; // the connector went: nothing to push into
      s.noted = 0;
      const rows = await this.repo.dirtyUsers(connectorId, batchSize);
      if (rows.length === 0) return;
      const users = await source.usersOf(rows);
      const removed = rows.filter((r) => r.deletedAt).map((r) => ({ id: r.id, reason: 'deleted' as const }));
      let retryIn: number | undefined;
      try {
        const result = await this.runs.start({ connector: config, kind: 'push', dryRun: simulate, trigger: 'scim', push: { users, removed } });
        if (result.run.status === 'failed') {
          s.failures++;
          retryIn = Math.min(RETRY_MAX_MS, 5_000 * 2 ** (s.failures - 1));
          this.log.warn({ connector: connectorId, run: result.run.id, error: result.run.error }, `SCIM push run failed; the ${rows.length} users stay owed and are pushed again in ${retryIn / 1000} s`);
        } else {
          s.failures = 0;
          await this.repo.acknowledge(connectorId, rows.map((r) => ({ id: r.id, version: r.version })));
        }
      } catch (e) {
        // Another run of the connector is going (409), or idsync is stopping: try again shortly.
        retryIn = (e as { status?: number }).status === 409 ? RETRY_BUSY_MS : Math.min(RETRY_MAX_MS, 5_000 * 2 ** s.failures++);
        if ((e as { status?: number }).status !== 409) this.log.error({ connector: connectorId, err: errorText(e) }, 'SCIM push run could not start');
      }
      if (retryIn !== undefined) {
        if (!this.stopped) this.flushSoon(connectorId, retryIn);
        return;
      }
    }
  }
}
