// Does the runs of this process: the engine call of a job taken from the queue (src/jobs/runner.ts)
// and of a SCIM push, fenced (a run taken over by another process has its late writes refused),
// with the live progress of the runs active here for the UI's activity view, and the means to
// stop them all at shutdown. It decides nothing about whether a run may start: that is the job
// queue and the runs table's unique index (src/jobs/types.ts, src/store/runs.ts); what a trigger
// is answered is src/jobs/triggers.ts.
import type { ConnectorConfig } from '../config/schema.ts';
import type { RunKind } from '../core/types.ts';
import { errorText, isIdsyncError } from '../core/errors.ts';
import type { ApproveQuarantineRequest, ApproveQuarantineResult, SyncProgress, SyncRequest, SyncResult, Trigger } from '../engine/api.ts';
import { USER_SYNC_WAIT_MS } from '../engine/run-claim.ts';
import type { RunRecord } from '../store/runs.ts';
import type { EngineService } from './services.ts';
import { HttpError } from './routes.ts';
import { withRunFence } from '../store/run-fence.ts';

export interface ActiveRun {
  connectorId: string;
  kind: RunKind;
  dryRun: boolean;
  trigger: Trigger;
  userRef?: string;
  startedAt: string;
  progress: SyncProgress;
  /** The run's id, once claimed. */
  runId?: string;
}

export interface FinishedRun {
  runId?: string;
  status: string;
  error?: string;
  finishedAt: string;
}

export interface StartRequest {
  connector: ConnectorConfig;
  kind: RunKind;
  dryRun?: boolean;
  userRef?: string;
  /** For kind 'push': the pushed users (see SyncRequest.push). */
  push?: SyncRequest['push'];
  trigger: Trigger;
  /** How long the engine's claim waits for another run of the connector (default 0: refused at once). */
  claimWaitMs?: number;
  /** Told the run as soon as the store has claimed it (a job records itself on it, src/jobs/runner.ts). */
  onClaimed?: (run: RunRecord) => void;
}

/** How single-user syncs (and approvals) wait for a run of their connector. */
export interface UserSyncQueuePolicy {
  /** Longest wait before the request's run is claimed, across every process. */
  waitMs: number;
  /** Most requests waiting per connector; one more is refused at once. */
  maxWaiting: number;
}

export const USER_SYNC_QUEUE: UserSyncQueuePolicy = { waitMs: USER_SYNC_WAIT_MS, maxWaiting: 20 };

interface Entry {
  run: ActiveRun;
  controller: AbortController;
  done: Promise<unknown>;
}

export class RunCoordinator {
  /** The runs of this process, by connector, from their claim to their end. */
  private readonly active = new Map<string, Entry>();
  /** Runs being started (not claimed yet) and active: what a stop aborts. */
  private readonly inFlight = new Set<Entry>();
  private readonly finished = new Map<string, FinishedRun>();
  private stoppingAll = false;

  constructor(
    private readonly engine: EngineService,
    private readonly log: { error(obj: unknown, msg?: string): void } = console,
  ) {}

  /** This process's view: the connector's run active here, and the last one that ended here. */
  activity(connectorId: string): { active?: ActiveRun; last?: FinishedRun } {
    return { active: this.active.get(connectorId)?.run, last: this.finished.get(connectorId) };
  }

  /** A run of the connector is active in this process. */
  isRunning(connectorId: string): boolean {
    return this.active.has(connectorId);
  }

  /** True while stopAll stops the runs: none is started meanwhile. */
  get stopping(): boolean {
    return this.stoppingAll;
  }

  /**
   * Runs a sync and returns its result. A claim refused by the store (another run of the
   * connector, on any process) rejects with 409 before anything ran.
   */
  async start(req: StartRequest): Promise<SyncResult> {
    const { entry, request } = this.entry(req);
    return this.track(entry, req, () => this.engine.run(request()), (r) => r.run);
  }

