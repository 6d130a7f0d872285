// Starts sync runs for the API and the scheduler and makes sure runs of one connector never
// overlap. A full sync (or simulation) requested while a run of the connector is in progress is
// refused with 409 saying what is running; a single-user sync queues behind it (first come,
// first served, with a bounded wait and a bounded queue) and is refused with 409 only when the
// wait runs out; so does a scheduled full sync that finds a single-user sync running. A trigger is answered only once its run is claimed in the store, so "started"
// means started, also when another idsync process holds the connector.
// Progress of the active run is kept here for the UI's live view.
import type { ConnectorConfig } from '../config/schema.ts';
import type { RunKind } from '../core/types.ts';
import { errorText } from '../core/errors.ts';
import type { SyncProgress, SyncRequest, SyncResult, Trigger } from '../engine/api.ts';
import { USER_SYNC_WAIT_MS, waitText } from '../engine/run-claim.ts';
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
  /** Told the run as soon as the store has claimed it (a job records itself on it, src/jobs/runner.ts). */
  onClaimed?: (run: RunRecord) => void;
}

/** How single-user syncs queue behind a run of their connector. */
export interface UserSyncQueuePolicy {
  /** Longest wait, in this queue and for another process's run together. */
  waitMs: number;
  /** Most user syncs waiting per connector; one more is refused at once. */
  maxWaiting: number;
}

export const USER_SYNC_QUEUE: UserSyncQueuePolicy = { waitMs: USER_SYNC_WAIT_MS, maxWaiting: 20 };

interface Entry {
  run: ActiveRun;
  controller: AbortController;
  /** Settles when the engine has claimed the run in the store (or failed to). */
  claimed: Promise<RunRecord>;
  done: Promise<SyncResult>;
}

interface Waiter {
  admit(): void;
  refuse(e: Error): void;
}

export class RunCoordinator {
  private readonly active = new Map<string, Entry>();
  private readonly waiting = new Map<string, Waiter[]>();
  private readonly finished = new Map<string, FinishedRun>();

  constructor(
    private readonly engine: EngineService,
    private readonly log: { error(obj: unknown, msg?: string): void } = console,
    private readonly queue: UserSyncQueuePolicy = USER_SYNC_QUEUE,
  ) {}

  activity(connectorId: string): { active?: ActiveRun; last?: FinishedRun; queued?: number } {
    const queued = this.waiting.get(connectorId)?.length;
    return { active: this.active.get(connectorId)?.run, last: this.finished.get(connectorId), ...(queued ? { queued } : {}) };
  }

  /** A run of the connector is in progress or waiting to start. */
  isRunning(connectorId: string): boolean {
    return this.active.has(connectorId) || (this.waiting.get(connectorId)?.length ?? 0) > 0;
  }

  /** Runs a sync and returns its result (single-user syncs may wait their turn first). */
  async start(req: StartRequest): Promise<SyncResult> {
    return (await this.claim(req)).done;
  }

  /** Starts a run and answers once it is claimed; its outcome is recorded (and logged), not returned. */
  async startInBackground(req: StartRequest): Promise<ActiveRun> {
    const entry = await this.claim(req);
    entry.done.catch((e) => this.log.error({ connector: req.connector.id, err: errorText(e) }, 'sync run failed'));
    return entry.run;
  }

  /** Asks every active run to stop, turns away the waiting ones, and waits (server shutdown). */
  async stopAll(): Promise<void> {
    for (const [id, queue] of this.waiting) {
      this.waiting.delete(id);
      for (const w of queue) w.refuse(new HttpError(503, 'idsync is shutting down; try the sync again when it is back'));
    }
    const runs = [...this.active.values()];
    for (const r of runs) r.controller.abort();
    await Promise.allSettled(runs.map((r) => r.done));
  }

  /**
   * Gets the run going and waits until the engine has claimed it in the store. The in-process
   * check and claim happen in one synchronous step, so two triggers arriving together cannot
   * both start; a refusal by the store (another process's run) rejects with its CONFLICT (409).
   */
  private async claim(req: StartRequest): Promise<Entry> {
    const deadline = Date.now() + (req.kind === 'user' || req.trigger === 'schedule' ? this.queue.waitMs : 0);
    const entry = this.active.has(req.connector.id) ? await this.waitTurn(req, deadline) : this.begin(req, deadline);
    await entry.claimed;
    return entry;
  }

