// The marks of who a full read returned (engine/seen-marks.ts), through the engine on both
// stores: a user a complete read left out is found missing, the new users it returned are not;
// a run that writes marks nobody in the store (bits by shadow row number), a dry run marks only
// its users without a shadow row there; a read that fails part-way (its marks lost with it, as a
// crashed process's are) removes nobody, and the next complete read finds nobody missing. And a
// SQLite store that had shadow rows before the row numbers keeps them, numbered.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect } from 'kysely';
import { ACCOUNT_MAPPING, memoryDataset, person } from './helpers/memory-source.ts';
import { storeKinds, type TestStore } from './helpers/stores.ts';
import { resetJira, syncHooks } from './helpers/sync-hooks.ts';
import { startJiraDcEmulator, type JiraDcEmulator } from '../emulators/jira-dc/index.ts';
import type { SyncEngine } from '../src/engine/engine.ts';
import type { ConnectorConfig } from '../src/config/schema.ts';
import { migrationProvider } from '../src/store/migrations.ts';
import { Store } from '../src/store/index.ts';

process.env.TEST_JIRA_PAT = 'admin-pat';

const connector = (url: string): ConnectorConfig => ({
  id: 'marks',
  source: { type: 'memory', dataset: 'marks-org', requiredGroups: [] },
  targets: [{ id: 'jira', type: 'jira-dc', url, auth: { type: 'pat', token: { env: 'TEST_JIRA_PAT' } }, mapping: ACCOUNT_MAPPING, createUsers: true, createMissingGroups: false, concurrency: 2 }] as ConnectorConfig['targets'],
});

const names = ['Ada Alpha', 'Bob Beta', 'Cy Gamma', 'Di Delta', 'Ed Epsilon', 'Flo Zeta'];
const org = () => names.map((n, i) => person(`id-${i}`, n));

for (const [kind, openStore] of storeKinds) {
  describe(`a full read's marks through the engine (${kind} store)`, () => {
    let jira: JiraDcEmulator;
    let t: TestStore;
    let engine: SyncEngine;
    syncHooks({ start: () => startJiraDcEmulator(), reset: (j) => resetJira(j), openStore, ready: (w) => ({ env: jira, t, engine } = w) });

    /** Ids marked in the store (run_seen) by the runs from here on. */
    const storeMarks = () => {
      const marked: string[] = [];
      const seen = t.store.shadow.seen;
      const mark = seen.mark.bind(seen);
      seen.mark = async (runId, ids, inScope) => {
        marked.push(...ids);
        return mark(runId, ids, inScope);
      };
      return marked;
    };
    const missingOf = async (ids: string[]) => [...(await t.store.links.getMany('marks', 'jira', ids)).values()].filter((l) => l.missingSince !== null).map((l) => l.sourceId).sort();

    test('a user left out is missing, the new users returned are not; nothing is marked in the store', async () => {
      const ds = memoryDataset('marks-org', org(), 2);
      const first = await engine.run({ connector: connector(jira.url), kind: 'full', trigger: 'cli' });
      assert.equal(first.run.status, 'succeeded', first.run.error ?? '');
      assert.equal(first.run.counts.created, 6);
      const marked = storeMarks();
      // id-2 is no longer listed (not a removal the provider reports: only the complete read tells); two newcomers are.
      ds.users = ds.users.filter((u) => u.id !== 'id-2');
      ds.users.push(person('id-new-1', 'Gus Eta'), person('id-new-2', 'Hal Theta'));
      const second = await engine.run({ connector: connector(jira.url), kind: 'full', trigger: 'cli' });
      assert.equal(second.run.status, 'succeeded', second.run.error ?? '');
      assert.equal(second.run.counts.created, 2, 'the newcomers are created');
      assert.equal(second.run.counts.disabled, 1, 'the user left out is cleaned up (disabled), nobody else');
      assert.equal((await t.store.shadow.digestsOf('marks', ['id-2'])).get('id-2')?.tombstone, 'not-returned');
      assert.deepEqual(marked, [], 'every user read has a shadow row by the end of its page: marked in memory only');
      // A no-change run after it: nothing more missing, nothing written.
      const third = await engine.run({ connector: connector(jira.url), kind: 'full', trigger: 'cli' });
      assert.equal(third.run.status, 'succeeded', third.run.error ?? '');
            assert.equal(third.run.counts.usersWritten, 0);
      assert.deepEqual(marked, []);
    });

    test('a dry run marks its new users in the store, finds nobody else missing, and leaves no mark', async () => {
      const ds = memoryDataset('marks-org', org(), 2);
      const first = await engine.run({ connector: connector(jira.url), kind: 'full', trigger: 'cli' });
      assert.equal(first.run.status, 'succeeded', first.run.error ?? '');
      const marked = storeMarks();
      ds.users.push(person('id-new-1', 'Gus Eta'));
      ds.users = ds.users.filter((u) => u.id !== 'id-4');
      const dry = await engine.run({ connector: connector(jira.url), kind: 'full', trigger: 'cli', dryRun: true });
      assert.equal(dry.run.status, 'succeeded', dry.run.error ?? '');
      assert.deepEqual(marked, ['id-new-1'], 'the one user without a shadow row');
      assert.equal(dry.run.counts.disabled, 1, 'the user left out would be disabled');
      assert.equal(await t.store.shadow.seen.count(dry.run.id), 0, 'the store marks went with the run');
      assert.deepEqual(await missingOf(org().map((u) => u.id)), [], 'a dry run writes no missing mark');
    });

    test('a read that fails part-way removes nobody; the next complete read finds nobody missing', async () => {
      const ds = memoryDataset('marks-org', org(), 2);
      const first = await engine.run({ connector: connector(jira.url), kind: 'full', trigger: 'cli' });
      assert.equal(first.run.status, 'succeeded', first.run.error ?? '');
      ds.failAfterPages = 1;
      const failed = await engine.run({ connector: connector(jira.url), kind: 'full', trigger: 'cli' });
      assert.equal(failed.run.status, 'failed');
      assert.equal(failed.run.counts.disabled ?? 0, 0);
      assert.deepEqual(await missingOf(org().map((u) => u.id)), []);
      assert.equal(await t.store.shadow.count('marks', { live: true }), 6, 'no tombstone');
      ds.failAfterPages = undefined;
      const next = await engine.run({ connector: connector(jira.url), kind: 'full', trigger: 'cli' });
      assert.equal(next.run.status, 'succeeded', next.run.error ?? '');
      assert.equal(next.run.counts.disabled ?? 0, 0, 'the failed run marked nobody for the next one');
      assert.deepEqual(await missingOf(org().map((u) => u.id)), []);
    });
  });
}

