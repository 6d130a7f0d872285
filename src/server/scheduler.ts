// Runs each connector's full sync on its cron schedule (croner, in the schedule's time zone).
// A slot missed while idsync was down is caught up once at start, not once per missed slot:
// the last slot run is remembered per connector, and the catch-up marks "now" as run.
// A slot that comes while a full sync of the connector is still running is skipped (runs never
// overlap); behind a single-user sync it waits its turn.
import { Cron } from 'croner';
import type { Store } from '../store/index.ts';
import type { AuthRepo } from '../store/auth.ts';
import type { StoredConnector } from '../store/connectors.ts';
import { errorText } from '../core/errors.ts';
import type { RunCoordinator } from './run-coordinator.ts';
import { missedSlot, scheduleProblem } from './schedule.ts';

interface Logger {
  info(obj: unknown, msg?: string): void;
  warn(obj: unknown, msg?: string): void;
}

export class Scheduler {
  private readonly jobs = new Map<string, { job: Cron; key: string }>();
  private stopped = false;

  constructor(
    private readonly store: Store,
    private readonly marks: AuthRepo,
    private readonly runs: RunCoordinator,
    private readonly log: Logger,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Starts every schedule and runs once the connectors that missed a slot while down. */
  async start(): Promise<void> {
    const connectors = await this.store.connectors.list();
    for (const c of connectors) {
      const schedule = c.config.schedule;
      if (!schedule?.enabled || scheduleProblem(schedule.cron, schedule.timezone)) continue;
      const since = new Date((await this.marks.lastSlot(c.config.id)) ?? c.createdAt);
      const missed = missedSlot(schedule.cron, schedule.timezone, since, this.now());
      if (missed) {
        this.log.info({ connector: c.config.id, missed: missed.toISOString() }, 'running a scheduled sync missed while idsync was down');
        await this.fire(c, this.now());
      }
    }
    await this.reload(connectors);
  }

  /** Brings the cron jobs in line with the stored connectors (after a save or delete). */
  async reload(connectors?: StoredConnector[]): Promise<void> {
    if (this.stopped) return;
    const list = connectors ?? (await this.store.connectors.list());
    const wanted = new Map<string, StoredConnector>();
    for (const c of list) {
      const s = c.config.schedule;
      if (s?.enabled && !scheduleProblem(s.cron, s.timezone)) wanted.set(c.config.id, c);
    }
    for (const [id, entry] of this.jobs) {
      const c = wanted.get(id);
      if (!c || entry.key !== scheduleKey(c)) {
        entry.job.stop();
        this.jobs.delete(id);
      }
    }
    for (const [id, c] of wanted) {
      if (this.jobs.has(id)) continue;
      const s = c.config.schedule!;
      const job = new Cron(s.cron, { timezone: s.timezone, protect: true }, async (self: Cron) => {
        const fresh = await this.store.connectors.get(id);
        if (fresh) await this.fire(fresh, self.currentRun() ?? this.now());
      });
      this.jobs.set(id, { job, key: scheduleKey(c) });
    }
  }

  /** The next run of a connector's schedule, when it has an active one. */
  nextRun(connectorId: string): Date | undefined {
    return this.jobs.get(connectorId)?.job.nextRun() ?? undefined;
  }

  stop(): void {
    this.stopped = true;
    for (const { job } of this.jobs.values()) job.stop();
    this.jobs.clear();
  }

  private async fire(c: StoredConnector, slot: Date): Promise<void> {
    await this.marks.markSlot(c.config.id, slot.toISOString());
    try {
      // Waits its turn behind a single-user sync; refused while a full sync runs (see RunCoordinator).
      await this.runs.startInBackground({ connector: c.config, kind: 'full', trigger: 'schedule' });
    } catch (e) {
      this.log.warn({ connector: c.config.id, err: errorText(e) }, 'scheduled sync skipped: a run of this connector is still in progress, or it could not start');
    }
  }
}

function scheduleKey(c: StoredConnector): string {
  const s = c.config.schedule!;
  return `${s.cron}|${s.timezone}`;
}
