// Turns each connector's schedules into jobs (src/jobs): the cron full sync (croner, in the
// schedule's time zone) and, where the source type has a change feed, an incremental sync every
// `schedule.incremental`. Every idsync process sharing the store runs this; each slot is claimed
// in the store (src/jobs/slots.ts) and enqueued only by the process that won it, so a slot runs
// once whatever the number of processes. The queue keeps runs of a connector from overlapping:
// a slot that finds a run going waits behind it once (one job waits at most), and a slot that
// finds one already waiting is skipped with a log line.
// A cron slot missed while idsync was down is caught up once at start, not once per missed slot:
// the last slot run is remembered per connector, and the catch-up marks "now" as run.
import { Cron } from 'croner';
import type { Store } from '../store/index.ts';
import type { AuthRepo } from '../store/auth.ts';
import type { StoredConnector } from '../store/connectors.ts';
import { errorText } from '../core/errors.ts';
import { laneOf, type JobQueue } from '../jobs/types.ts';
import { busyText } from '../jobs/busy.ts';
import { SlotClaims, type SlotKind } from '../jobs/slots.ts';
import { incrementalProblem, intervalMs, intervalSlot, missedSlot, scheduleProblem } from './schedule.ts';

interface Logger {
  info(obj: unknown, msg?: string): void;
  warn(obj: unknown, msg?: string): void;
}

/** Whether a source type can be read incrementally (SourceDefinition.changeFeed). */
export type ChangeFeedCheck = (sourceType: string) => Promise<boolean>;

const defaultChangeFeed: ChangeFeedCheck = async (type) => {
  const { sourceDefinition } = await import('../sources/registry.ts');
  return (await sourceDefinition(type)).changeFeed === true;
};

/** Slot claims older than this are dropped at start; they only have to outlive their slot. */
const SLOT_RETENTION_MS = 7 * 86_400_000;

interface Timers {
  cron?: Cron;
  incremental?: { timer: NodeJS.Timeout; next: Date };
  key: string;
}

export class Scheduler {
  private readonly timers = new Map<string, Timers>();
  private readonly slots: SlotClaims;
  private stopped = false;

  constructor(
    private readonly store: Store,
    private readonly marks: AuthRepo,
    private readonly jobs: JobQueue,
    private readonly log: Logger,
    private readonly now: () => Date = () => new Date(),
    private readonly changeFeed: ChangeFeedCheck = defaultChangeFeed,
  ) {
    this.slots = new SlotClaims(store.db);
  }

  /** Starts every schedule and runs once the connectors that missed a cron slot while down. */
  async start(): Promise<void> {
    this.stopped = false;
    await this.slots.prune(new Date(this.now().getTime() - SLOT_RETENTION_MS));
    const connectors = await this.store.connectors.list();
    for (const c of connectors) {
      const schedule = c.config.schedule;
      if (!schedule?.enabled || scheduleProblem(schedule.cron, schedule.timezone)) continue;
      const since = new Date((await this.marks.lastSlot(c.config.id)) ?? c.createdAt);
      const missed = missedSlot(schedule.cron, schedule.timezone, since, this.now());
      if (missed) {
        // The missed slot itself is claimed (every process starting computes the same one), and
        // "now" is remembered as run, so the catch-up happens once, on one process.
        if (await this.fire(c, 'full', missed, this.now())) {
          this.log.info({ connector: c.config.id, missed: missed.toISOString() }, 'running a scheduled sync missed while idsync was down');
        }
      }
    }
    await this.reload(connectors);
  }

