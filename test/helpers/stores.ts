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

/** `dataDir`: where secret.key goes (a new temporary directory by default). */
export async function openPostgresStore(dataDir = mkdtempSync(join(tmpdir(), 'idsync-test-'))): Promise<TestStore> {
  const schema = `idsync_test_${randomBytes(6).toString('hex')}`;
  const options = { dataDir, databaseUrl: PG_URL, pgSchema: schema };
  const store = await Store.open(options);
  return {
    kind: 'postgres',
    store,
    dataDir,
    pgSchema: schema,
    options,
    async dispose() {
      await store.close();
      const client = new pg.Client({ connectionString: PG_URL });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      // The job queue's (pg-boss) beside it: every server on a PostgreSQL store has one.
      await client.query(`DROP SCHEMA IF EXISTS "${schema}_boss" CASCADE`);
      await client.end();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export const storeKinds: Array<[string, () => Promise<TestStore>]> = [
  ['sqlite', openSqliteStore],
  ['postgres', openPostgresStore],
];