describe('the row numbers migration on a SQLite store with shadow rows', () => {
  test('the rows, their columns and indexes stay; each row is numbered by its rowid', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'idsync-test-'));
    try {
      const file = join(dataDir, 'idsync.sqlite');
      const raw = new SQLite(file);
      const db = new Kysely<any>({ dialect: new SqliteDialect({ database: raw }) });
      const all = await migrationProvider.getMigrations();
      const before = Object.fromEntries(Object.entries(all).filter(([name]) => name < '0016_wt-seen_shadow_row_numbers'));
      const { error } = await new Migrator({ db, provider: { getMigrations: async () => before } }).migrateToLatest();
      assert.ifError(error);
      const rows = ['u3', 'u1', 'u2'].map((id, i) => ({ connector_id: 'c', source_id: id, record: JSON.stringify({ attrs: { id } }), fingerprint: `f${id}`, manager_id: i === 0 ? null : 'u3', tombstone: null, tombstone_at: null, pending: i % 2, updated_at: 'now' }));
      await db.insertInto('shadow_users').values(rows).execute();
      const rowids = Object.fromEntries(raw.prepare('select source_id, rowid from shadow_users').all().map((r: any) => [r.source_id, r.rowid]));
      await db.destroy();

      const store = await Store.open({ dataDir });
      try {
        assert.deepEqual(Object.fromEntries(await store.shadow.rowNumbersOf('c', ['u1', 'u2', 'u3'])), rowids, 'numbered by rowid');
        const got = await store.shadow.getMany('c', ['u1', 'u2', 'u3']);
        for (const r of rows) {
          const g = got.get(r.source_id)!;
          assert.deepEqual([g.record, g.fingerprint, g.managerId, g.pending], [JSON.parse(r.record), r.fingerprint, r.manager_id, r.pending === 1]);
        }
        assert.deepEqual((await store.shadow.reportsOf('c', ['u3'])).sort(), ['u1', 'u2']);
        const indexes = (await store.db.selectFrom('sqlite_master' as any).select('name' as any).where('tbl_name' as any, '=', 'shadow_users').where('type' as any, '=', 'index').execute()).map((r: any) => r.name).sort();
        assert.ok(indexes.includes('shadow_users_by_manager') && indexes.includes('shadow_users_pending'), `indexes kept: ${indexes}`);
        // A new row takes the next number; an upsert of a known one keeps its own.
        await store.shadow.put('c', [{ sourceId: 'u4', record: { attrs: {} }, fingerprint: 'f', managerId: null, tombstone: null, tombstoneAt: null, pending: false }, { sourceId: 'u1', record: { attrs: {} }, fingerprint: 'g', managerId: null, tombstone: null, tombstoneAt: null, pending: false }]);
        const after = await store.shadow.rowNumbersOf('c', ['u1', 'u4']);
        assert.equal(after.get('u1'), rowids.u1);
        assert.equal(after.get('u4'), Math.max(...Object.values(rowids) as number[]) + 1);
      } finally {
        await store.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
