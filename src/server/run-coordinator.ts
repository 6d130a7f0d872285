// Starts sync runs for the API and the scheduler and makes sure runs of one connector never
// overlap: a second trigger while one runs is refused with a message that says what is running.
// Progress of the active run is kept here for the UI's live view.
import type { ConnectorConfig } from '../config/schema.ts';
import { errorText } from '../core/errors.ts';
import type { SyncProgress, SyncRequest, SyncResult, Trigger } from '../engine/api.ts';
import type { EngineService } from './services.ts';
import { HttpError } from './routes.ts';

export interface ActiveRun {
  connectorId: string;
  kind: 'full' | 'user';
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
  kind: 'full' | 'user';
  dryRun?: boolean;
  userRef?: string;
  trigger: Trigger;
}

export class RunCoordinator {
  private readonly active = new Map<string, { run: ActiveRun; controller: AbortController; done: Promise<SyncResult> }>();
  private readonly finished = new Map<string, FinishedRun>();

  constructor(
    private readonly engine: EngineService,
    private readonly log: { error(obj: unknown, msg?: string): void } = console,
  ) {}

  activity(connectorId: string): { active?: ActiveRun; last?: FinishedRun } {
    return { active: this.active.get(connectorId)?.run, last: this.finished.get(connectorId) };
  }

  isRunning(connectorId: string): boolean {
    return this.active.has(connectorId);
  }

  /**
   * Starts a run and returns its completion. The check and the claim happen in the same
   * synchronous step, so two triggers arriving together cannot both start.
   */
  start(req: StartRequest): Promise<SyncResult> {
    const id = req.connector.id;
    const busy = this.active.get(id)?.run;
    if (busy) {
      const what = busy.kind === 'user' ? `a sync of user ${busy.userRef}` : busy.dryRun ? 'a simulation' : 'a full sync';
      throw new HttpError(409, `${what} of connector ${id} is running since ${busy.startedAt} (started by ${busy.trigger}); wait for it to finish and try again`, {
        running: busy,
      });
    }
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
    const syncRequest: SyncRequest = {
      connector: req.connector,
      kind: req.kind,
      ...(req.userRef ? { userRef: req.userRef } : {}),
      dryRun: req.dryRun ?? false,
      trigger: req.trigger,
      signal: controller.signal,
      onProgress: (p) => {
        run.progress = { ...p };
      },
    };
    const entry = { run, controller, done: undefined as unknown as Promise<SyncResult> };
    // Claimed before the engine is called, so even a synchronous failure releases a real claim.
    this.active.set(id, entry);
    entry.done = (async () => {
      await null; // let the caller see the claimed run before any outcome
      try {
        const result = await this.engine.run(syncRequest);
        this.finished.set(id, { runId: result.run.id, status: result.run.status, ...(result.run.error ? { error: result.run.error } : {}), finishedAt: new Date().toISOString() });
        return result;
      } catch (e) {
        this.finished.set(id, { status: 'failed', error: errorText(e), finishedAt: new Date().toISOString() });
        throw e;
      } finally {
        this.active.delete(id);
      }
    })();
    return entry.done;
  }

  /** Starts a run without waiting; failures are recorded (and logged), not thrown. */
  startInBackground(req: StartRequest): ActiveRun {
    const done = this.start(req);
    const run = this.active.get(req.connector.id)?.run;
    done.catch((e) => this.log.error({ connector: req.connector.id, err: errorText(e) }, 'sync run failed'));
    return run!;
  }

  /** Asks every active run to stop and waits for them (server shutdown). */
  async stopAll(): Promise<void> {
    const runs = [...this.active.values()];
    for (const r of runs) r.controller.abort();
    await Promise.allSettled(runs.map((r) => r.done));
  }
}
