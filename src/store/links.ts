// Links between a source user (immutable IdP id) and a target user (immutable target key),
// with the last-applied snapshot that lets a sync write only what changed.
import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.ts';
import { assertRunOwner } from './run-fence.ts';
import type { FieldValues } from '../core/types.ts';
import { containsPattern, searchText } from './search-text.ts';
import { WriteWatch } from './write-watch.ts';
import { tableOrderPays } from './shadow.ts';
import { keysetPages } from './keyset.ts';

export interface Link {
  connectorId: string;
  targetId: string;
  sourceId: string;
  targetKey: string;
  targetUsername: string | null;
  label: string | null;
  applied: FieldValues;
  managedGroups: string[];
  missingSince: string | null;
  /**
   * Fingerprint of the source record and mapping this link was last fully synced from; a full
   * sync that sees the same fingerprint again knows the user is unchanged without mapping it.
   */
  fingerprint: string | null;
  /** What cleanup did to the account (issue 10); null while the user is in step. */
  cleanup?: CleanupState | null;
}

/**
 * What idsync's cleanup did to a linked account, so that a later run knows what is done, when a
 * deletion is due, and a return undoes exactly what idsync did (and nothing an administrator did).
 */
export interface CleanupState {
  reason: 'deleted' | 'disabled' | 'outOfScope';
  /** idsync wrote `user.active` false at this time. */
  disabledAt?: string;
  /** idsync removed the product-access groups at this time. */
  accessRemovedAt?: string;
  /** idsync replaced username, display name and e-mail by a pseudonym at this time. */
  anonymisedAt?: string;
  /** The values the pseudonym replaced, as the target confirmed them before: restored on return. */
  originals?: FieldValues;
  /** Memberships idsync removed on cleanup: given back on return when the mapping still wants them. */
  removedGroups?: string[];
  /** The account is deleted on the first run on or after this time. */
  deleteDueAt?: string;
}

/** What a full sync needs to know of every linked user up front: small enough to hold for 100,000. */
export interface LinkDigest {
  fingerprint: string | null;
  username: string | null;
  missing: boolean;
}

/** Rows per statement: well under SQLite's and PostgreSQL's bound-parameter limits. */
const CHUNK = 500;

