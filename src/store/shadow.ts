// The shadow of the directory: per connector, the last record read of every user, with a
// fingerprint of it, its resolved manager, a tombstone when the provider said it is gone (or a
// complete read left it out), and a "pending" mark while the projection still owes it to the
// targets. Every trigger only ingests here; the projection (src/engine/projection.ts) reads it.
// Rows are written only when their fingerprint changes, so a read that changes nothing writes
// nothing. "Last seen by a complete read" is the connector's `completeReadAt` for every row
// without a tombstone (a complete read tombstones what it did not return), so no row is
// rewritten to say it was seen again.
import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.ts';
import { assertRunOwner } from './run-fence.ts';
import { ShadowGroupRepo } from './shadow-groups.ts';
import { WriteWatch } from './write-watch.ts';
import { keysetPages } from './keyset.ts';
import type { ManagerRef, SourceKeyType } from '../core/types.ts';

/** Why the shadow holds a user as gone: the provider's removal reasons, or absent from a complete read. */
export type TombstoneReason = 'soft-deleted' | 'deleted' | 'out-of-scope' | 'not-returned';

/** A user's record as last read (the SourceUser fields that the mapping and references use). */
export interface ShadowRecord {
  attrs: Record<string, unknown>;
  groups?: string[];
  manager?: ManagerRef | null;
  keys?: Partial<Record<SourceKeyType, string>>;
}

export interface ShadowRow {
  sourceId: string;
  /** Null for a tombstone of a user the shadow never held a record of (e.g. linked before the shadow existed). */
  record: ShadowRecord | null;
  fingerprint: string;
  managerId: string | null;
  tombstone: TombstoneReason | null;
  tombstoneAt: string | null;
  pending: boolean;
}

/** What a full read needs of every row up front, to tell what changed without reading records. */
export interface ShadowDigest {
  fingerprint: string;
  tombstone: TombstoneReason | null;
  pending: boolean;
  /** The row's stable number (see rowNumbers); absent for a row this batch writes first. */
  rowNo?: number;
}

export interface ShadowState {
  checkpoint: string | null;
  /** Hash of the query the checkpoint was taken with (see engine/ingest.ts queryKeyOf). */
  checkpointKey: string | null;
  /**
   * Hash of the query every live record was read with: set by a trusted complete read, cleared
   * when a run writes records read with another query (the shadow is then mixed until the next
   * complete read). A mapping change is projected from the shadow only when it needs no other query.
   */
  recordsQueryKey: string | null;
  /**
   * Hash of the mappings last projected to every live user (a trusted complete read, or a
   * replay of the shadow that finished): a run that finds other mappings owes everyone a projection.
   */
  projectedKey: string | null;
  completeReadAt: string | null;
}

/** Rows per statement: well under SQLite's and PostgreSQL's bound-parameter limits. */
const CHUNK = 400;