  /** Brings the timers in line with the stored connectors (after a save or delete). */
  async reload(connectors?: StoredConnector[]): Promise<void> {
    if (this.stopped) return;
    const list = connectors ?? (await this.store.connectors.list());
    const wanted = new Map<string, { c: StoredConnector; incremental?: number }>();
    for (const c of list) {
      const s = c.config.schedule;
      if (!s?.enabled) continue;
      const cron = !scheduleProblem(s.cron, s.timezone);
      const every = s.incremental && !incrementalProblem(s.incremental) && (await this.changeFeed(c.config.source.type)) ? intervalMs(s.incremental) : undefined;
      if (cron || every) wanted.set(c.config.id, { c, ...(every ? { incremental: every } : {}) });
    }
    for (const [id, t] of this.timers) {
      const w = wanted.get(id);
      if (!w || t.key !== keyOf(w.c, w.incremental)) this.clear(id);
    }
    for (const [id, { c, incremental }] of wanted) {
      if (this.timers.has(id)) continue;
      const s = c.config.schedule!;
      const t: Timers = { key: keyOf(c, incremental) };
      if (!scheduleProblem(s.cron, s.timezone)) {
        t.cron = new Cron(s.cron, { timezone: s.timezone, protect: true }, async (self: Cron) => {
          const fresh = await this.store.connectors.get(id);
          const slot = self.currentRun() ?? this.now();
          if (fresh) await this.fire(fresh, 'full', slot, slot);
        });
      }
      this.timers.set(id, t);
      if (incremental) this.armIncremental(id, incremental);
    }
  }

  /** The next full sync of a connector's cron schedule, when it has an active one. */
  nextRun(connectorId: string): Date | undefined {
    return this.timers.get(connectorId)?.cron?.nextRun() ?? undefined;
  }

  /** The next incremental slot of a connector, when its source has a change feed and the interval is on. */
  nextIncremental(connectorId: string): Date | undefined {
    return this.timers.get(connectorId)?.incremental?.next;
  }

  stop(): void {
    this.stopped = true;
    for (const id of [...this.timers.keys()]) this.clear(id);
  }

  private clear(id: string): void {
    const t = this.timers.get(id);
    t?.cron?.stop();
    if (t?.incremental) clearTimeout(t.incremental.timer);
    this.timers.delete(id);
  }

  /** Arms the timer for the connector's next incremental slot (aligned to the epoch, see intervalSlot). */
  private armIncremental(id: string, every: number): void {
    const t = this.timers.get(id);
    if (!t || this.stopped) return;
    const next = new Date(intervalSlot(every, this.now()).getTime() + every);
    const timer = setTimeout(async () => {
      try {
        const fresh = await this.store.connectors.get(id);
        if (fresh) await this.fire(fresh, 'incremental', next, next);
      } catch (e) {
        this.log.warn({ connector: id, err: errorText(e) }, 'incremental sync slot could not be claimed');
      } finally {
        this.armIncremental(id, every);
      }
    }, Math.max(0, next.getTime() - this.now().getTime()));
    timer.unref();
    t.incremental = { timer, next };
  }

  /**
   * Claims the slot and, when this process won it, enqueues its job. Returns whether it did.
   * `ranAt` is what is remembered as the last cron slot run.
   */
  private async fire(c: StoredConnector, kind: SlotKind, slot: Date, ranAt: Date): Promise<boolean> {
    const id = c.config.id;
    if (!(await this.slots.claim(id, kind, slot))) return false;
    if (kind === 'full') await this.marks.markSlot(id, ranAt.toISOString());
    try {
      // A slot that finds a full run going (of any process) is skipped: its sync would only
      // repeat that one. Behind a request (a single-user sync, an approval) it waits its turn.
      const busy = await this.store.runs.active(id);
      if (busy && laneOf(busy) === 'runs') {
        this.log.warn({ connector: id, kind, slot: slot.toISOString() }, `scheduled ${kind} sync skipped: ${busyText(busy)} (runs of a connector never overlap)`);
        return true;
      }
      const queued = await this.jobs.enqueue({ connectorId: id, kind, trigger: 'schedule', slot: slot.toISOString() });
      if (!queued.queued) this.log.warn({ connector: id, kind, slot: slot.toISOString() }, `scheduled ${kind} sync skipped: ${queued.reason} (runs of a connector never overlap)`);
    } catch (e) {
      this.log.warn({ connector: id, kind, slot: slot.toISOString(), err: errorText(e) }, `scheduled ${kind} sync skipped: it could not be queued`);
    }
    return true;
  }
}

function keyOf(c: StoredConnector, incremental: number | undefined): string {
  const s = c.config.schedule!;
  return `${s.cron}|${s.timezone}|${incremental ?? ''}|${c.config.source.type}`;
}