export class LinkRepo {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: 'sqlite' | 'postgres',
    /** Told the links each write names (engine/digest-preload.ts). */
    private readonly watch = new WriteWatch(),
  ) {}

  async getMany(connectorId: string, targetId: string, sourceIds: string[]): Promise<Map<string, Link>> {
    const out = new Map<string, Link>();
    for (let i = 0; i < sourceIds.length; i += CHUNK) {
      const rows = await this.db
        .selectFrom('links')
        .selectAll()
        .where('connector_id', '=', connectorId)
        .where('target_id', '=', targetId)
        .where('source_id', 'in', sourceIds.slice(i, i + CHUNK))
        .execute();
      for (const r of rows) out.set(r.source_id, fromRow(r));
    }
    return out;
  }

  async get(connectorId: string, targetId: string, sourceId: string): Promise<Link | undefined> {
    return (await this.getMany(connectorId, targetId, [sourceId])).get(sourceId);
  }

  /** Source ids linked to a target key (a target user must not be claimed by two source users). */
  async byTargetKey(connectorId: string, targetId: string, targetKey: string): Promise<Link | undefined> {
    const r = await this.db
      .selectFrom('links')
      .selectAll()
      .where('connector_id', '=', connectorId)
      .where('target_id', '=', targetId)
      .where('target_key', '=', targetKey)
      .executeTakeFirst();
    return r ? fromRow(r) : undefined;
  }

  async upsertMany(links: Link[]): Promise<void> {
    if (links.length === 0) return;
    await this.db.transaction().execute(async (trx) => {
      await assertRunOwner(trx, this.dialect);
      await upsertLinks(trx, links, this.watch);
    });
  }

  /**
   * A target's links, `size` rows at a time in source-id order (keyset paging: memory stays flat
   * and every page costs the same), with only the columns asked for.
   */
  private pages<C extends keyof Database['links']>(connectorId: string, targetId: string, columns: readonly C[], size: number, activeOnly = false): AsyncIterable<Array<Pick<Database['links'], C | 'source_id'>>> {
    const fetch = async (after: string) => {
      let q = this.db
        .selectFrom('links')
        .select([...columns, 'source_id'] as Array<C | 'source_id'>)
        .where('connector_id', '=', connectorId)
        .where('target_id', '=', targetId)
        .where('source_id', '>', after);
      if (activeOnly) q = q.where('missing_since', 'is', null);
      return (await q.orderBy('source_id').limit(size).execute()) as unknown as Array<Pick<Database['links'], C | 'source_id'>>;
    };
    return keysetPages('', size, fetch, (r) => r.source_id);
  }

  /** Every source id linked for a connector's target, in pages (memory stays flat). */
  async *sourceIds(connectorId: string, targetId: string): AsyncIterable<Array<{ sourceId: string; label: string | null; missingSince: string | null }>> {
    for await (const rows of this.pages(connectorId, targetId, ['label', 'missing_since'], 5000)) {
      yield rows.map((r) => ({ sourceId: r.source_id, label: r.label, missingSince: r.missing_since }));
    }
  }

  /** Fingerprint, username and missing flag of every user linked to a target, by source id. */
  async digests(connectorId: string, targetId: string): Promise<Map<string, LinkDigest>> {
    const out = new Map<string, LinkDigest>();
    for await (const rows of this.pages(connectorId, targetId, ['fingerprint', 'target_username', 'missing_since'], 10_000)) {
      for (const r of rows) out.set(r.source_id, linkDigestOf(r));
    }
    return out;
  }

  /**
   * The digests of every link of a target, `size` a page: what a full read loads up front
   * (engine/digest-preload.ts). Keyset pages; on SQLite in rowid order when the connector holds
   * most of the table (read sequentially, see ShadowRepo.digestPages), else by the primary key.
   */
  async *digestPages(connectorId: string, targetId: string, size: number): AsyncGenerator<Array<LinkDigest & { sourceId: string }>> {
    if (this.dialect === 'sqlite' && (await tableOrderPays(this.db, 'links', await this.count(connectorId)))) {
      const byRowid = (after: number) =>
        this.db
          .selectFrom('links')
          .select([sql<number>`rowid`.as('rid'), 'source_id', 'fingerprint', 'target_username', 'missing_since'])
          .where(sql<string>`+${sql.ref('connector_id')}`, '=', connectorId)
          .where(sql<string>`+${sql.ref('target_id')}`, '=', targetId)
          .where(sql<number>`rowid`, '>', after)
          .orderBy(sql`rowid`)
          .limit(size)
          .execute();
      for await (const rows of keysetPages(0, size, byRowid, (r) => Number(r.rid))) yield rows.map(linkDigestWithId);
      return;
    }
    for await (const rows of this.pages(connectorId, targetId, ['fingerprint', 'target_username', 'missing_since'], size)) yield rows.map(linkDigestWithId);
  }

  /**
   * Fingerprint, username and missing flag of the links of these source ids (one indexed query
   * per 500 ids): what a full sync compares each page with, so its memory does not grow with
   * the number of linked users.
   */
  async digestsOf(connectorId: string, targetId: string, sourceIds: readonly string[]): Promise<Map<string, LinkDigest>> {
    const out = new Map<string, LinkDigest>();
    const unique = [...new Set(sourceIds)];
    for (let i = 0; i < unique.length; i += CHUNK) {
      const rows = await this.db
        .selectFrom('links')
        .select(['source_id', 'fingerprint', 'target_username', 'missing_since'])
        .where('connector_id', '=', connectorId)
        .where('target_id', '=', targetId)
        .where('source_id', 'in', unique.slice(i, i + CHUNK))
        .execute();
      for (const r of rows) out.set(r.source_id, { fingerprint: r.fingerprint, username: r.target_username, missing: r.missing_since !== null });
    }
    return out;
  }

  /**
   * Linked source ids the shadow has no row of (linked before the shadow existed) that a run's
   * read did not return, `limit` at a time in source-id order after `after`. Returned ids without
   * a shadow row are the run's `run_seen` rows (store/shadow.ts SeenRepo).
   */
  async notSeenWithoutShadow(connectorId: string, targetId: string, runId: string, after: string, limit: number): Promise<string[]> {
    const rows = await this.db
      .selectFrom('links')
      .select('source_id')
      .where('connector_id', '=', connectorId)
      .where('target_id', '=', targetId)
      .where('source_id', '>', after)
      .where(({ not, exists, selectFrom }) => not(exists(selectFrom('run_seen').select('run_seen.source_id').where('run_seen.run_id', '=', runId).whereRef('run_seen.source_id', '=', 'links.source_id'))))
      .where(({ not, exists, selectFrom }) => not(exists(selectFrom('shadow_users').select('shadow_users.source_id').whereRef('shadow_users.connector_id', '=', 'links.connector_id').whereRef('shadow_users.source_id', '=', 'links.source_id'))))
      .orderBy('source_id')
      .limit(limit)
      .execute();
    return rows.map((r) => r.source_id);
  }

  /**
   * The links of a target not missing, `limit` at a time in source-id order after `after`, each
   * with its user's shadow row number (null: no shadow row): what a full read's marks
   * (engine/seen-marks.ts) are checked against for the read guard and a quarantined read.
   */
  async activeRowNumbers(connectorId: string, targetId: string, after: string, limit: number): Promise<Array<{ sourceId: string; rowNo: number | null }>> {
    const rows = await this.db
      .selectFrom('links')
      .leftJoin('shadow_users', (j) => j.onRef('shadow_users.connector_id', '=', 'links.connector_id').onRef('shadow_users.source_id', '=', 'links.source_id'))
      .select(['links.source_id', 'shadow_users.row_no'])
      .where('links.connector_id', '=', connectorId)
      .where('links.target_id', '=', targetId)
      .where('links.missing_since', 'is', null)
      .where('links.source_id', '>', after)
      .orderBy('links.source_id')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ sourceId: r.source_id, rowNo: r.row_no == null ? null : Number(r.row_no) }));
  }

  /** How many users are linked to a target and not missing. */
  async activeCount(connectorId: string, targetId: string): Promise<number> {
    const r = await this.db.selectFrom('links').select((eb) => eb.fn.countAll<number>().as('n')).where('connector_id', '=', connectorId).where('target_id', '=', targetId).where('missing_since', 'is', null).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  /**
   * How many linked (not missing) users idsync manages in each group of a target, by lower-case
   * group name, and how many linked users there are: the base of the group-removal guard.
   */
  async groupCensus(connectorId: string, targetId: string): Promise<{ linked: number; members: Map<string, number> }> {
    const members = new Map<string, number>();
    let linked = 0;
    for await (const rows of this.pages(connectorId, targetId, ['managed_groups'], 10_000, true)) {
      linked += rows.length;
      for (const r of rows) {
        for (const g of JSON.parse(r.managed_groups) as string[]) members.set(g.toLowerCase(), (members.get(g.toLowerCase()) ?? 0) + 1);
      }
    }
    return { linked, members };
  }

  async setMissing(connectorId: string, targetId: string, sourceIds: string[], since: string | null): Promise<void> {
    if (sourceIds.length === 0) return;
    this.watch.wrote({ table: 'links', connectorId, targetId, ids: sourceIds });
    await this.db.transaction().execute(async (trx) => {
      await assertRunOwner(trx, this.dialect);
      for (let i = 0; i < sourceIds.length; i += CHUNK) {
        await trx
          .updateTable('links')
          .set({ missing_since: since })
          .where('connector_id', '=', connectorId)
          .where('target_id', '=', targetId)
          .where('source_id', 'in', sourceIds.slice(i, i + CHUNK))
          .execute();
      }
    });
  }

  /** Links whose cleanup deletion is due at `now` or earlier (see CleanupState.deleteDueAt). */
  async dueForDeletion(connectorId: string, targetId: string, now: string, limit = 1000): Promise<Link[]> {
    const rows = await this.db
      .selectFrom('links')
      .selectAll()
      .where('connector_id', '=', connectorId)
      .where('target_id', '=', targetId)
      .where('delete_due_at', 'is not', null)
      .where('delete_due_at', '<=', now)
      .orderBy('source_id')
      .limit(limit)
      .execute();
    return rows.map(fromRow);
  }

  /** Removes links (an account deleted by cleanup); `db` may be a transaction. */
  async remove(connectorId: string, targetId: string, sourceIds: string[]): Promise<void> {
    await removeLinks(this.db, connectorId, targetId, sourceIds, this.watch);
  }

  /** Finds a link by what an admin may type: source id, target username or label. */
  async search(connectorId: string, text: string, limit = 20): Promise<Link[]> {
    const like = containsPattern(text);
    const op = this.dialect === 'postgres' ? 'ilike' : 'like';
    const rows = await this.db
      .selectFrom('links')
      .selectAll()
      .where('connector_id', '=', connectorId)
      .where((eb) => eb.or([eb('source_id', '=', searchText(text)), eb('target_username', op, like), eb('label', op, like)]))
      .limit(limit)
      .execute();
    return rows.map(fromRow);
  }

  async count(connectorId: string, targetId?: string): Promise<number> {
    let q = this.db.selectFrom('links').select((eb) => eb.fn.countAll<number>().as('n')).where('connector_id', '=', connectorId);
    if (targetId) q = q.where('target_id', '=', targetId);
    return Number((await q.executeTakeFirstOrThrow()).n);
  }
}

