// Opens a throwaway store of each kind the suite runs against: a real SQLite file and a real
// PostgreSQL schema (the local server, database `test`), dropped afterwards.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { Store, type StoreOptions } from '../../src/store/index.ts';

export const PG_URL = process.env.IDSYNC_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * A fresh database on the local PostgreSQL server, for idsync processes that take only a URL
 * (the CLI has no schema option); `drop()` removes it, whoever is still connected.
 */
export async function freshPostgresDatabase(prefix: string): Promise<{ url: string; drop(): Promise<void> }> {
  const database = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = async (statement: string) => {
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    try {
      await c.query(statement);
    } finally {
      await c.end();
    }
  };
  await admin(`CREATE DATABASE "${database}"`);
  const url = new URL(PG_URL);
  url.pathname = `/${database}`;
  return { url: url.toString(), drop: () => admin(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`) };
}

export interface TestStore {
  kind: 'sqlite' | 'postgres';
  store: Store;
  dataDir: string;
  /** The PostgreSQL schema (postgres kind), for a child process to open the same store. */
  pgSchema?: string;
  /** What opens this same store again (another process, e.g. a crash test's child). */
  options: StoreOptions;
  dispose(): Promise<void>;
}

export async function openSqliteStore(): Promise<TestStore> {
  const dataDir = mkdtempSync(join(tmpdir(), 'idsync-test-'));
  const store = await Store.open({ dataDir });
  return {
    kind: 'sqlite',
    store,
    dataDir,
    options: { dataDir },
    async dispose() {
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * A test schema is named after the process that made it (`idsync_test_p<pid>_<random>`), so that
 * one left behind by a process that never reached its cleanup (killed by a file's timeout or a
 * SIGKILL, a hook that threw first) is dropped by the next test process that opens one: see
 * dropOrphanedSchemas. Schemas of live processes, other test runs included, are left alone.
 */
const SCHEMA_PREFIX = 'idsync_test_p';
let orphansDropped: Promise<void> | undefined;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Drops the test schemas (and their pg-boss `_boss` schemas) of processes no longer running. */
async function dropOrphanedSchemas(): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    const { rows } = await client.query<{ nspname: string }>(`SELECT nspname FROM pg_namespace WHERE nspname LIKE 'idsync\\_test\\_p%'`);
    for (const { nspname } of rows) {
      const pid = Number(/^idsync_test_p(\d+)_/.exec(nspname)?.[1]);
      if (!pid || alive(pid)) continue;
      await client.query(`DROP SCHEMA IF EXISTS "${nspname}" CASCADE`);
    }
  } finally {
    await client.end();
  }
}

async function dropSchemas(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    // The job queue's (pg-boss) beside it: every server on a PostgreSQL store has one.
    await client.query(`DROP SCHEMA IF EXISTS "${schema}_boss" CASCADE`);
  } finally {
    await client.end();
  }
}

/** `dataDir`: where secret.key goes (a new temporary directory by default). */
export async function openPostgresStore(dataDir = mkdtempSync(join(tmpdir(), 'idsync-test-'))): Promise<TestStore> {
  await (orphansDropped ??= dropOrphanedSchemas().catch(() => undefined));
  const schema = `${SCHEMA_PREFIX}${process.pid}_${randomBytes(6).toString('hex')}`;
  const options = { dataDir, databaseUrl: PG_URL, pgSchema: schema };
  let store: Store;
  try {
    store = await Store.open(options);
  } catch (e) {
    // Opening may have created the schema (migrations) before it failed.
    await dropSchemas(schema).catch(() => undefined);
    throw e;
  }
  return {
    kind: 'postgres',
    store,
    dataDir,
    pgSchema: schema,
    options,
    async dispose() {
      // The schemas go even when closing the store fails (a pool already ended, a query that threw).
      try {
        await store.close();
      } finally {
        await dropSchemas(schema);
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
  };
}

export const storeKinds: Array<[string, () => Promise<TestStore>]> = [
  ['sqlite', openSqliteStore],
  ['postgres', openPostgresStore],
];
