// Opens the store: an embedded SQLite file under the data directory by default, or PostgreSQL
// when a database URL is given (several idsync instances may then share it). Migrations run on
// open, so an upgrade needs no separate step.
import { join, resolve } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect } from 'kysely';
import { StorePostgresDialect } from './pg-dialect.ts';
import { WriteWatch } from './write-watch.ts';
import type { Database } from './schema.ts';
import { migrationProvider } from './migrations.ts';
import { secretBox, secretKey } from './crypto.ts';
import { cachingStatements } from './sqlite-statements.ts';
import { ensurePrivateDir, ensurePrivateFile, narrowIfExists } from './private-files.ts';
import { ConnectorRepo } from './connectors.ts';
import { LinkRepo } from './links.ts';
import { RunRepo } from './runs.ts';
import { IntentRepo } from './intents.ts';
import { ShadowRepo } from './shadow.ts';
import { QuarantineRepo } from './quarantine.ts';
import { IdsyncError } from '../core/errors.ts';

export interface StoreOptions {
  /** Folder for the SQLite file and the secret key. Ignored for the database file when databaseUrl is set. */
  dataDir?: string;
  /** postgres://... to use PostgreSQL; ':memory:' for a throwaway SQLite store (tests). */
  databaseUrl?: string;
  /** PostgreSQL schema to use (tests isolate themselves with one each). */
  pgSchema?: string;
  /** PostgreSQL: an idle pooled connection was ended by the server (default: one warning on stderr). */
  onIdleConnectionLost?: (e: Error) => void;
}

function warnIdleConnectionLost(e: Error): void {
  // The server's own words ("terminating connection due to administrator command"): no secret in them.
  process.emitWarning(`an idle PostgreSQL connection was ended by the server (${e.message}); idsync connects again when it next needs one`, { code: 'IDSYNC_PG_CONNECTION_LOST' });
}

export class Store {
  readonly db: Kysely<Database>;
  readonly dialect: 'sqlite' | 'postgres';
  readonly connectors: ConnectorRepo;
  readonly links: LinkRepo;
  readonly runs: RunRepo;
  readonly intents: IntentRepo;
  /** The shadow of each connector's directory (see ./shadow.ts). */
  readonly shadow: ShadowRepo;
  /** Cleanups held back for an administrator (see ./quarantine.ts). */
  readonly quarantines: QuarantineRepo;
  /** Every write of shadow rows and links says here which rows it names (see ./write-watch.ts). */
  readonly writes = new WriteWatch();

  private constructor(
    db: Kysely<Database>,
    dialect: 'sqlite' | 'postgres',
    key: Buffer,
    private readonly schema?: string,
    sqlite?: SQLite.Database,
    private readonly url?: string,
  ) {
    this.db = db;
    this.dialect = dialect;
    this.connectors = new ConnectorRepo(db, secretBox(key), this.writes);
    this.links = new LinkRepo(db, dialect, this.writes);
    this.runs = new RunRepo(db, dialect, sqlite);
    this.intents = new IntentRepo(db, dialect, this.writes);
    this.shadow = new ShadowRepo(db, dialect, this.writes);
    this.quarantines = new QuarantineRepo(db, dialect);
  }