type LinkDigestRow = { source_id: string; fingerprint: string | null; target_username: string | null; missing_since: string | null };

/** A link row's digest. */
function linkDigestOf(r: LinkDigestRow): LinkDigest {
  return { fingerprint: r.fingerprint, username: r.target_username, missing: r.missing_since !== null };
}

/** A link row's digest with its source id (the digest pages). */
function linkDigestWithId(r: LinkDigestRow): LinkDigest & { sourceId: string } {
  return { sourceId: r.source_id, ...linkDigestOf(r) };
}

/** Inserts or replaces links; `db` may be a transaction another repository shares (see IntentRepo.settle). */
export async function upsertLinks(db: Kysely<Database>, links: Link[], watch: WriteWatch): Promise<void> {
  watch.wroteLinks(links);
  const now = new Date().toISOString();
  for (let i = 0; i < links.length; i += CHUNK) {
    const rows = links.slice(i, i + CHUNK).map((l) => ({
      connector_id: l.connectorId,
      target_id: l.targetId,
      source_id: l.sourceId,
      target_key: l.targetKey,
      target_username: l.targetUsername,
      label: l.label,
      applied: JSON.stringify(l.applied),
      managed_groups: JSON.stringify(l.managedGroups),
      missing_since: l.missingSince,
      fingerprint: l.fingerprint,
      cleanup: l.cleanup ? JSON.stringify(l.cleanup) : null,
      delete_due_at: l.cleanup?.deleteDueAt ?? null,
      created_at: now,
      updated_at: now,
    }));
    await db
      .insertInto('links')
      .values(rows)
      .onConflict((oc) =>
        oc.columns(['connector_id', 'target_id', 'source_id']).doUpdateSet((eb) => ({
          target_key: eb.ref('excluded.target_key'),
          target_username: eb.ref('excluded.target_username'),
          label: eb.ref('excluded.label'),
          applied: eb.ref('excluded.applied'),
          managed_groups: eb.ref('excluded.managed_groups'),
          missing_since: eb.ref('excluded.missing_since'),
          fingerprint: eb.ref('excluded.fingerprint'),
          cleanup: eb.ref('excluded.cleanup'),
          delete_due_at: eb.ref('excluded.delete_due_at'),
          updated_at: eb.ref('excluded.updated_at'),
        })),
      )
      .execute();
  }
}

export async function removeLinks(db: Kysely<Database>, connectorId: string, targetId: string, sourceIds: string[], watch: WriteWatch): Promise<void> {
  watch.wrote({ table: 'links', connectorId, targetId, ids: sourceIds });
  for (let i = 0; i < sourceIds.length; i += CHUNK) {
    await db.deleteFrom('links').where('connector_id', '=', connectorId).where('target_id', '=', targetId).where('source_id', 'in', sourceIds.slice(i, i + CHUNK)).execute();
  }
}

function fromRow(r: Database['links']): Link {
  return {
    connectorId: r.connector_id,
    targetId: r.target_id,
    sourceId: r.source_id,
    targetKey: r.target_key,
    targetUsername: r.target_username,
    label: r.label,
    applied: JSON.parse(r.applied),
    managedGroups: JSON.parse(r.managed_groups),
    missingSince: r.missing_since,
    fingerprint: r.fingerprint,
    cleanup: r.cleanup ? (JSON.parse(r.cleanup) as CleanupState) : null,
  };
}
