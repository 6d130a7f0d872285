// The in-process bus for run events: a run's start, its progress and its end. The server-sent
// events stream (routes-events.ts) and the metrics (metrics.ts) listen; `observeEngine` is the one
// place that publishes, by wrapping the engine every trigger goes through (API, scheduler, job
// queue; its runs and its quarantine approvals), so whatever starts runs needs no hook of its own.
// Listeners are called synchronously and must not block: a slow listener would hold up the run.
// With a PostgreSQL store the bus also carries the runs of the other instances sharing it
// (run-event-relay.ts delivers them with `deliverRemote`); a listener that counts this process's
// own runs (the metrics, the relay itself) subscribes with `localOnly`.
import type { RunKind, RunCounts } from '../core/types.ts';
import { errorText } from '../core/errors.ts';
import type { ApproveQuarantineRequest, ApproveQuarantineResult, SyncProgress, SyncRequest, SyncResult, Trigger } from '../engine/api.ts';
import type { EngineService } from './services.ts';
import type { ActiveRun } from './run-coordinator.ts';

/** A run claimed: what the coordinator knows of its active run, and the run's id. */
export interface RunStarted extends ActiveRun {
  type: 'run-started';
  runId: string;
}

export interface RunProgressed {
  type: 'run-progress';
  connectorId: string;
  runId: string;
  progress: SyncProgress;
}

export interface RunFinished {
  type: 'run-finished';
  connectorId: string;
  runId: string;
  kind: RunKind;
  dryRun: boolean;
  status: string;
  error?: string;
  finishedAt: string;
  /** The run record's counts (absent when the run failed before the engine returned them). */
  counts?: RunCounts;
}

export type RunEvent = RunStarted | RunProgressed | RunFinished;

/** What a client that connects now must know first: each connector's run in progress and last end. */
export interface ConnectorActivity {
  connectorId: string;
  active?: Omit<RunStarted, 'type'>;
  last?: Omit<RunFinished, 'type'>;
}

export type RunListener = (e: RunEvent) => void;

export interface SubscribeOptions {
  /** Only the runs this process performs, not those another instance relayed. */
  localOnly?: boolean;
}

export class ProgressBus {
  private readonly listeners = new Map<RunListener, SubscribeOptions>();
  private readonly state = new Map<string, ConnectorActivity>();

  constructor(private readonly log: { error(obj: unknown, msg?: string): void } = console) {}