  static async open(opts: StoreOptions = {}): Promise<Store> {
    const url = opts.databaseUrl ?? process.env.IDSYNC_DATABASE_URL;
    const schema = opts.pgSchema?.replace(/[^a-z0-9_]/gi, '') || undefined;
    const dataDir = opts.dataDir ? resolve(opts.dataDir) : undefined;
    let db: Kysely<Database>;
    let dialect: 'sqlite' | 'postgres';
    let sqliteHandle: SQLite.Database | undefined;
    if (url && /^postgres(ql)?:\/\//.test(url)) {
      // Loaded only for PostgreSQL: a store on SQLite (every CLI command by default) never needs it.
      const { default: pg } = await import('pg');
      const pool = new pg.Pool({ connectionString: url, max: 10 });
      // An idle pooled connection the server ends (a restart, a failover, pg_terminate_backend,
      // idle_session_timeout) is reported as an 'error' event on the pool: unheard, it would be an
      // uncaught exception that stops `idsync serve`. The pool has already dropped that client and
      // connects anew on the next query, so this is worth a line on stderr, not a crash.
      pool.on('error', (e) => (opts.onIdleConnectionLost ?? warnIdleConnectionLost)(e));
      if (schema) {
        pool.on('connect', (client) => void client.query(`SET search_path TO "${schema}"`));
        const c = await pool.connect();
        await c.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
        await c.query(`SET search_path TO "${schema}"`);
        c.release();
      }
      db = new Kysely<Database>({ dialect: new StorePostgresDialect({ pool }) });
      dialect = 'postgres';
    } else {
      let file = ':memory:';
      if (url !== ':memory:') {
        if (!dataDir) throw new IdsyncError('CONFIG', 'no data directory given', { hint: 'pass --data-dir DIR or set IDSYNC_DATA_DIR' });
        ensurePrivateDir(dataDir);
        file = join(dataDir, 'idsync.sqlite');
        // SQLite creates its -wal and -shm files with the database file's mode.
        ensurePrivateFile(file);
        for (const companion of [`${file}-wal`, `${file}-shm`]) narrowIfExists(companion);
      }
      const sqlite = new SQLite(file);
      sqlite.pragma('journal_mode = WAL');
      sqlite.pragma('synchronous = NORMAL');
      sqlite.pragma('foreign_keys = ON');
      sqlite.pragma('busy_timeout = 5000');
      // A full sync commits a few transactions per page of users; with the default (a checkpoint
      // every 1,000 pages, 4 MB, of WAL) a large sync copies the WAL into the database file,
      // fsync included, every few pages of users, and rewrites the same index pages each time.
      // Every 10,000 pages (40 MB of WAL) does that a tenth as often; the WAL file stays that size.
      sqlite.pragma('wal_autocheckpoint = 10000');
      db = new Kysely<Database>({ dialect: new SqliteDialect({ database: cachingStatements(sqlite) }) });
      sqliteHandle = sqlite;
      dialect = 'sqlite';
    }
    const store = new Store(db, dialect, secretKey(url === ':memory:' ? undefined : dataDir), dialect === 'postgres' ? schema : undefined, sqliteHandle, dialect === 'postgres' ? url : undefined);
    try {
      await store.migrate();
    } catch (e) {
      await db.destroy();
      throw e;
    }
    return store;
  }

  /** Applies pending migrations. Running it on an up-to-date store does nothing. */
  private async migrate(): Promise<void> {
    // With a schema of its own (tests), the migration tables live there too: Kysely would
    // otherwise find another schema's lock table and skip creating its own.
    // Before all migrations were in one list, the CLI migrated stores without 0002_auth (then
    // registered only by the server): such a store meets it after later ones; apply it anyway.
    const { error, results } = await new Migrator({
      db: this.db,
      provider: migrationProvider,
      migrationTableSchema: this.schema,
      allowUnorderedMigrations: true,
    }).migrateToLatest();
    if (error) {
      const failed = results?.find((r) => r.status === 'Error')?.migrationName;
      throw new IdsyncError('CONFIG', `the store could not be migrated${failed ? ` (${failed})` : ''}: ${(error as Error).message}`);
    }
  }

  /** The PostgreSQL schema this store lives in, when it has one of its own (tests); else undefined. */
  get pgSchema(): string | undefined {
    return this.schema;
  }

  /**
   * A PostgreSQL connection of its own, outside the pool, not yet connected: LISTEN holds its
   * connection for as long as it listens, which a pooled one must not. The caller ends it.
   */
  async dedicatedConnection(): Promise<import('pg').Client> {
    if (this.dialect !== 'postgres' || !this.url) throw new IdsyncError('CONFIG', 'a dedicated connection needs a PostgreSQL store');
    // Loaded only for a PostgreSQL store, as the pool is (open()).
    const { default: pg } = await import('pg');
    return new pg.Client({ connectionString: this.url });
  }

  /** Migrations this idsync has that the store has not applied (readiness: /readyz). */
  async pendingMigrations(): Promise<string[]> {
    const all = await new Migrator({ db: this.db, provider: migrationProvider, migrationTableSchema: this.schema }).getMigrations();
    return all.filter((m) => !m.executedAt).map((m) => m.name);
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }
}