  /** Approves a quarantine (a run of kind `cleanup`), with its progress and end shown like any run's. */
  async approve(req: ApproveQuarantineRequest): Promise<ApproveQuarantineResult> {
    if (!this.engine.approveQuarantine) throw new HttpError(501, 'approving a quarantine is not available in this build of idsync');
    const approve = this.engine.approveQuarantine.bind(this.engine);
    const { entry, claimed } = this.entry({ connector: req.connector, kind: 'cleanup', trigger: req.trigger, ...(req.onClaimed ? { onClaimed: req.onClaimed } : {}) });
    return this.track(entry, req, () => approve({ ...req, onClaimed: claimed }), (r) => r.run);
  }

  /** Asks every run of this process to stop and waits for them (server shutdown). */
  async stopAll(): Promise<void> {
    this.stoppingAll = true;
    try {
      const runs = [...this.inFlight];
      for (const r of runs) r.controller.abort();
      await Promise.allSettled(runs.map((r) => r.done));
    } finally {
      // A server stops its runner and queue too; a stop of the runs alone (tests) is not for good.
      this.stoppingAll = false;
    }
  }

  private entry(req: StartRequest): { entry: Entry; claimed: (r: RunRecord) => void; request: () => SyncRequest } {
    const controller = new AbortController();
    const run: ActiveRun = {
      connectorId: req.connector.id,
      kind: req.kind,
      dryRun: req.dryRun ?? false,
      trigger: req.trigger,
      ...(req.userRef ? { userRef: req.userRef } : {}),
      startedAt: new Date().toISOString(),
      progress: { phase: 'connecting', read: 0, planned: 0, written: 0, failed: 0 },
    };
    const entry: Entry = { run, controller, done: Promise.resolve() };
    let wasClaimed = false;
    const claimed = (r: RunRecord) => {
      if (wasClaimed) return;
      wasClaimed = true;
      run.runId = r.id;
      run.startedAt = r.startedAt;
      this.active.set(req.connector.id, entry);
      req.onClaimed?.(r);
    };
    const request = (): SyncRequest => ({
      connector: req.connector,
      kind: req.kind,
      ...(req.userRef ? { userRef: req.userRef } : {}),
      ...(req.push ? { push: req.push } : {}),
      dryRun: req.dryRun ?? false,
      trigger: req.trigger,
      signal: controller.signal,
      claimWaitMs: req.claimWaitMs ?? 0,
      onClaimed: claimed,
      onProgress: (p) => {
        run.progress = { ...p };
      },
    });
    return { entry, claimed, request };
  }

  private async track<T>(entry: Entry, req: { connector: ConnectorConfig }, call: () => Promise<T>, runOf: (r: T) => RunRecord): Promise<T> {
    const id = req.connector.id;
    if (this.stoppingAll) throw new HttpError(503, 'idsync is shutting down; try the sync again when it is back');
    this.inFlight.add(entry);
    const done = (async () => {
      try {
        // Fenced: once another process takes this run over, its late writes are refused (run-fence.ts).
        const result = await withRunFence(call);
        const run = runOf(result);
        this.finished.set(id, { runId: run.id, status: run.status, ...(run.error ? { error: run.error } : {}), finishedAt: new Date().toISOString() });
        return result;
      } catch (e) {
        // A run refused before it was claimed never ran: it is no outcome of the connector.
        if (this.active.get(id) === entry) this.finished.set(id, { ...(entry.run.runId ? { runId: entry.run.runId } : {}), status: 'failed', error: errorText(e), finishedAt: new Date().toISOString() });
        else if (isIdsyncError(e, 'CONFLICT')) throw new HttpError(409, errorText(e), { claimed: false });
        throw e;
      } finally {
        if (this.active.get(id) === entry) this.active.delete(id);
        this.inFlight.delete(entry);
      }
    })();
    entry.done = done.catch(() => undefined);
    return done;
  }
}

