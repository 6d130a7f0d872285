// Run events across the instances sharing one PostgreSQL store: each instance sends the runs it
// performs (claimed, progress, ended) with NOTIFY, and LISTENs for those of the others, which it
// hands to its own bus (ProgressBus.deliverRemote) so that its event stream carries every run.
//
// - Progress is sent at most once per RELAY_PROGRESS_EVERY_MS per run (the latest one wins); a
//   run's start and end are always sent. Sends go out one after the other, so an instance's
//   events arrive in the order it published them.
// - Each message names the instance that sent it; an instance drops its own (it delivered them to
//   its bus already), so no stream shows an event twice.
// - A message holds only the event's own fields (ids, kind, status, counts, the run's recorded
//   error cut short) — nothing from a connector's configuration — and stays under PostgreSQL's
//   8000-byte NOTIFY limit.
// - A lost LISTEN connection is logged and opened again with a growing delay. Events sent
//   meanwhile are missed, so once listening (at start too), and every RECONCILE_EVERY_MS, the
//   relay resynchronises the bus with the runs table (resync): the other instances' runs in
//   progress, their progress as far as their heartbeats recorded it, and the ends missed.
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { sql } from 'kysely';
import type { Store } from '../store/index.ts';
import type { SyncProgress } from '../engine/api.ts';
import { errorText } from '../core/errors.ts';
import type { RunRecord } from '../store/runs.ts';
import type { ProgressBus, RunEvent, RunProgressed } from './progress-bus.ts';
import { activeOf, finishedOf, furthest, progressOf } from './store-activity.ts';

export const RELAY_PROGRESS_EVERY_MS = 250;
/** PostgreSQL refuses a NOTIFY payload of 8000 bytes or more; this leaves room for the framing. */
export const MAX_PAYLOAD_BYTES = 7900;
/** A run's error as relayed; the full text is in the run record. */
const MAX_ERROR_CHARS = 1000;
const RECONCILE_EVERY_MS = 60_000;
const RECONNECT_FIRST_MS = 500;
const RECONNECT_MAX_MS = 15_000;
const CLOSE_WAIT_MS = 5_000;
/** How far before a lost connection's end the runs ended are looked for. */
const DEAF_MARGIN_MS = 5_000;

interface RelayLog {
  info(obj: unknown, msg?: string): void;
  warn(obj: unknown, msg?: string): void;
  error(obj: unknown, msg?: string): void;
}

export interface RelayOptions {
  progressEveryMs?: number;
  reconcileEveryMs?: number;
}

/** The channel of a store: per schema, so stores in separate schemas of one database stay apart. */
export function channelOf(store: Store): string {
  return store.pgSchema ? `idsync_run_events_${store.pgSchema}` : 'idsync_run_events';
}

export class RunEventRelay {
  /** This process's name on the channel. */
  readonly instanceId = randomUUID();
  private readonly channel: string;
  private readonly progressEveryMs: number;
  private client: pg.Client | undefined;
  private closed = false;
  private reconnectDelay = RECONNECT_FIRST_MS;
  private reconnectTimer: NodeJS.Timeout | undefined;
  /** When the LISTEN connection was lost (the first loss, until listening again). */
  private deafSince: string | undefined;
  private readonly reconcileTimer: NodeJS.Timeout;
  private sending: Promise<void> = Promise.resolve();
  private sendFailing = false;
  /** Per run of this process: when its progress was last sent, and the progress waiting for its turn. */
  private readonly throttle = new Map<string, { sentAt: number; pending?: RunProgressed; timer?: NodeJS.Timeout }>();
  /** Runs this process performs now: they end through its engine, never through reconcile(). */
  private readonly local = new Set<string>();
  private readonly unsubscribe: () => void;

