// What provisioning services pushed into a SCIM connector: its Users and Groups as SCIM
// resources (JSON), each with a version (the ETag) and a dirty mark while the push into the
// shadow still owes it (push.ts clears it once a run took that version). Group members live in
// their own table so adding 100 members does not rewrite a group of 10,000. Tokens: hashed.
// The table shapes are declared here, not in the shared store schema: only this module uses them.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';

export type ResourceType = 'User' | 'Group';
export type ScimJson = Record<string, unknown>;

interface ResourcesTable {
  connector_id: string;
  resource_type: string;
  id: string;
  name_lc: string | null;
  external_id: string | null;
  resource: string | null;
  version: number;
  dirty: number;
  deleted_at: string | null;
  created_at: string;
  updated_at: string;
}
interface MembersTable {
  connector_id: string;
  group_id: string;
  user_id: string;
}
interface TokensTable {
  id: string;
  connector_id: string;
  hash: string;
  label: string | null;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}
interface ScimDatabase {
  scim_resources: ResourcesTable;
  scim_members: MembersTable;
  scim_tokens: TokensTable;
}

export interface StoredResource {
  type: ResourceType;
  id: string;
  /** The resource as stored (no id/meta; for groups no members). Null once deleted. */
  resource: ScimJson | null;
  version: number;
  dirty: boolean;
  deletedAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface TokenInfo {
  id: string;
  label: string | null;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

/** A write refused because userName / displayName is taken (a SCIM 409 uniqueness). */
export class UniquenessError extends Error {}

/** Rows per statement: well under the bound-parameter limits of SQLite and PostgreSQL. */
const CHUNK = 400;

export class ScimRepo {
  private readonly db: Kysely<ScimDatabase>;

  constructor(db: Kysely<any>) {
    this.db = db as Kysely<ScimDatabase>;
  }

  // ------------------------------------------------------------ resources

  async get(connectorId: string, type: ResourceType, id: string): Promise<StoredResource | undefined> {
    const r = await this.db.selectFrom('scim_resources').selectAll().where('connector_id', '=', connectorId).where('resource_type', '=', type).where('id', '=', id).executeTakeFirst();
    return r && !r.deleted_at ? fromRow(r) : undefined;
  }

  async byName(connectorId: string, type: ResourceType, name: string): Promise<StoredResource | undefined> {
    const r = await this.db.selectFrom('scim_resources').selectAll().where('connector_id', '=', connectorId).where('resource_type', '=', type).where('name_lc', '=', name.toLowerCase()).executeTakeFirst();
    return r ? fromRow(r) : undefined;
  }

  async byExternalId(connectorId: string, type: ResourceType, externalId: string): Promise<StoredResource[]> {
    const rows = await this.db.selectFrom('scim_resources').selectAll().where('connector_id', '=', connectorId).where('resource_type', '=', type).where('external_id', '=', externalId).where('deleted_at', 'is', null).execute();
    return rows.map(fromRow);
  }

  /** Live resources in id order, from `after` on (paging through everything). */
  async page(connectorId: string, type: ResourceType, after: string | null, limit: number): Promise<StoredResource[]> {
    let q = this.db.selectFrom('scim_resources').selectAll().where('connector_id', '=', connectorId).where('resource_type', '=', type).where('deleted_at', 'is', null);
    if (after !== null) q = q.where('id', '>', after);
    return (await q.orderBy('id').limit(limit).execute()).map(fromRow);
  }

  async count(connectorId: string, type: ResourceType): Promise<number> {
    const r = await this.db.selectFrom('scim_resources').select((eb) => eb.fn.countAll<number>().as('n')).where('connector_id', '=', connectorId).where('resource_type', '=', type).where('deleted_at', 'is', null).executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  /** Users whose userName starts with `prefix` (pickers). */
  async prefix(connectorId: string, prefix: string, limit: number): Promise<StoredResource[]> {
    const p = prefix.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`);
    // ESCAPE said explicitly: SQLite has no default escape character, PostgreSQL's is the backslash.
    const rows = await this.db.selectFrom('scim_resources').selectAll().where('connector_id', '=', connectorId).where('resource_type', '=', 'User').where(sql<boolean>`name_lc like ${`${p}%`} escape ${'\\'}`).orderBy('name_lc').limit(limit).execute();
    return rows.map(fromRow);
  }

  /** Creates a resource (dirty). Throws UniquenessError when its name is taken. */
  async create(connectorId: string, type: ResourceType, resource: ScimJson, name: string, externalId: string | null): Promise<StoredResource> {
    const id = randomUUID();
    const now = new Date().toISOString();
    const row: ResourcesTable = { connector_id: connectorId, resource_type: type, id, name_lc: name.toLowerCase(), external_id: externalId, resource: JSON.stringify(resource), version: 1, dirty: 1, deleted_at: null, created_at: now, updated_at: now };
    await this.db.transaction().execute(async (trx) => {
      // A deleted row keeps no name (name_lc null), so only live resources collide.
      const taken = await trx.selectFrom('scim_resources').select('id').where('connector_id', '=', connectorId).where('resource_type', '=', type).where('name_lc', '=', row.name_lc).executeTakeFirst();
      if (taken) throw new UniquenessError(`${type === 'User' ? 'userName' : 'displayName'} "${name}" is already taken (by ${type.toLowerCase()} ${taken.id})`);
      try {
        await trx.insertInto('scim_resources').values(row).execute();
      } catch (e) {
        // Two creates of one name at once (PostgreSQL, several instances): the unique index decides.
        if (/unique|duplicate/i.test(String(e))) throw new UniquenessError(`${type === 'User' ? 'userName' : 'displayName'} "${name}" is already taken`);
        throw e;
      }
    });
    return fromRow(row);
  }

  /**
   * Replaces a resource if it is still at `expectedVersion` (the version the caller changed).
   * Returns the new row, or undefined when it changed (or went) meanwhile: the caller retries.
   */
  async replace(connectorId: string, type: ResourceType, id: string, expectedVersion: number, resource: ScimJson, name: string, externalId: string | null): Promise<StoredResource | undefined> {
    const now = new Date().toISOString();
    try {
      return await this.db.transaction().execute(async (trx) => {
        const taken = await trx.selectFrom('scim_resources').select('id').where('connector_id', '=', connectorId).where('resource_type', '=', type).where('name_lc', '=', name.toLowerCase()).where('id', '!=', id).executeTakeFirst();
        if (taken) throw new UniquenessError(`${type === 'User' ? 'userName' : 'displayName'} "${name}" is already taken (by ${type.toLowerCase()} ${taken.id})`);
        const before = await trx.selectFrom('scim_resources').select('name_lc').where('connector_id', '=', connectorId).where('resource_type', '=', type).where('id', '=', id).executeTakeFirst();
        const res = await trx
          .updateTable('scim_resources')
          .set({ resource: JSON.stringify(resource), name_lc: name.toLowerCase(), external_id: externalId, version: expectedVersion + 1, dirty: 1, updated_at: now })
          .where('connector_id', '=', connectorId).where('resource_type', '=', type).where('id', '=', id).where('version', '=', expectedVersion).where('deleted_at', 'is', null)
          .executeTakeFirst();
        if (Number(res.numUpdatedRows) !== 1) return undefined;
        const r = await trx.selectFrom('scim_resources').selectAll().where('connector_id', '=', connectorId).where('resource_type', '=', type).where('id', '=', id).executeTakeFirstOrThrow();
        // A renamed group changes its members' groups; Okta re-sends the name with every membership change, which changes nothing.
        if (type === 'Group' && before?.name_lc !== name.toLowerCase()) await this.touchMembers(trx, connectorId, id, now);
        return fromRow(r);
      });
    } catch (e) {
      if (e instanceof UniquenessError) throw e;
      if (/unique|duplicate/i.test(String(e))) throw new UniquenessError(`${type === 'User' ? 'userName' : 'displayName'} "${name}" is already taken`);
      throw e;
    }
  }

  /** Deletes a resource: a user stays as a tombstone (dirty) until pushed; a group's members are pushed again. */
  async delete(connectorId: string, type: ResourceType, id: string): Promise<boolean> {
    const now = new Date().toISOString();
    return this.db.transaction().execute(async (trx) => {
      const res = await trx
        .updateTable('scim_resources')
        .set((eb) => ({ resource: null, name_lc: null, external_id: null, deleted_at: now, dirty: 1, version: eb('version', '+', 1), updated_at: now }))
        .where('connector_id', '=', connectorId).where('resource_type', '=', type).where('id', '=', id).where('deleted_at', 'is', null)
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) !== 1) return false;
      if (type === 'Group') {
        await this.touchMembers(trx, connectorId, id, now);
        await trx.deleteFrom('scim_members').where('connector_id', '=', connectorId).where('group_id', '=', id).execute();
        // Nothing to push for a group itself: its members' groups changed, and they are dirty now.
        await trx.deleteFrom('scim_resources').where('connector_id', '=', connectorId).where('resource_type', '=', 'Group').where('id', '=', id).execute();
      }
      return true;
    });
  }

  // ------------------------------------------------------------ members

  async members(connectorId: string, groupId: string): Promise<string[]> {
    const rows = await this.db.selectFrom('scim_members').select('user_id').where('connector_id', '=', connectorId).where('group_id', '=', groupId).orderBy('user_id').execute();
    return rows.map((r) => r.user_id);
  }

  /**
   * Adds and removes members of a group (ids need not be users yet: a member pushed before its
   * user is kept, and counts once the user arrives). The users concerned are marked dirty, and
   * the group's version goes up. Returns the new version, or undefined when the group is gone.
   */
  async changeMembers(connectorId: string, groupId: string, add: string[], remove: string[], replaceAll = false): Promise<number | undefined> {
    const now = new Date().toISOString();
    return this.db.transaction().execute(async (trx) => {
      const g = await trx.selectFrom('scim_resources').select(['version']).where('connector_id', '=', connectorId).where('resource_type', '=', 'Group').where('id', '=', groupId).where('deleted_at', 'is', null).executeTakeFirst();
      if (!g) return undefined;
      const current = new Set((await trx.selectFrom('scim_members').select('user_id').where('connector_id', '=', connectorId).where('group_id', '=', groupId).execute()).map((r) => r.user_id));
      const wanted = new Set(replaceAll ? add : [...current, ...add]);
      for (const r of remove) wanted.delete(r);
      const added = [...wanted].filter((u) => !current.has(u));
      const removed = [...current].filter((u) => !wanted.has(u));
      for (let i = 0; i < added.length; i += CHUNK) {
        await trx.insertInto('scim_members').values(added.slice(i, i + CHUNK).map((u) => ({ connector_id: connectorId, group_id: groupId, user_id: u }))).execute();
      }
      for (let i = 0; i < removed.length; i += CHUNK) {
        await trx.deleteFrom('scim_members').where('connector_id', '=', connectorId).where('group_id', '=', groupId).where('user_id', 'in', removed.slice(i, i + CHUNK)).execute();
      }
      await this.markUsers(trx, connectorId, [...added, ...removed], now);
      await trx.updateTable('scim_resources').set({ version: g.version + 1, updated_at: now }).where('connector_id', '=', connectorId).where('resource_type', '=', 'Group').where('id', '=', groupId).execute();
      return g.version + 1;
    });
  }

  /** Display names of the live groups each user is a member of. */
  async groupsOf(connectorId: string, userIds: string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    for (let i = 0; i < userIds.length; i += CHUNK) {
      const rows = await this.db
        .selectFrom('scim_members as m')
        .innerJoin('scim_resources as g', (j) => j.onRef('g.connector_id', '=', 'm.connector_id').onRef('g.id', '=', 'm.group_id').on('g.resource_type', '=', 'Group'))
        .select(['m.user_id', 'g.resource'])
        .where('m.connector_id', '=', connectorId)
        .where('m.user_id', 'in', userIds.slice(i, i + CHUNK))
        .where('g.deleted_at', 'is', null)
        .execute();
      for (const r of rows) {
        const name = r.resource ? (JSON.parse(r.resource) as ScimJson).displayName : undefined;
        if (typeof name !== 'string') continue;
        (out.get(r.user_id) ?? out.set(r.user_id, []).get(r.user_id)!).push(name);
      }
    }
    for (const list of out.values()) list.sort();
    return out;
  }

  // ------------------------------------------------------------ the push

  /** Users the push still owes (created, changed, deleted, or their groups changed), oldest first. */
  async dirtyUsers(connectorId: string, limit: number): Promise<StoredResource[]> {
    const rows = await this.db.selectFrom('scim_resources').selectAll().where('connector_id', '=', connectorId).where('resource_type', '=', 'User').where('dirty', '=', 1).orderBy('updated_at').limit(limit).execute();
    return rows.map(fromRow);
  }

  async dirtyCount(connectorId: string): Promise<number> {
    const r = await this.db.selectFrom('scim_resources').select((eb) => eb.fn.countAll<number>().as('n')).where('connector_id', '=', connectorId).where('resource_type', '=', 'User').where('dirty', '=', 1).executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  /** Connectors with anything owed (start-up: a push a stopped server had not run yet). */
  async connectorsWithDirty(): Promise<string[]> {
    const rows = await this.db.selectFrom('scim_resources').select('connector_id').distinct().where('dirty', '=', 1).execute();
    return rows.map((r) => r.connector_id);
  }

  /** Per connector with users owed: when the oldest of them was changed (the sweep, push.ts). */
  async oldestDirty(): Promise<Array<{ connectorId: string; since: string }>> {
    const rows = await this.db.selectFrom('scim_resources').select(['connector_id', (eb) => eb.fn.min<string>('updated_at').as('since')]).where('resource_type', '=', 'User').where('dirty', '=', 1).groupBy('connector_id').execute();
    return rows.map((r) => ({ connectorId: r.connector_id, since: String(r.since) }));
  }

  /** The push took these versions: clear the dirty mark of rows not changed since; tombstones pushed go. */
  async acknowledge(connectorId: string, taken: Array<{ id: string; version: number }>): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      for (const t of taken) {
        await trx.updateTable('scim_resources').set({ dirty: 0 }).where('connector_id', '=', connectorId).where('resource_type', '=', 'User').where('id', '=', t.id).where('version', '=', t.version).execute();
      }
      await trx.deleteFrom('scim_resources').where('connector_id', '=', connectorId).where('resource_type', '=', 'User').where('dirty', '=', 0).where('deleted_at', 'is not', null).execute();
    });
  }

  private async touchMembers(trx: Kysely<ScimDatabase>, connectorId: string, groupId: string, now: string): Promise<void> {
    const ids = (await trx.selectFrom('scim_members').select('user_id').where('connector_id', '=', connectorId).where('group_id', '=', groupId).execute()).map((r) => r.user_id);
    await this.markUsers(trx, connectorId, ids, now);
  }

  /** A user's groups changed: it is owed to the push again (a new version, so an ETag changes too). */
  private async markUsers(trx: Kysely<ScimDatabase>, connectorId: string, ids: string[], now: string): Promise<void> {
    for (let i = 0; i < ids.length; i += CHUNK) {
      await trx
        .updateTable('scim_resources')
        .set((eb) => ({ dirty: 1, version: eb('version', '+', 1), updated_at: now }))
        .where('connector_id', '=', connectorId).where('resource_type', '=', 'User').where('id', 'in', ids.slice(i, i + CHUNK)).where('deleted_at', 'is', null)
        .execute();
    }
  }

  // ------------------------------------------------------------ tokens

  /** A new bearer token for the connector: returned once, stored as its SHA-256 only. */
  async createToken(connectorId: string, label: string | null): Promise<{ token: string; info: TokenInfo }> {
    const token = `idsync_scim_${randomBytes(32).toString('base64url')}`;
    const info: TokenInfo = { id: randomUUID(), label, createdAt: new Date().toISOString(), lastUsedAt: null, revokedAt: null };
    await this.db.insertInto('scim_tokens').values({ id: info.id, connector_id: connectorId, hash: tokenHash(token), label, created_at: info.createdAt, last_used_at: null, revoked_at: null }).execute();
    return { token, info };
  }

  async tokens(connectorId: string): Promise<TokenInfo[]> {
    const rows = await this.db.selectFrom('scim_tokens').selectAll().where('connector_id', '=', connectorId).orderBy('created_at').execute();
    return rows.map((r) => ({ id: r.id, label: r.label, createdAt: r.created_at, lastUsedAt: r.last_used_at, revokedAt: r.revoked_at }));
  }

  async revokeToken(connectorId: string, id: string): Promise<boolean> {
    const res = await this.db.updateTable('scim_tokens').set({ revoked_at: new Date().toISOString() }).where('connector_id', '=', connectorId).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  /** Whether `token` is a live token of the connector (its last use is noted at most once a minute). */
  async verifyToken(connectorId: string, token: string): Promise<boolean> {
    const r = await this.db.selectFrom('scim_tokens').select(['id', 'connector_id', 'revoked_at', 'last_used_at']).where('hash', '=', tokenHash(token)).executeTakeFirst();
    if (!r || r.connector_id !== connectorId || r.revoked_at) return false;
    const now = new Date();
    if (!r.last_used_at || now.getTime() - Date.parse(r.last_used_at) > 60_000) {
      await this.db.updateTable('scim_tokens').set({ last_used_at: now.toISOString() }).where('id', '=', r.id).execute();
    }
    return true;
  }
}

function tokenHash(token: string): string {
  // The token is 256 random bits: a fast hash cannot be brute-forced, and needs no salt.
  return createHash('sha256').update(token).digest('base64url');
}

function fromRow(r: ResourcesTable): StoredResource {
  return {
    type: r.resource_type as ResourceType,
    id: r.id,
    resource: r.resource ? (JSON.parse(r.resource) as ScimJson) : null,
    version: Number(r.version),
    dirty: Number(r.dirty) === 1,
    deletedAt: r.deleted_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}