export class ShadowRepo {
  /** The ids a run's read returned that have no shadow row (see SeenRepo). */
  readonly seen: SeenRepo;
  /** The groups of the shadow (see ShadowGroupRepo). */
  readonly groups: ShadowGroupRepo;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: 'sqlite' | 'postgres' = 'sqlite',
    /** Told the rows each write names (engine/digest-preload.ts). */
    readonly watch = new WriteWatch(),
  ) {
    this.seen = new SeenRepo(db);
    this.groups = new ShadowGroupRepo(db, dialect);
  }

  async getMany(connectorId: string, ids: readonly string[]): Promise<Map<string, ShadowRow>> {
    const out = new Map<string, ShadowRow>();
    const unique = [...new Set(ids)];
    for (let i = 0; i < unique.length; i += CHUNK) {
      const rows = await this.db.selectFrom('shadow_users').selectAll().where('connector_id', '=', connectorId).where('source_id', 'in', unique.slice(i, i + CHUNK)).execute();
      for (const r of rows) out.set(r.source_id, fromRow(r));
    }
    return out;
  }

  /**
   * Fingerprint, tombstone and pending mark of the rows of these ids (one indexed query per 400
   * ids, without the records): what a read compares each page with, so a full read's memory does
   * not grow with the directory.
   */
  async digestsOf(connectorId: string, ids: readonly string[]): Promise<Map<string, ShadowDigest>> {
    const out = new Map<string, ShadowDigest>();
    const unique = [...new Set(ids)];
    for (let i = 0; i < unique.length; i += CHUNK) {
      const rows = await this.db.selectFrom('shadow_users').select(['source_id', 'fingerprint', 'tombstone', 'pending', 'row_no']).where('connector_id', '=', connectorId).where('source_id', 'in', unique.slice(i, i + CHUNK)).execute();
      for (const r of rows) out.set(r.source_id, { fingerprint: r.fingerprint, tombstone: r.tombstone as TombstoneReason | null, pending: r.pending === 1, rowNo: Number(r.row_no) });
    }
    return out;
  }

  /**
   * The digests of every row of the connector (the records left out), `size` rows a page: what a
   * full read loads up front (engine/digest-preload.ts). Keyset pages, so every page costs the
   * same. On SQLite in row-number order when the connector holds most of the table: that is the
   * table's own order, read sequentially, about half the cost of the source-id index's order,
   * which looks every row up in the table (`+connector_id` keeps the planner on the rowid).
   */
  async *digestPages(connectorId: string, size: number): AsyncGenerator<Array<ShadowDigest & { sourceId: string; rowNo: number }>> {
    const rowOrder = this.dialect === 'sqlite' && (await tableOrderPays(this.db, 'shadow_users', await this.count(connectorId)));
    const digest = (r: { source_id: string; fingerprint: string; tombstone: string | null; pending: number; row_no?: number | string }) => ({ sourceId: r.source_id, fingerprint: r.fingerprint, tombstone: r.tombstone as TombstoneReason | null, pending: r.pending === 1, rowNo: Number(r.row_no) });
    const columns = ['source_id', 'fingerprint', 'tombstone', 'pending', 'row_no'] as const;
    const pages = rowOrder
      ? keysetPages(0, size, (after: number) => this.db.selectFrom('shadow_users').select(columns).where(sql<string>`+${sql.ref('connector_id')}`, '=', connectorId).where('row_no', '>', after).orderBy('row_no').limit(size).execute(), (r) => Number(r.row_no))
      : keysetPages('', size, (after: string) => this.db.selectFrom('shadow_users').select(columns).where('connector_id', '=', connectorId).where('source_id', '>', after).orderBy('source_id').limit(size).execute(), (r) => r.source_id);
    for await (const rows of pages) yield rows.map(digest);
  }

  /**
   * Stable row numbers (`row_no`: assigned on insert, never changed by an update or a VACUUM) of
   * the connector's rows, `limit` at a time in source-id order after `after`. On SQLite the
   * number is the rowid, so this reads the (connector, source id) index alone. What a full
   * read's marks (engine/seen-marks.ts, one bit per number) are checked against.
   */
  async rowNumbers(connectorId: string, after: string, limit: number): Promise<Array<{ sourceId: string; rowNo: number }>> {
    const rows = await this.db.selectFrom('shadow_users').select(['source_id', 'row_no']).where('connector_id', '=', connectorId).where('source_id', '>', after).orderBy('source_id').limit(limit).execute();
    return rows.map((r) => ({ sourceId: r.source_id, rowNo: Number(r.row_no) }));
  }

  /** The row numbers of these ids (those with a row). */
  async rowNumbersOf(connectorId: string, ids: readonly string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const unique = [...new Set(ids)];
    for (let i = 0; i < unique.length; i += CHUNK) {
      const rows = await this.db.selectFrom('shadow_users').select(['source_id', 'row_no']).where('connector_id', '=', connectorId).where('source_id', 'in', unique.slice(i, i + CHUNK)).execute();
      for (const r of rows) out.set(r.source_id, Number(r.row_no));
    }
    return out;
  }

  /**
   * Writes rows (records read, tombstones) as pending: the projection owes them to the targets
   * until `settle`. Alias keys follow the records: a user's keys are replaced by its record's.
   */
  async put(connectorId: string, rows: ShadowRow[]): Promise<void> {
    if (rows.length === 0) return;
    this.watch.wrote({ table: 'shadow', connectorId, ids: rows.map((r) => r.sourceId) });
    const now = new Date().toISOString();
    await this.db.transaction().execute(async (trx) => {
      await assertRunOwner(trx, this.dialect);
      for (let i = 0; i < rows.length; i += CHUNK) {
        const chunk = rows.slice(i, i + CHUNK);
        await trx
          .insertInto('shadow_users')
          .values(chunk.map((r) => ({
            connector_id: connectorId,
            source_id: r.sourceId,
            record: r.record ? JSON.stringify(r.record) : null,
            fingerprint: r.fingerprint,
            manager_id: r.managerId,
            tombstone: r.tombstone,
            tombstone_at: r.tombstoneAt,
            pending: 1,
            updated_at: now,
          })))
          .onConflict((oc) =>
            oc.columns(['connector_id', 'source_id']).doUpdateSet((eb) => ({
              // A tombstone of a user never read keeps nothing; one of a known user keeps its last record.
              record: eb.fn.coalesce(eb.ref('excluded.record'), eb.ref('shadow_users.record')),
              fingerprint: eb.ref('excluded.fingerprint'),
              manager_id: eb.ref('excluded.manager_id'),
              tombstone: eb.ref('excluded.tombstone'),
              tombstone_at: eb.ref('excluded.tombstone_at'),
              pending: eb.ref('excluded.pending'),
              updated_at: eb.ref('excluded.updated_at'),
            })),
          )
          .execute();
        // Group names, for finding a group's members by name (shadow-groups.ts): those of the live
        // records written; a tombstone is nobody's member (a tombstone of a known user keeps its
        // record but loses its rows here; they come back with its next record).
        const read = chunk.filter((r) => r.record && r.tombstone === null);
        await trx.deleteFrom('shadow_user_groups').where('connector_id', '=', connectorId).where('source_id', 'in', chunk.map((r) => r.sourceId)).execute();
        const names = read.flatMap((r) => [...new Set(r.record!.groups ?? [])].map((name) => ({ connector_id: connectorId, group_name: name, source_id: r.sourceId })));
        for (let k = 0; k < names.length; k += CHUNK) await trx.insertInto('shadow_user_groups').values(names.slice(k, k + CHUNK)).execute();
        // Keys: only of records read (a tombstone leaves the last keys, so references still resolve).
        if (read.length === 0) continue;
        await trx.deleteFrom('shadow_keys').where('connector_id', '=', connectorId).where('source_id', 'in', read.map((r) => r.sourceId)).execute();
        const keys = read.flatMap((r) => Object.entries(r.record!.keys ?? {}).filter(([, v]) => typeof v === 'string' && v).map(([type, value]) => ({ connector_id: connectorId, key_type: type, key_value: keyValue(value!), source_id: r.sourceId })));
        for (let k = 0; k < keys.length; k += CHUNK) {
          await trx
            .insertInto('shadow_keys')
            .values(keys.slice(k, k + CHUNK))
            .onConflict((oc) => oc.columns(['connector_id', 'key_type', 'key_value']).doUpdateSet((eb) => ({ source_id: eb.ref('excluded.source_id') })))
            .execute();
        }
      }
    });
  }

  /** Clears the pending mark of rows the projection has applied. */
  async settle(connectorId: string, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    this.watch.wrote({ table: 'shadow', connectorId, ids });
    await this.db.transaction().execute(async (trx) => {
      await assertRunOwner(trx, this.dialect);
      for (let i = 0; i < ids.length; i += CHUNK) {
        // `+pending`: without table statistics SQLite would search the (connector, pending) index
        // and scan every pending row for each chunk (an initial sync has all its rows pending: quadratic);
        // the unary plus leaves it the primary key (connector, source id).
        await trx.updateTable('shadow_users').set({ pending: 0 }).where('connector_id', '=', connectorId).where(sql<number>`+${sql.ref('pending')}`, '=', 1).where('source_id', 'in', ids.slice(i, i + CHUNK)).execute();
      }
    });
  }

  /**
   * The live records (no tombstone), `limit` at a time in source-id order after `after`: what a
   * replay of the shadow projects (engine/ingest.ts shadowReplay), page by page so that memory
   * does not grow with the directory.
   */
  async liveRecords(connectorId: string, after: string, limit: number): Promise<ShadowRow[]> {
    const rows = await this.db
      .selectFrom('shadow_users')
      .selectAll()
      .where('connector_id', '=', connectorId)
      .where('source_id', '>', after)
      .where('tombstone', 'is', null)
      .where('record', 'is not', null)
      .orderBy('source_id')
      .limit(limit)
      .execute();
    return rows.map(fromRow);
  }

  /**
   * Marks rows pending again: users a replay of the shadow projected but could not apply (a
   * failed write) are owed to the next run, though their records did not change.
   */
  async markPending(connectorId: string, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    this.watch.wrote({ table: 'shadow', connectorId, ids });
    await this.db.transaction().execute(async (trx) => {
      await assertRunOwner(trx, this.dialect);
      for (let i = 0; i < ids.length; i += CHUNK) {
        await trx.updateTable('shadow_users').set({ pending: 1 }).where('connector_id', '=', connectorId).where('tombstone', 'is', null).where('source_id', 'in', ids.slice(i, i + CHUNK)).execute();
      }
    });
  }

  /** Ids of the rows still pending (left by a run that failed or died). */
  async pendingIds(connectorId: string): Promise<string[]> {
    const rows = await this.db.selectFrom('shadow_users').select('source_id').where('connector_id', '=', connectorId).where('pending', '=', 1).execute();
    return rows.map((r) => r.source_id);
  }

  /** Ids of the users whose manager is one of `managerIds` (live ones only). */
  async reportsOf(connectorId: string, managerIds: readonly string[]): Promise<string[]> {
    const out: string[] = [];
    for (let i = 0; i < managerIds.length; i += CHUNK) {
      const rows = await this.db
        .selectFrom('shadow_users')
        .select('source_id')
        .where('connector_id', '=', connectorId)
        .where('manager_id', 'in', managerIds.slice(i, i + CHUNK))
        .where('tombstone', 'is', null)
        .execute();
      for (const r of rows) out.push(r.source_id);
    }
    return out;
  }

  /** Source ids by alias key (`dn`, `email`, `username`; compared case-insensitively). */
  async resolveKeys(connectorId: string, type: SourceKeyType, values: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const wanted = [...new Set(values.map(keyValue))];
    for (let i = 0; i < wanted.length; i += CHUNK) {
      const rows = await this.db
        .selectFrom('shadow_keys')
        .select(['key_value', 'source_id'])
        .where('connector_id', '=', connectorId)
        .where('key_type', '=', type)
        .where('key_value', 'in', wanted.slice(i, i + CHUNK))
        .execute();
      for (const r of rows) out.set(r.key_value, r.source_id);
    }
    return out;
  }

  async state(connectorId: string): Promise<ShadowState> {
    const r = await this.db.selectFrom('shadow_state').selectAll().where('connector_id', '=', connectorId).executeTakeFirst();
    return {
      checkpoint: r?.checkpoint ?? null,
      checkpointKey: r?.checkpoint_key ?? null,
      recordsQueryKey: r?.records_query_key ?? null,
      projectedKey: r?.projected_key ?? null,
      completeReadAt: r?.complete_read_at ?? null,
    };
  }

  /** Updates the fields given of the connector's shadow state. */
  async setState(connectorId: string, patch: Partial<ShadowState>): Promise<void> {
    const now = new Date().toISOString();
    const set: Partial<Database['shadow_state']> = { updated_at: now };
    if (patch.checkpoint !== undefined) set.checkpoint = patch.checkpoint;
    if (patch.checkpointKey !== undefined) set.checkpoint_key = patch.checkpointKey;
    if (patch.recordsQueryKey !== undefined) set.records_query_key = patch.recordsQueryKey;
    if (patch.projectedKey !== undefined) set.projected_key = patch.projectedKey;
    if (patch.completeReadAt !== undefined) set.complete_read_at = patch.completeReadAt;
    await this.db.transaction().execute(async (trx) => {
      await assertRunOwner(trx, this.dialect);
      await trx
        .insertInto('shadow_state')
        .values({ connector_id: connectorId, checkpoint: null, checkpoint_key: null, records_query_key: null, projected_key: null, complete_read_at: null, ...set, updated_at: now })
        .onConflict((oc) => oc.column('connector_id').doUpdateSet(set))
        .execute();
    });
  }

  async count(connectorId: string, opts: { live?: boolean; pending?: boolean } = {}): Promise<number> {
    let q = this.db.selectFrom('shadow_users').select((eb) => eb.fn.countAll<number>().as('n')).where('connector_id', '=', connectorId);
    if (opts.live) q = q.where('tombstone', 'is', null);
    if (opts.pending) q = q.where('pending', '=', 1);
    return Number((await q.executeTakeFirstOrThrow()).n);
  }

  /** Everything of a connector (deleting the connector). */
  async clear(connectorId: string): Promise<void> {
    this.watch.wrote({ table: 'all', connectorId });
    await this.db.deleteFrom('shadow_users').where('connector_id', '=', connectorId).execute();
    await this.db.deleteFrom('shadow_keys').where('connector_id', '=', connectorId).execute();
    await this.db.deleteFrom('shadow_state').where('connector_id', '=', connectorId).execute();
    await this.groups.clear(connectorId);
  }
}

