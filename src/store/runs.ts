// Run history and per-user run items (what changed, from what to what).
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';
import type { Database as SQLiteDatabase, Statement as SQLiteStatement } from 'better-sqlite3';
import { IdsyncError } from '../core/errors.ts';
import { describeOwner, ownerState, thisProcess, type RunOwner } from './run-owner.ts';
import { assertRunOwner, assertRunOwnerSync, fenceClaimed, fencedRun, staleRunError } from './run-fence.ts';
import { containsPattern } from './search-text.ts';
import type { FieldChange, ItemOperation, RunCounts, RunKind, RunStatus } from '../core/types.ts';

export interface RunRecord {
  id: string;
  connectorId: string;
  kind: RunKind;
  dryRun: boolean;
  reconcile: boolean;
  trigger: string;
  status: RunStatus;
  userRef: string | null;
  startedAt: string;
  finishedAt: string | null;
  counts: RunCounts;
  error: string | null;
  /** What the run says beside its status, e.g. that it fell back to a full read. */
  notice?: string | null;
  /** Set when the run held back its cleanup for an administrator (src/store/quarantine.ts). */
  quarantine?: QuarantineSummary | null;
}

/** What a run says of the cleanup it quarantined. */
export interface QuarantineSummary {
  id: string;
  /** empty-read | read-drop | threshold */
  reason: string;
  message: string;
  /** Users (per target) the cleanup would have touched. */
  affected: number;
}

export interface RunItem {
  seq: number;
  sourceId: string | null;
  label: string | null;
  targetId: string | null;
  operation: ItemOperation;
  error: string | null;
  changes: FieldChange[];
  details: Record<string, unknown> | null;
}

export interface ItemQuery {
  operation?: ItemOperation | ItemOperation[];
  targetId?: string;
  /** Matches label or source id, case-insensitively. */
  search?: string;
  offset?: number;
  limit?: number;
}

/** How often a running run proves it is alive, and after how long without a sign it counts as dead. */
export const HEARTBEAT_MS = 15_000;
export const STALE_AFTER_MS = 120_000;

export const emptyCounts = (): RunCounts => ({ read: 0, created: 0, updated: 0, unchanged: 0, failed: 0, skipped: 0, missing: 0, usersWritten: 0, writes: 0 });

/** Counts as stored: runs recorded before `usersWritten` existed have only its old name, `writes`. */
export function countsFromJson(text: string): RunCounts {
  const counts = JSON.parse(text) as RunCounts;
  counts.usersWritten ??= counts.writes ?? 0;
  for (const t of Object.values(counts.targets ?? {})) t.usersWritten ??= t.writes ?? 0;
  return counts;
}

/**
 * Users an item query would cover that the run counted without listing them (unchanged users of
 * a run that projects everyone, src/engine/journal.ts): 0 unless the query admits `unchanged`.
 * A search cannot match them (they have no item), so it does not narrow this number.
 */
export function unlistedOf(counts: RunCounts, query: Pick<ItemQuery, 'operation' | 'targetId'> = {}): number {
  const ops = query.operation === undefined ? undefined : Array.isArray(query.operation) ? query.operation : [query.operation];
  if (ops && ops.length > 0 && !ops.includes('unchanged')) return 0;
  return (query.targetId !== undefined ? counts.targets?.[query.targetId]?.unchangedUnlisted : counts.unchangedUnlisted) ?? 0;
}

/** Time-sortable, unguessable run id. */
export function newRunId(now = Date.now()): string {
  return `${now.toString(36).padStart(9, '0')}-${randomBytes(4).toString('hex')}`;
}

