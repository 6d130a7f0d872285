// The statement cache Kysely's SQLite driver is given: the same SQL text gets the statement
// prepared before, a statement still iterating is never handed out twice, the cache is bounded,
// and results are what a fresh statement gives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { cachingStatements } from './sqlite-statements.ts';

test('the same SQL text gets the statement prepared before; another text a new one', () => {
  const raw = new SQLite(':memory:');
  const db = cachingStatements(raw, 3);
  try {
    const a = db.prepare('SELECT 1 AS x');
    assert.equal(db.prepare('SELECT 1 AS x'), a, 'same text: the cached statement');
    assert.notEqual(db.prepare('SELECT 2 AS x'), a, 'another text: another statement');
    assert.equal(db.cached, 2, 'two texts cached');
  } finally {
    db.close();
  }
});

test('a statement still iterating is not handed out again: a fresh one is prepared', () => {
  const raw = new SQLite(':memory:');
  const db = cachingStatements(raw);
  try {
    raw.exec('CREATE TABLE t (n INTEGER); INSERT INTO t VALUES (1), (2), (3)');
    const first = db.prepare('SELECT n FROM t ORDER BY n') as unknown as SQLite.Statement;
    const it = first.iterate();
    assert.deepEqual(it.next().value, { n: 1 }, 'iteration started');
    const second = db.prepare('SELECT n FROM t ORDER BY n') as unknown as SQLite.Statement;
    assert.notEqual(second, first, 'the busy statement is not reused');
    assert.deepEqual(second.all(), [{ n: 1 }, { n: 2 }, { n: 3 }], 'the fresh statement runs while the other iterates');
    assert.deepEqual([...it].map((r) => (r as { n: number }).n), [2, 3], 'the first iteration goes on undisturbed');
    assert.equal(db.prepare('SELECT n FROM t ORDER BY n'), first, 'once done, the cached statement is used again');
  } finally {
    db.close();
  }
});

test('the cache is bounded: the least recently used text goes first', () => {
  const raw = new SQLite(':memory:');
  const db = cachingStatements(raw, 2);
  try {
    const one = db.prepare('SELECT 1');
    db.prepare('SELECT 2');
    assert.equal(db.prepare('SELECT 1'), one, 'used again: now the most recent');
    db.prepare('SELECT 3'); // evicts SELECT 2, the least recently used
    assert.equal(db.cached, 2, 'never more than the bound');
    assert.equal(db.prepare('SELECT 1'), one, 'the recently used text stayed');
  } finally {
    db.close();
  }
});

test('through Kysely: repeated queries, writes and a schema change give the right results', async () => {
  const raw = new SQLite(':memory:');
  const db = new Kysely<any>({ dialect: new SqliteDialect({ database: cachingStatements(raw) }) });
  try {
    await sql`CREATE TABLE t (id TEXT PRIMARY KEY, v INTEGER)`.execute(db);
    for (let i = 0; i < 5; i++) await db.insertInto('t').values({ id: `k${i}`, v: i }).execute();
    for (let i = 0; i < 5; i++) {
      const row = await db.selectFrom('t').selectAll().where('id', '=', `k${i}`).executeTakeFirst();
      assert.deepEqual(row, { id: `k${i}`, v: i }, `row k${i} read through the cached statement`);
    }
    // A column added after the statement was prepared: SQLite re-prepares it by itself.
    await sql`ALTER TABLE t ADD COLUMN w INTEGER DEFAULT 7`.execute(db);
    const row = await db.selectFrom('t').selectAll().where('id', '=', 'k1').executeTakeFirst();
    assert.deepEqual(row, { id: 'k1', v: 1, w: 7 }, 'selectAll sees the new column after the schema change');
    const updated = await db.updateTable('t').set({ v: 10 }).where('id', 'in', ['k1', 'k2']).executeTakeFirst();
    assert.equal(Number(updated.numUpdatedRows), 2, 'a write through a cached statement reports its changes');
  } finally {
    await db.destroy();
  }
});