  private constructor(
    private readonly store: Store,
    private readonly bus: ProgressBus,
    private readonly log: RelayLog,
    opts: RelayOptions,
  ) {
    this.channel = channelOf(store);
    this.progressEveryMs = opts.progressEveryMs ?? RELAY_PROGRESS_EVERY_MS;
    this.unsubscribe = bus.subscribe((e) => this.onLocal(e), { localOnly: true });
    this.reconcileTimer = setInterval(() => void this.resync(), opts.reconcileEveryMs ?? RECONCILE_EVERY_MS);
    this.reconcileTimer.unref();
  }

  /** Starts relaying; a first LISTEN that fails is logged and tried again like a lost one. */
  static async start(store: Store, bus: ProgressBus, log: RelayLog, opts: RelayOptions = {}): Promise<RunEventRelay> {
    const relay = new RunEventRelay(store, bus, log, opts);
    await relay.listen(false);
    return relay;
  }

  /** The server process of the LISTEN connection (tests cut it with pg_terminate_backend). */
  get listenerPid(): number | undefined {
    return (this.client as unknown as { processID?: number } | undefined)?.processID;
  }

  get listening(): boolean {
    return this.client !== undefined;
  }

  /** Sends what is queued (a run's end included), then stops listening. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    clearInterval(this.reconcileTimer);
    clearTimeout(this.reconnectTimer);
    for (const t of this.throttle.values()) clearTimeout(t.timer);
    this.throttle.clear();
    // A database that no longer answers must not hold up the shutdown.
    await Promise.race([this.sending, new Promise((r) => setTimeout(r, CLOSE_WAIT_MS).unref())]);
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => undefined);
  }

  private onLocal(e: RunEvent): void {
    if (e.type === 'run-progress') return this.throttled(e);
    const t = this.throttle.get(e.runId);
    clearTimeout(t?.timer);
    // A run's end carries its final counts: progress still waiting is not worth sending.
    if (e.type === 'run-finished') {
      this.throttle.delete(e.runId);
      this.local.delete(e.runId);
    } else {
      this.throttle.set(e.runId, { sentAt: 0 });
      this.local.add(e.runId);
    }
    this.send(e);
  }

  private throttled(e: RunProgressed): void {
    const t = this.throttle.get(e.runId) ?? { sentAt: 0 };
    this.throttle.set(e.runId, t);
    const wait = t.sentAt + this.progressEveryMs - Date.now();
    if (wait <= 0) {
      // Its turn came before the timer for an older one fired: that older one is dropped.
      clearTimeout(t.timer);
      t.timer = undefined;
      t.pending = undefined;
      t.sentAt = Date.now();
      this.send(e);
      return;
    }
    t.pending = e;
    t.timer ??= setTimeout(() => {
      t.timer = undefined;
      const p = t.pending;
      t.pending = undefined;
      if (!p || this.throttle.get(e.runId) !== t) return;
      t.sentAt = Date.now();
      this.send(p);
    }, wait);
    t.timer.unref();
  }

  private send(e: RunEvent): void {
    if (this.closed) return;
    const payload = encode(this.instanceId, e);
    if (!payload) {
      this.log.warn({ connectorId: e.connectorId, runId: e.runId, type: e.type }, 'run event too large to relay to the other instances');
      return;
    }
    // One after the other: NOTIFYs on different pooled connections could otherwise arrive out of order.
    this.sending = this.sending.then(async () => {
      try {
        await sql`SELECT pg_notify(${this.channel}, ${payload})`.execute(this.store.db);
        if (this.sendFailing) this.log.info({}, 'run events: relaying to the other instances again');
        this.sendFailing = false;
      } catch (err) {
        // Once per outage, not once per progress report.
        if (!this.sendFailing) this.log.warn({ err: errorText(err), runId: e.runId, type: e.type }, 'run events: could not relay to the other instances (they do not see this instance\'s runs live until it works again)');
        this.sendFailing = true;
      }
    });
  }

  private async listen(reconnecting: boolean): Promise<void> {
    if (this.closed) return;
    const client = await this.store.dedicatedConnection();
    let lost = false;
    const onLost = (err?: unknown) => {
      if (lost) return;
      lost = true;
      this.deafSince ??= new Date().toISOString();
      void client.end().catch(() => undefined);
      if (this.client === client) this.client = undefined;
      if (this.closed) return;
      this.log.warn({ ...(err ? { err: errorText(err) } : {}), retryInMs: this.reconnectDelay }, 'run events: the LISTEN connection to PostgreSQL was lost; reconnecting (other instances\' runs are not live meanwhile)');
      this.retry();
    };
    client.on('error', onLost);
    client.on('end', () => onLost());
    client.on('notification', (m) => {
      if (m.channel === this.channel && m.payload) this.receive(m.payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN "${this.channel.replace(/"/g, '')}"`);
    } catch (err) {
      if (!lost) onLost(err);
      return;
    }
    if (lost || this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.reconnectDelay = RECONNECT_FIRST_MS;
    const since = this.deafSince;
    this.deafSince = undefined;
    if (reconnecting) this.log.info({ channel: this.channel }, 'run events: listening to PostgreSQL again');
    // What was missed: on start, the runs the other instances began before; after a cut, what
    // happened meanwhile (a margin before the cut: a NOTIFY sent just before may not have come).
    await this.resync(since ? new Date(Date.parse(since) - DEAF_MARGIN_MS).toISOString() : undefined);
  }

  private retry(): void {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => void this.listen(true), this.reconnectDelay);
    this.reconnectTimer.unref();
    this.reconnectDelay = Math.min(this.reconnectDelay * 2, RECONNECT_MAX_MS);
  }

  private receive(payload: string): void {
    const m = decode(payload);
    if (!m) {
      this.log.warn({ channel: this.channel }, 'run events: ignored a message that is not a run event');
      return;
    }
    if (m.from === this.instanceId) return;
    this.bus.deliverRemote(m.event);
  }

  /**
   * Brings the bus in step with the runs table, for the runs of the other instances: what it
   * could not hear (before this process listened, or while its LISTEN connection was down) is
   * published from the records, so every connected stream converges on what the store knows:
   *
   * - a run the bus shows in progress that has ended gets its run-finished (an instance that died
   *   mid-run included: its run is failed by the dead-run reaper);
   * - with `since` (the moment listening stopped), each run that ended from then on, begun or not
   *   in the bus's sight, gets its run-finished, in the order they ended;
   * - a run in progress the bus does not know gets its run-started, and one it knows gets a
   *   run-progress when its record's counts (its owner's heartbeat) are further than what the
   *   bus last heard.
   *
   * Everything is read first and published after, in one go, each event checked against the
   * bus as it is then: a live event heard while the store was read is never undone.
   */
  private async resync(since?: string): Promise<void> {
    let running: RunRecord[];
    let ended: RunRecord[];
    const gone = new Map<string, RunRecord | undefined>();
    try {
      running = await this.store.runs.inProgress();
      ended = since ? await this.store.runs.endedSince(since) : [];
      const runningIds = new Set(running.map((r) => r.id));
      const endedIds = new Set(ended.map((r) => r.id));
      for (const c of this.bus.snapshot()) {
        const a = c.active;
        if (a && !this.local.has(a.runId) && !runningIds.has(a.runId) && !endedIds.has(a.runId)) gone.set(a.runId, await this.store.runs.get(a.runId));
      }
    } catch (err) {
      this.log.warn({ err: errorText(err) }, 'run events: could not read the runs of the other instances from the store (trying again shortly)');
      return;
    }
    const now = () => new Map(this.bus.snapshot().map((c) => [c.connectorId, c]));
    for (const [runId, r] of gone) {
      const c = [...now().values()].find((x) => x.active?.runId === runId);
      if (!c?.active) continue;
      const a = c.active;
      this.bus.deliverRemote(r ? finishedOf(r, MAX_ERROR_CHARS) : { type: 'run-finished', connectorId: c.connectorId, runId, kind: a.kind, dryRun: a.dryRun, status: 'failed', finishedAt: new Date().toISOString(), error: 'the run record is gone' });
    }
    for (const r of ended) {
      const c = now().get(r.connectorId);
      if (this.local.has(r.id) || c?.last?.runId === r.id) continue;
      // An end older than the last one the bus knows of this connector is history, not news.
      if (c?.last && c.active?.runId !== r.id && c.last.finishedAt > (r.finishedAt ?? '')) continue;
      this.bus.deliverRemote(finishedOf(r, MAX_ERROR_CHARS));
    }
    for (const r of running) {
      if (this.local.has(r.id)) continue;
      const c = now().get(r.connectorId);
      if (c?.last?.runId === r.id) continue; // its end was heard while the store was read
      if (c?.active?.runId !== r.id) {
        const { runId, ...active } = activeOf(r);
        this.bus.deliverRemote({ type: 'run-started', ...active, runId });
        continue;
      }
      const further = furthest(c.active.progress, progressOf(r));
      if (JSON.stringify(further) !== JSON.stringify(c.active.progress)) this.bus.deliverRemote({ type: 'run-progress', connectorId: r.connectorId, runId: r.id, progress: further });
    }
  }
}