export class RunRepo {
  private insertItem?: SQLiteStatement;
  private readOwner?: SQLiteStatement;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: 'sqlite' | 'postgres',
    /** The SQLite handle itself, for journaling in bulk without building SQL per batch. */
    private readonly sqlite?: SQLiteDatabase,
  ) {}

  /**
   * Starts a run. At most one run per connector is `running` at a time, across every idsync
   * process sharing this store (a unique index enforces it). A running run found dead first is
   * marked failed (see failDead), so a crash cannot block a connector.
   */
  async create(r: Omit<RunRecord, 'finishedAt' | 'counts' | 'error' | 'status'>): Promise<RunRecord> {
    const rec: RunRecord = { ...r, status: 'running', finishedAt: null, counts: emptyCounts(), error: null };
    await this.failStale(r.connectorId);
    try {
      await this.insert(rec);
    } catch (e) {
      if (!isUniqueViolation(e)) throw e;
      const other = await this.running(r.connectorId);
      const owner = other ? ownerOf(other) : undefined;
      const alive = owner && ownerState(owner) === 'alive' && isStale(other!, Date.now() - STALE_AFTER_MS) ? `, alive but silent since ${other!.heartbeat_at}` : '';
      throw new IdsyncError(
        'CONFLICT',
        `a sync of connector ${r.connectorId} is already running${other ? ` (run ${other.id}, ${other.kind === 'user' ? `user ${other.user_ref}, ` : ''}started ${other.started_at} by ${describeOwner(owner!)}${alive})` : ''}`,
        { hint: 'wait for it to finish; runs of one connector never overlap, also across idsync processes' },
      );
    }
    fenceClaimed(rec.id);
    return rec;
  }

  /** Proves the run is alive (and publishes its counts to other processes). */
  async heartbeat(id: string, counts: RunCounts): Promise<void> {
    await this.db.updateTable('runs').set({ heartbeat_at: new Date().toISOString(), counts: JSON.stringify(counts) }).where('id', '=', id).where('status', '=', 'running').execute();
  }

  /** Marks failed the running runs of a connector (or of all) that are dead; see failDead. */
  async failStale(connectorId?: string, now = Date.now()): Promise<number> {
    return (await this.reapDead(connectorId, now)).length;
  }

  /**
   * Marks failed the dead running runs (see failDead) and says which they were, with the queue
   * job each did, so that the job can be handed to another process (src/jobs/runner.ts).
   */
  async reapDead(connectorId?: string, now = Date.now()): Promise<Array<{ id: string; connectorId: string; jobId: string | null }>> {
    return this.failDead({ connectorId, silentFor: STALE_AFTER_MS, message: 'interrupted: the idsync process running it stopped', now });
  }

  /**
   * Runs left "running" by a process that died, marked failed at start-up. Only runs whose
   * process is gone from this machine, or silent for as long as any process waits before taking
   * a run for dead (STALE_AFTER_MS): another idsync sharing the database may be running one
   * right now, and a process starting up knows no more about it than one that has been running.
   */
  async failInterrupted(message: string, now = Date.now()): Promise<number> {
    return (await this.failDead({ silentFor: STALE_AFTER_MS, message, now })).length;
  }

  /** Records the queue job a run does (right after its claim). */
  async setJob(runId: string, jobId: string): Promise<void> {
    await this.db.updateTable('runs').set({ job_id: jobId }).where('id', '=', runId).execute();
  }

  /** The runs a queue job did, oldest first (a job handed on after a crash has several). */
  async ofJob(jobId: string): Promise<Array<RunRecord & { ownerPid: number | null }>> {
    const rows = await this.db.selectFrom('runs').selectAll().where('job_id', '=', jobId).orderBy('started_at').orderBy('id').execute();
    return rows.map((r) => ({ ...runFromRow(r), ownerPid: r.owner_pid }));
  }

  /** The running run of a connector, whichever process runs it (dead ones are cleared first). */
  async active(connectorId: string): Promise<(RunRecord & { owner: string; jobId: string | null }) | undefined> {
    await this.failStale(connectorId);
    const row = await this.running(connectorId);
    return row ? { ...runFromRow(row), owner: describeOwner(ownerOf(row)), jobId: row.job_id ?? null } : undefined;
  }

  /**
   * A running run is dead when its process is gone from this machine (known at once), or when
   * it sent no heartbeat for `silentFor` and its process is not seen alive here (a run of
   * another machine or container). A process that is alive on this machine keeps its run even
   * when silent: it may be blocked, and would go on writing once it wakes.
   */
  private async failDead(o: { connectorId?: string; silentFor: number; message: string; now: number }): Promise<Array<{ id: string; connectorId: string; jobId: string | null }>> {
    let q = this.db.selectFrom('runs').selectAll().where('status', '=', 'running');
    if (o.connectorId) q = q.where('connector_id', '=', o.connectorId);
    const finishedAt = new Date(o.now).toISOString();
    const failed: Array<{ id: string; connectorId: string; jobId: string | null }> = [];
    for (const row of await q.execute()) {
      const owner = ownerOf(row);
      const state = ownerState(owner);
      let error: string;
      if (state === 'gone') error = `interrupted: the process that ran it (${describeOwner(owner)}) is gone`;
      else if (state !== 'alive' && isStale(row, o.now - o.silentFor)) error = `${o.message} (${describeOwner(owner)}, no heartbeat since ${row.heartbeat_at ?? row.started_at})`;
      else continue;
      // Only if it is still the same silent run: a heartbeat in between proves it alive.
      let u = this.db.updateTable('runs').set({ status: 'failed', error, finished_at: finishedAt }).where('id', '=', row.id).where('status', '=', 'running');
      if (state !== 'gone') u = row.heartbeat_at === null ? u.where('heartbeat_at', 'is', null) : u.where('heartbeat_at', '=', row.heartbeat_at);
      if (Number((await u.executeTakeFirst()).numUpdatedRows) > 0) failed.push({ id: row.id, connectorId: row.connector_id, jobId: row.job_id ?? null });
    }
    return failed;
  }

  private async running(connectorId: string): Promise<Database['runs'] | undefined> {
    return this.db.selectFrom('runs').selectAll().where('connector_id', '=', connectorId).where('status', '=', 'running').executeTakeFirst();
  }

  private async insert(rec: RunRecord): Promise<void> {
    await this.db
      .insertInto('runs')
      .values({
        id: rec.id,
        connector_id: rec.connectorId,
        kind: rec.kind,
        dry_run: rec.dryRun ? 1 : 0,
        reconcile: rec.reconcile ? 1 : 0,
        trigger: rec.trigger,
        status: rec.status,
        user_ref: rec.userRef,
        started_at: rec.startedAt,
        finished_at: null,
        counts: JSON.stringify(rec.counts),
        error: null,
        heartbeat_at: rec.startedAt,
        job_id: null,
        ...ownerColumns(thisProcess()),
      })
      .execute();
  }

  async update(id: string, patch: Partial<Pick<RunRecord, 'status' | 'finishedAt' | 'counts' | 'error' | 'notice' | 'quarantine'>>): Promise<void> {
    const set: Partial<Database['runs']> = {};
    if (patch.status) set.status = patch.status;
    if (patch.finishedAt !== undefined) set.finished_at = patch.finishedAt;
    if (patch.counts) set.counts = JSON.stringify(patch.counts);
    if (patch.error !== undefined) set.error = patch.error;
    if (patch.notice !== undefined) set.notice = patch.notice;
    if (patch.quarantine !== undefined) set.quarantine = patch.quarantine ? JSON.stringify(patch.quarantine) : null;
    // The fenced run's own outcome: only while it still runs here (a run another process took
    // for dead and marked failed keeps that verdict; its job was done again by another run).
    if (fencedRun() === id) {
      const done = await this.db.updateTable('runs').set(set).where('id', '=', id).where('status', '=', 'running').where('owner_token', '=', thisProcess().token).executeTakeFirst();
      if (Number(done.numUpdatedRows) === 0) throw staleRunError(id, 'it was marked finished by another process');
      return;
    }
    await this.db.updateTable('runs').set(set).where('id', '=', id).execute();
  }

  async get(id: string): Promise<RunRecord | undefined> {
    const r = await this.db.selectFrom('runs').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? runFromRow(r) : undefined;
  }

  /** Every running run, of every connector and process, oldest first (what the live view shows whoever runs them). */
  async inProgress(connectorId?: string): Promise<RunRecord[]> {
    let q = this.db.selectFrom('runs').selectAll().where('status', '=', 'running');
    if (connectorId) q = q.where('connector_id', '=', connectorId);
    return (await q.orderBy('started_at').orderBy('id').execute()).map(runFromRow);
  }

  /** Runs that ended at or after `since` (ISO time), in the order they ended. */
  async endedSince(since: string): Promise<RunRecord[]> {
    const rows = await this.db.selectFrom('runs').selectAll().where('status', '!=', 'running').where('finished_at', '>=', since).orderBy('finished_at').orderBy('id').execute();
    return rows.map(runFromRow);
  }

  async list(opts: { connectorId?: string; limit?: number; offset?: number } = {}): Promise<RunRecord[]> {
    let q = this.db.selectFrom('runs').selectAll();
    if (opts.connectorId) q = q.where('connector_id', '=', opts.connectorId);
    const rows = await q.orderBy('started_at', 'desc').orderBy('id', 'desc').limit(opts.limit ?? 50).offset(opts.offset ?? 0).execute();
    return rows.map(runFromRow);
  }

  async addItems(runId: string, items: RunItem[]): Promise<void> {
    if (items.length === 0) return;
    const sqlite = this.sqlite;
    if (sqlite) {
      // A large run journals a row per user: one prepared statement in one transaction is several
      // times cheaper than SQL text built per batch. Holding Kysely's connection keeps this out
      // of any Kysely transaction in flight on the same handle.
      await this.db.connection().execute(async () => {
        const owner = (this.readOwner ??= sqlite.prepare('SELECT status, owner_token FROM runs WHERE id = ?'));
        const insert = (this.insertItem ??= sqlite.prepare(
          'INSERT INTO run_items (run_id, seq, source_id, label, target_id, operation, error, changes, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
        ));
        sqlite.transaction((rows: RunItem[]) => {
          assertRunOwnerSync((id) => owner.get(id) as { status: string; owner_token: string | null } | undefined);
          for (const it of rows) insert.run(runId, it.seq, it.sourceId, it.label, it.targetId, it.operation, it.error, it.changes.length ? JSON.stringify(it.changes) : null, it.details ? JSON.stringify(it.details) : null);
        })(items);
      });
      return;
    }
    await this.db.transaction().execute(async (trx) => {
      await assertRunOwner(trx, this.dialect);
      await insertRunItems(trx, runId, items);
    });
  }

  async items(runId: string, query: ItemQuery = {}): Promise<{ total: number; items: RunItem[] }> {
    let q = this.db.selectFrom('run_items').where('run_id', '=', runId);
    if (query.operation) q = q.where('operation', 'in', Array.isArray(query.operation) ? query.operation : [query.operation]);
    if (query.targetId) q = q.where('target_id', '=', query.targetId);
    if (query.search) {
      const like = containsPattern(query.search);
      const op = this.dialect === 'postgres' ? 'ilike' : 'like';
      q = q.where((eb) => eb.or([eb('label', op, like), eb('source_id', op, like)]));
    }
    const total = Number((await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    const rows = await q.selectAll().orderBy('seq').limit(query.limit ?? 100).offset(query.offset ?? 0).execute();
    return {
      total,
      items: rows.map((r) => ({
        seq: r.seq,
        sourceId: r.source_id,
        label: r.label,
        targetId: r.target_id,
        operation: r.operation as ItemOperation,
        error: r.error,
        changes: r.changes ? JSON.parse(r.changes) : [],
        details: r.details ? JSON.parse(r.details) : null,
      })),
    };
  }
}

/** Inserts run items through Kysely; `db` may be a transaction another repository shares (see IntentRepo.settle). */
export async function insertRunItems(db: Kysely<Database>, runId: string, items: RunItem[]): Promise<void> {
  for (let i = 0; i < items.length; i += 500) {
    await db
      .insertInto('run_items')
      .values(
        items.slice(i, i + 500).map((it) => ({
          run_id: runId,
          seq: it.seq,
          source_id: it.sourceId,
          label: it.label,
          target_id: it.targetId,
          operation: it.operation,
          error: it.error,
          changes: it.changes.length ? JSON.stringify(it.changes) : null,
          details: it.details ? JSON.stringify(it.details) : null,
        })),
      )
      .execute();
  }
}

function runFromRow(r: Database['runs']): RunRecord {
  return {
    id: r.id,
    connectorId: r.connector_id,
    kind: r.kind as RunKind,
    dryRun: r.dry_run === 1,
    reconcile: r.reconcile === 1,
    trigger: r.trigger,
    status: r.status as RunStatus,
    userRef: r.user_ref,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    counts: countsFromJson(r.counts),
    error: r.error,
    notice: r.notice ?? null,
    quarantine: r.quarantine ? (JSON.parse(r.quarantine) as QuarantineSummary) : null,
  };
}

function ownerColumns(o: RunOwner) {
  return { owner_host: o.host, owner_pid: o.pid, owner_token: o.token, owner_pid_space: o.pidSpace, owner_start_ticks: o.startTicks };
}

function ownerOf(r: Database['runs']): Partial<RunOwner> {
  return { host: r.owner_host ?? undefined, pid: r.owner_pid ?? undefined, token: r.owner_token ?? undefined, pidSpace: r.owner_pid_space ?? undefined, startTicks: r.owner_start_ticks };
}

/** No sign of life since `cutoff` (a run of an older idsync may have no heartbeat at all). */
function isStale(r: Database['runs'], cutoff: number): boolean {
  return new Date(r.heartbeat_at ?? r.started_at).getTime() < cutoff;
}

/** A unique index or primary key refused the row (SQLite or PostgreSQL). */
export function isUniqueViolation(e: unknown): boolean {
  const code = (e as { code?: string })?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505';
}
