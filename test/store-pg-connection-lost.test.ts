// PostgreSQL ends an idle pooled connection (a restart, a failover, pg_terminate_backend,
// idle_session_timeout): the store hears it (an unheard pool 'error' would be an uncaught
// exception that stops `idsync serve`), says so once, and its next query connects again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { sql } from 'kysely';
import { Store } from '../src/store/index.ts';
import { freshPostgresDatabase, PG_URL } from './helpers/stores.ts';

test('an idle PostgreSQL connection the server ends is reported, not thrown, and the store goes on', { timeout: 60_000 }, async () => {
  const database = await freshPostgresDatabase('idsync_conn_lost');
  const dataDir = mkdtempSync(join(tmpdir(), 'idsync-conn-lost-'));
  const lost: Error[] = [];
  const store = await Store.open({ dataDir, databaseUrl: database.url, onIdleConnectionLost: (e) => lost.push(e) });
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  try {
    const before = await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(store.db);
    const pid = before.rows[0]!.pid;
    // The connection is idle in the pool now: the server ends it.
    const ended = await admin.query('SELECT pg_terminate_backend($1) AS ok', [pid]);
    assert.equal(ended.rows[0].ok, true, 'the backend was terminated');
    for (let i = 0; i < 50 && lost.length === 0; i++) await sleep(100);
    assert.equal(lost.length, 1, 'the lost connection was reported once');
    assert.match(lost[0]!.message, /terminating connection/, 'with the server\'s words');
    const after = await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(store.db);
    assert.notEqual(after.rows[0]!.pid, pid, 'the next query ran on a new connection');
    assert.equal((await store.connectors.list()).length, 0, 'the store works as before');
  } finally {
    await admin.end();
    await store.close();
    await database.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