/** What goes on the channel: the sender and the event, its known fields only. */
interface Message {
  from: string;
  event: RunEvent;
}

function cut(s: string): string {
  return s.length > MAX_ERROR_CHARS ? `${s.slice(0, MAX_ERROR_CHARS)}…` : s;
}

/** The message as sent; without its free text (error, user) when too large with it; undefined when even that does not fit. */
export function encode(from: string, e: RunEvent): string | undefined {
  const event = pick(e);
  for (const candidate of [event, withoutFreeText(event)]) {
    const text = JSON.stringify({ v: 1, from, event: candidate });
    if (Buffer.byteLength(text) <= MAX_PAYLOAD_BYTES) return text;
  }
  return undefined;
}

function withoutFreeText(e: RunEvent): RunEvent {
  const { error: _error, userRef: _userRef, ...rest } = e as RunEvent & { error?: string; userRef?: string };
  return rest as RunEvent;
}

/** The event with only the fields a run event has, the error cut short; so nothing else ever travels. */
function pick(e: RunEvent): RunEvent {
  const progress = (p: SyncProgress): SyncProgress => ({ phase: p.phase, read: p.read, planned: p.planned, written: p.written, failed: p.failed });
  const base = { connectorId: e.connectorId, runId: e.runId };
  if (e.type === 'run-progress') return { type: e.type, ...base, progress: progress(e.progress) };
  if (e.type === 'run-started') {
    return { type: e.type, ...base, kind: e.kind, dryRun: e.dryRun, trigger: e.trigger, ...(e.userRef ? { userRef: e.userRef } : {}), startedAt: e.startedAt, progress: progress(e.progress) };
  }
  return { type: e.type, ...base, kind: e.kind, dryRun: e.dryRun, status: e.status, ...(e.error ? { error: cut(e.error) } : {}), finishedAt: e.finishedAt, ...(e.counts ? { counts: e.counts } : {}) };
}

/** A message from the channel, checked for the shape of a run event; undefined when it is not one. */
export function decode(payload: string): Message | undefined {
  let v: unknown;
  try {
    v = JSON.parse(payload);
  } catch {
    return undefined;
  }
  if (!isObj(v) || v.v !== 1 || typeof v.from !== 'string' || !isObj(v.event)) return undefined;
  const e = v.event;
  if (typeof e.connectorId !== 'string' || typeof e.runId !== 'string') return undefined;
  const ok =
    (e.type === 'run-progress' && isObj(e.progress)) ||
    (e.type === 'run-started' && typeof e.kind === 'string' && typeof e.startedAt === 'string' && isObj(e.progress)) ||
    (e.type === 'run-finished' && typeof e.kind === 'string' && typeof e.status === 'string' && typeof e.finishedAt === 'string');
  return ok ? { from: v.from, event: e as unknown as RunEvent } : undefined;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