  /** Adds a listener; the function returned removes it. */
  subscribe(listener: RunListener, opts: SubscribeOptions = {}): () => void {
    // One entry per subscription: the same function subscribed twice is two listeners.
    const own: RunListener = (e) => listener(e);
    this.listeners.set(own, opts);
    return () => this.listeners.delete(own);
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  /** A run of this process. */
  publish(e: RunEvent): void {
    this.deliver(e, false);
  }

  /** A run of another instance sharing the store, as relayed to this one. */
  deliverRemote(e: RunEvent): void {
    this.deliver(e, true);
  }

  private deliver(e: RunEvent, remote: boolean): void {
    this.remember(e);
    for (const [l, o] of [...this.listeners]) {
      if (remote && o.localOnly) continue;
      try {
        l(e);
      } catch (err) {
        // A broken listener must never fail the run that published.
        this.log.error({ err: errorText(err) }, 'run event listener failed');
      }
    }
  }

  /** The latest state of every connector seen since start (one connector, when given). */
  snapshot(connectorId?: string): ConnectorActivity[] {
    if (connectorId) {
      const one = this.state.get(connectorId);
      return one ? [structuredClone(one)] : [];
    }
    return [...this.state.values()].map((s) => structuredClone(s));
  }

  private remember(e: RunEvent): void {
    const s = this.state.get(e.connectorId) ?? { connectorId: e.connectorId };
    const { type: _type, ...rest } = e;
    if (e.type === 'run-started') s.active = rest as Omit<RunStarted, 'type'>;
    else if (e.type === 'run-progress') {
      if (s.active?.runId === e.runId) s.active.progress = { ...e.progress };
    } else {
      if (s.active?.runId === e.runId) delete s.active;
      s.last = rest as Omit<RunFinished, 'type'>;
    }
    this.state.set(e.connectorId, s);
  }
}

/**
 * The engine, publishing each run it performs to the bus: started once the run is claimed (a
 * trigger refused before its claim never ran and publishes nothing), progress as the engine
 * reports it, finished with the run record's status and counts.
 */
export function observeEngine(engine: EngineService, bus: ProgressBus): EngineService {
  return {
    testConnection: (c) => engine.testConnection(c),
    attributes: (c) => engine.attributes(c),
    sampleUsers: (c, q, l) => engine.sampleUsers(c, q, l),
    searchUsers: (c, t, l) => engine.searchUsers(c, t, l),
    ...(engine.approveQuarantine ? { approveQuarantine: (req: ApproveQuarantineRequest) => observeApproval(engine, bus, req) } : {}),
    async run(req: SyncRequest): Promise<SyncResult> {
      const connectorId = req.connector.id;
      const dryRun = req.dryRun ?? false;
      let runId: string | undefined;
      let progress: SyncProgress = { phase: 'connecting', read: 0, planned: 0, written: 0, failed: 0 };
      const wrapped: SyncRequest = {
        ...req,
        onClaimed: (r) => {
          req.onClaimed?.(r);
          if (runId) return;
          runId = r.id;
          bus.publish({ type: 'run-started', connectorId, runId, kind: req.kind, dryRun, trigger: req.trigger, ...(req.userRef ? { userRef: req.userRef } : {}), startedAt: r.startedAt, progress: { ...progress } });
        },
        onProgress: (p) => {
          req.onProgress?.(p);
          progress = { ...p };
          // Before the claim there is no run to report on yet; run-started carries the latest.
          if (runId) bus.publish({ type: 'run-progress', connectorId, runId, progress: { ...p } });
        },
      };
      try {
        const result = await engine.run(wrapped);
        const r = result.run;
        runId ??= r.id;
        bus.publish({ type: 'run-finished', connectorId, runId, kind: r.kind, dryRun: r.dryRun, status: r.status, ...(r.error ? { error: r.error } : {}), finishedAt: r.finishedAt ?? new Date().toISOString(), counts: r.counts });
        return result;
      } catch (e) {
        if (runId) bus.publish({ type: 'run-finished', connectorId, runId, kind: req.kind, dryRun, status: 'failed', error: errorText(e), finishedAt: new Date().toISOString() });
        throw e;
      }
    },
  };
}

/**
 * A quarantine approval is a run too (kind `cleanup`): published like one, started at its claim
 * and finished with its record, so the live view and the metrics show it whoever approved it.
 */
async function observeApproval(engine: EngineService, bus: ProgressBus, req: ApproveQuarantineRequest): Promise<ApproveQuarantineResult> {
  const connectorId = req.connector.id;
  let runId: string | undefined;
  try {
    const result = await engine.approveQuarantine!({
      ...req,
      onClaimed: (r) => {
        req.onClaimed?.(r);
        if (runId) return;
        runId = r.id;
        bus.publish({ type: 'run-started', connectorId, runId, kind: 'cleanup', dryRun: false, trigger: req.trigger, startedAt: r.startedAt, progress: { phase: 'connecting', read: 0, planned: 0, written: 0, failed: 0 } });
      },
    });
    const r = result.run;
    runId ??= r.id;
    bus.publish({ type: 'run-finished', connectorId, runId, kind: r.kind, dryRun: r.dryRun, status: r.status, ...(r.error ? { error: r.error } : {}), finishedAt: r.finishedAt ?? new Date().toISOString(), counts: r.counts });
    return result;
  } catch (e) {
    if (runId) bus.publish({ type: 'run-finished', connectorId, runId, kind: 'cleanup', dryRun: false, status: 'failed', error: errorText(e), finishedAt: new Date().toISOString() });
    throw e;
  }
}