  /**
   * Queues a single-user sync behind the run in progress, and a scheduled full sync behind a
   * single-user sync (short; the slot is not lost to it). Anything else is refused at once.
   */
  private waitTurn(req: StartRequest, deadline: number): Promise<Entry> {
    const id = req.connector.id;
    const busy = this.active.get(id)!.run;
    const what = busy.kind === 'user' ? `a sync of user ${busy.userRef}` : busy.dryRun ? 'a simulation' : 'a full sync';
    const running = `${what} of connector ${id} is running since ${busy.startedAt} (started by ${busy.trigger})`;
    const queue = this.waiting.get(id) ?? [];
    if (req.kind !== 'user' && !(req.trigger === 'schedule' && busy.kind === 'user')) {
      throw new HttpError(409, `${running}; wait for it to finish and try again (a full sync or simulation is not queued: it is refused while another run of the connector is in progress)`, { running: busy });
    }
    if (queue.length >= this.queue.maxWaiting) {
      throw new HttpError(409, `${running}, and ${queue.length} user syncs are already waiting for it; try again when they have run`, { running: busy, queued: queue.length });
    }
    return new Promise<Entry>((resolve, reject) => {
      const waiter: Waiter = {
        admit: () => {
          clearTimeout(timer);
          resolve(this.begin(req, deadline));
        },
        refuse: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const timer = setTimeout(() => {
        const q = this.waiting.get(id);
        if (q?.includes(waiter)) q.splice(q.indexOf(waiter), 1);
        waiter.refuse(new HttpError(409, `${running}; this ${req.kind === 'user' ? 'user' : 'scheduled'} sync waited ${waitText(this.queue.waitMs)} for it (the longest a user sync waits) and was not started; try again when it has finished`, { running: busy }));
      }, Math.max(0, deadline - Date.now()));
      queue.push(waiter);
      this.waiting.set(id, queue);
    });
  }

  /** Claims the connector in this process (synchronously) and calls the engine. */
  private begin(req: StartRequest, deadline: number): Entry {
    const id = req.connector.id;
    const controller = new AbortController();
    const run: ActiveRun = {
      connectorId: id,
      kind: req.kind,
      dryRun: req.dryRun ?? false,
      trigger: req.trigger,
      ...(req.userRef ? { userRef: req.userRef } : {}),
      startedAt: new Date().toISOString(),
      progress: { phase: 'connecting', read: 0, planned: 0, written: 0, failed: 0 },
    };
    let markClaimed!: (r: RunRecord) => void;
    let refuseClaim!: (e: unknown) => void;
    let wasClaimed = false;
    const claimed = new Promise<RunRecord>((resolve, reject) => {
      markClaimed = (r) => {
        if (!wasClaimed) req.onClaimed?.(r);
        wasClaimed = true;
        resolve(r);
      };
      refuseClaim = reject;
    });
    const syncRequest: SyncRequest = {
      connector: req.connector,
      kind: req.kind,
      ...(req.userRef ? { userRef: req.userRef } : {}),
      ...(req.push ? { push: req.push } : {}),
      dryRun: req.dryRun ?? false,
      trigger: req.trigger,
      signal: controller.signal,
      // What is left of a user sync's wait is spent on another process's run, if one holds the
      // connector. A scheduled full sync does not wait for another instance: the queue holds it
      // back while another job of the connector runs, and only a run started by hand can be there.
      claimWaitMs: req.kind === 'user' ? Math.max(0, deadline - Date.now()) : 0,
      onClaimed: markClaimed,
      onProgress: (p) => {
        run.progress = { ...p };
      },
    };
    const entry: Entry = { run, controller, claimed, done: undefined as unknown as Promise<SyncResult> };
    // Claimed before the engine is called, so even a synchronous failure releases a real claim.
    this.active.set(id, entry);
    entry.done = (async () => {
      await null; // let the caller see the claimed run before any outcome
      try {
        // Fenced: once another process takes this run over, its late writes are refused (run-fence.ts).
        const result = await withRunFence(() => this.engine.run(syncRequest));
        markClaimed(result.run);
        this.finished.set(id, { runId: result.run.id, status: result.run.status, ...(result.run.error ? { error: result.run.error } : {}), finishedAt: new Date().toISOString() });
        return result;
      } catch (e) {
        refuseClaim(e);
        // A run refused before it was claimed never ran: it is no outcome of the connector.
        if (wasClaimed) this.finished.set(id, { status: 'failed', error: errorText(e), finishedAt: new Date().toISOString() });
        throw e;
      } finally {
        this.release(id);
      }
    })();
    entry.done.catch(() => undefined); // the caller sees a refusal through `claimed`
    return entry;
  }

  /** Ends the connector's claim and hands it, in the same step, to the next waiting user sync. */
  private release(id: string): void {
    this.active.delete(id);
    const queue = this.waiting.get(id);
    const next = queue?.shift();
    if (queue && queue.length === 0) this.waiting.delete(id);
    next?.admit();
  }
}
