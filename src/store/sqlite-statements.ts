// Kysely's SQLite driver prepares a statement for every query it runs (`db.prepare(sql)`), and a
// sync runs the same few dozen SQL texts thousands of times (links of a page, shadow rows, intents,
// settles). Preparing is parsing and planning the SQL each time: this hands Kysely a database whose
// `prepare` returns the statement prepared earlier for the same text.
//
// Safe because Kysely runs a statement to completion (`all` / `run`) before the next query on the
// single connection; a statement still being iterated (`streamQuery`) is `busy`, and then a fresh
// one is prepared instead. SQLite re-prepares a cached statement by itself after a schema change
// (migrations). Texts differ with the number of values in an `IN (…)` list or a multi-row insert,
// so the cache is bounded (least recently used out).
import type SQLite from 'better-sqlite3';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

export const STATEMENT_CACHE_SIZE = 200;

export function cachingStatements(db: SQLite.Database, size = STATEMENT_CACHE_SIZE): SqliteDatabase & { readonly cached: number } {
  const cache = new Map<string, SQLite.Statement>();
  return {
    get cached() {
      return cache.size;
    },
    close: () => db.close(),
    prepare(sql: string): SqliteStatement {
      const hit = cache.get(sql);
      if (hit && !hit.busy) {
        // Most recently used last: Map keeps insertion order.
        cache.delete(sql);
        cache.set(sql, hit);
        return hit as unknown as SqliteStatement;
      }
      const stmt = db.prepare(sql);
      if (!hit) {
        cache.set(sql, stmt);
        if (cache.size > size) cache.delete(cache.keys().next().value!);
      }
      return stmt as unknown as SqliteStatement;
    },
  };
}