/**
 * SQLite: whether a scan of one connector's rows in the table's order (every connector's rows
 * read, the others' skipped) is cheaper than one by its index (each row looked up): when the
 * connector holds at least half of the table.
 */
export async function tableOrderPays(db: Kysely<Database>, table: 'shadow_users' | 'links', connectorRows: number): Promise<boolean> {
  const all = await db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return connectorRows * 2 >= Number(all.n);
}

/** Keys compare case-insensitively (DNs and mail addresses do). */
function keyValue(v: string): string {
  return v.toLowerCase();
}

function fromRow(r: Database['shadow_users']): ShadowRow {
  return {
    sourceId: r.source_id,
    record: r.record ? (JSON.parse(r.record) as ShadowRecord) : null,
    fingerprint: r.fingerprint,
    managerId: r.manager_id,
    tombstone: r.tombstone as TombstoneReason | null,
    tombstoneAt: r.tombstone_at,
    pending: r.pending === 1,
  };
}

/**
 * The ids a run's read returned that have no shadow row (table `run_seen`, keyed by run): those
 * with a row are one bit of the run's memory (engine/seen-marks.ts); these are the rest, e.g. the
 * new users of a dry run, which writes no shadow row. A run that writes has none: every user it
 * reads has a row by the end of its page. Scratch rows of one run, removed when the run ends, and
 * rows of runs that are over (a process that died) by the next run that reads everyone. Keyed by
 * run, not connector, so a run that lost its claim cannot disturb its successor's rows.
 */
