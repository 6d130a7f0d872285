// Connector configurations and their stored secrets. A save replaces the whole configuration
// in one transaction (nothing half-saved) and bumps the revision.
import type { Kysely } from 'kysely';
import type { ConnectorsTable, Database } from './schema.ts';
import type { SecretBox } from './crypto.ts';
import type { ConnectorConfig } from '../config/schema.ts';
import type { StoredSecretLookup } from '../config/secrets.ts';
import { IdsyncError } from '../core/errors.ts';
import { WriteWatch } from './write-watch.ts';

export interface StoredConnector {
  config: ConnectorConfig;
  revision: number;
  createdAt: string;
  updatedAt: string;
  /** Names of the secrets stored for it (never their values). */
  secretNames: string[];
}

export class ConnectorRepo {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly box: SecretBox,
    /** Told of a connector's deletion (its links and shadow go: engine/digest-preload.ts). */
    private readonly watch = new WriteWatch(),
  ) {}

  async list(): Promise<StoredConnector[]> {
    const rows = await this.db.selectFrom('connectors').selectAll().orderBy('id').execute();
    const secrets = await this.db.selectFrom('secrets').select(['connector_id', 'name']).execute();
    return rows.map((r) => this.fromRow(r, secrets.filter((s) => s.connector_id === r.id).map((s) => s.name)));
  }

  async get(id: string): Promise<StoredConnector | undefined> {
    const row = await this.db.selectFrom('connectors').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) return undefined;
    const secrets = await this.db.selectFrom('secrets').select('name').where('connector_id', '=', id).execute();
    return this.fromRow(row, secrets.map((s) => s.name));
  }

  /**
   * Creates or replaces a connector. `secrets` sets (string) or deletes (null) stored secrets by
   * name; names not mentioned keep their value. `expectedRevision` guards against lost updates.
   */
  async save(config: ConnectorConfig, opts: { secrets?: Record<string, string | null>; expectedRevision?: number } = {}): Promise<StoredConnector> {
    const now = new Date().toISOString();
    await this.db.transaction().execute(async (trx) => {
      const existing = await trx.selectFrom('connectors').select(['revision']).where('id', '=', config.id).executeTakeFirst();
      if (opts.expectedRevision !== undefined && existing && existing.revision !== opts.expectedRevision) {
        throw new IdsyncError('CONFLICT', `connector ${config.id} was changed by someone else (revision ${existing.revision}, you edited ${opts.expectedRevision})`, {
          hint: 'reload the connector and apply your change again',
        });
      }
      const row = { name: config.name ?? config.id, config: JSON.stringify(config), updated_at: now };
      if (existing) {
        await trx.updateTable('connectors').set({ ...row, revision: existing.revision + 1 }).where('id', '=', config.id).execute();
      } else {
        await trx.insertInto('connectors').values({ id: config.id, ...row, revision: 1, created_at: now }).execute();
      }
      for (const [name, value] of Object.entries(opts.secrets ?? {})) {
        await trx.deleteFrom('secrets').where('connector_id', '=', config.id).where('name', '=', name).execute();
        if (value !== null) {
          await trx.insertInto('secrets').values({ connector_id: config.id, name, value: this.box.seal(value), updated_at: now }).execute();
        }
      }
    });
    return (await this.get(config.id))!;
  }

  async delete(id: string): Promise<boolean> {
    this.watch.wrote({ table: 'all', connectorId: id });
    const res = await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('secrets').where('connector_id', '=', id).execute();
      await trx.deleteFrom('links').where('connector_id', '=', id).execute();
      await trx.deleteFrom('state').where('connector_id', '=', id).execute();
      for (const t of ['shadow_users', 'shadow_keys', 'shadow_state', 'shadow_groups', 'shadow_user_groups'] as const) await trx.deleteFrom(t).where('connector_id', '=', id).execute();
      // Inbound SCIM (src/sources/scim/repo.ts): what was pushed, and the tokens, so a connector
      // created later under the same id neither inherits the users nor accepts the old tokens.
      for (const t of ['scim_resources', 'scim_members', 'scim_tokens'] as const) await (trx as Kysely<any>).deleteFrom(t).where('connector_id', '=', id).execute();
      return trx.deleteFrom('connectors').where('id', '=', id).executeTakeFirst();
    });
    return Number(res.numDeletedRows) > 0;
  }

  /** A lookup for resolving `{stored: name}` references of one connector. */
  async secretLookup(connectorId: string): Promise<StoredSecretLookup> {
    const rows = await this.db.selectFrom('secrets').select(['name', 'value']).where('connector_id', '=', connectorId).execute();
    const sealed = new Map(rows.map((r) => [r.name, r.value]));
    return (name) => {
      const v = sealed.get(name);
      return v === undefined ? undefined : this.box.open(v);
    };
  }

  private fromRow(r: ConnectorsTable, secretNames: string[]): StoredConnector {
    return { config: JSON.parse(r.config), revision: r.revision, createdAt: r.created_at, updatedAt: r.updated_at, secretNames };
  }
}
