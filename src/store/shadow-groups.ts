// The groups of the shadow: per connector, each group's provider id and display name as last
// read, a fingerprint, and a tombstone when the provider said it is gone (or a complete read no
// longer listed it). Users' records carry group *names*; a change feed names a group by id, so
// this is what turns "group g1 is now called X" into "its members lose Y and gain X"
// (engine/group-ingest.ts). Members are found by name through `shadow_user_groups`, which
// ShadowRepo.put keeps in step with the records. As for users, a row is written only when its
// fingerprint changes: a read that changes nothing writes nothing.
import { hash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';
import { assertRunOwner } from './run-fence.ts';

/** Why the shadow holds a group as gone: deleted in the provider, or absent from a complete read. */
export type GroupTombstone = 'deleted' | 'not-returned';

export interface ShadowGroup {
  groupId: string;
  /** The display name as last read; on a tombstone, the name its members had. */
  name: string;
  tombstone: GroupTombstone | null;
  tombstoneAt: string | null;
}

/** A stored row: with its fingerprint and when it was last written. */
export interface StoredGroup extends ShadowGroup {
  fingerprint: string;
  updatedAt: string;
}

const CHUNK = 400;

/** What tells a group row changed: its name and whether (why) it is gone. */
export function groupFingerprint(name: string, tombstone: GroupTombstone | null): string {
  return hash('sha1', `${name}\u0000${tombstone ?? ''}`, 'base64url');
}

export class ShadowGroupRepo {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: 'sqlite' | 'postgres',
  ) {}

  /** Every group of the connector (live and tombstoned): groups are few beside users (thousands, not 100,000s). */
  async all(connectorId: string): Promise<Map<string, StoredGroup>> {
    const rows = await this.db.selectFrom('shadow_groups').selectAll().where('connector_id', '=', connectorId).execute();
    return new Map(rows.map((r) => [r.group_id, fromRow(r)]));
  }

  async getMany(connectorId: string, ids: readonly string[]): Promise<Map<string, StoredGroup>> {
    const out = new Map<string, StoredGroup>();
    const unique = [...new Set(ids)];
    for (let i = 0; i < unique.length; i += CHUNK) {
      const rows = await this.db.selectFrom('shadow_groups').selectAll().where('connector_id', '=', connectorId).where('group_id', 'in', unique.slice(i, i + CHUNK)).execute();
      for (const r of rows) out.set(r.group_id, fromRow(r));
    }
    return out;
  }

  /** Ids of the live groups of this exact name (display names are not unique in every provider). */
  async liveNamed(connectorId: string, name: string): Promise<string[]> {
    const rows = await this.db.selectFrom('shadow_groups').select('group_id').where('connector_id', '=', connectorId).where('name', '=', name).where('tombstone', 'is', null).execute();
    return rows.map((r) => r.group_id);
  }

  /**
   * Ids of the live shadow users whose record's groups hold this name, `limit` at a time in
   * source-id order after `after` (the primary key of shadow_user_groups: an index range, not a
   * scan of the records).
   */
  async membersNamed(connectorId: string, name: string, after: string, limit: number): Promise<string[]> {
    const rows = await this.db
      .selectFrom('shadow_user_groups')
      .select('source_id')
      .where('connector_id', '=', connectorId)
      .where('group_name', '=', name)
      .where('source_id', '>', after)
      .orderBy('source_id')
      .limit(limit)
      .execute();
    return rows.map((r) => r.source_id);
  }

  /** Writes group rows (new, renamed, tombstoned, back); the caller passes only those that changed. */
  async put(connectorId: string, groups: readonly ShadowGroup[]): Promise<void> {
    if (groups.length === 0) return;
    const now = new Date().toISOString();
    await this.db.transaction().execute(async (trx) => {
      await assertRunOwner(trx, this.dialect);
      for (let i = 0; i < groups.length; i += CHUNK) {
        await trx
          .insertInto('shadow_groups')
          .values(groups.slice(i, i + CHUNK).map((g) => ({ connector_id: connectorId, group_id: g.groupId, name: g.name, fingerprint: groupFingerprint(g.name, g.tombstone), tombstone: g.tombstone, tombstone_at: g.tombstoneAt, updated_at: now })))
          .onConflict((oc) =>
            oc.columns(['connector_id', 'group_id']).doUpdateSet((eb) => ({
              name: eb.ref('excluded.name'),
              fingerprint: eb.ref('excluded.fingerprint'),
              tombstone: eb.ref('excluded.tombstone'),
              tombstone_at: eb.ref('excluded.tombstone_at'),
              updated_at: eb.ref('excluded.updated_at'),
            })),
          )
          .execute();
      }
    });
  }

  async count(connectorId: string, opts: { live?: boolean } = {}): Promise<number> {
    let q = this.db.selectFrom('shadow_groups').select((eb) => eb.fn.countAll<number>().as('n')).where('connector_id', '=', connectorId);
    if (opts.live) q = q.where('tombstone', 'is', null);
    return Number((await q.executeTakeFirstOrThrow()).n);
  }

  /** Everything of a connector (deleting the connector). */
  async clear(connectorId: string): Promise<void> {
    await this.db.deleteFrom('shadow_groups').where('connector_id', '=', connectorId).execute();
    await this.db.deleteFrom('shadow_user_groups').where('connector_id', '=', connectorId).execute();
  }
}

function fromRow(r: Database['shadow_groups']): StoredGroup {
  return { groupId: r.group_id, name: r.name, tombstone: r.tombstone as GroupTombstone | null, tombstoneAt: r.tombstone_at, fingerprint: r.fingerprint, updatedAt: r.updated_at };
}