export class SeenRepo {
  constructor(private readonly db: Kysely<Database>) {}

  /** Marks ids returned (in scope or not); an id returned both ways counts as in scope. */
  async mark(runId: string, ids: readonly string[], inScope: boolean): Promise<void> {
    const unique = [...new Set(ids)];
    for (let i = 0; i < unique.length; i += CHUNK) {
      await this.db
        .insertInto('run_seen')
        .values(unique.slice(i, i + CHUNK).map((id) => ({ run_id: runId, source_id: id, in_scope: inScope ? 1 : 0 })))
        .onConflict((oc) => (inScope ? oc.columns(['run_id', 'source_id']).doUpdateSet({ in_scope: 1 }) : oc.columns(['run_id', 'source_id']).doNothing()))
        .execute();
    }
  }

  /** How many distinct ids the run returned in scope. */
  async count(runId: string): Promise<number> {
    const r = await this.db.selectFrom('run_seen').select((eb) => eb.fn.countAll<number>().as('n')).where('run_id', '=', runId).where('in_scope', '=', 1).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  /** Which of these ids the run returned outside the connector's scope. */
  async outside(runId: string, ids: readonly string[]): Promise<Set<string>> {
    const out = new Set<string>();
    for (let i = 0; i < ids.length; i += CHUNK) {
      const rows = await this.db.selectFrom('run_seen').select('source_id').where('run_id', '=', runId).where('in_scope', '=', 0).where('source_id', 'in', ids.slice(i, i + CHUNK)).execute();
      for (const r of rows) out.add(r.source_id);
    }
    return out;
  }

  /** Which of these ids the run returned (`inScope`: in scope only). */
  async marked(runId: string, ids: readonly string[], inScope: boolean): Promise<Set<string>> {
    const out = new Set<string>();
    for (let i = 0; i < ids.length; i += CHUNK) {
      let q = this.db.selectFrom('run_seen').select('source_id').where('run_id', '=', runId).where('source_id', 'in', ids.slice(i, i + CHUNK));
      if (inScope) q = q.where('in_scope', '=', 1);
      for (const r of await q.execute()) out.add(r.source_id);
    }
    return out;
  }

  /** The run's rows go (its end). */
  async clear(runId: string): Promise<void> {
    await this.db.deleteFrom('run_seen').where('run_id', '=', runId).execute();
  }

  /** Rows of runs that are over (or gone): left by a process that died before its run ended. */
  async clearStale(runId: string): Promise<void> {
    await this.db
      .deleteFrom('run_seen')
      .where('run_id', '<>', runId)
      .where(({ not, exists, selectFrom }) => not(exists(selectFrom('runs').select('runs.id').whereRef('runs.id', '=', 'run_seen.run_id').where('runs.status', '=', 'running'))))
      .execute();
  }
}
