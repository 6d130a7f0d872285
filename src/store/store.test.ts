import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openPostgresStore, storeKinds } from '../../test/helpers/stores.ts';
import { Store } from './index.ts';
import { newRunId } from './runs.ts';
import type { ConnectorConfig } from '../config/schema.ts';

const connector: ConnectorConfig = {
  id: 'entra-main',
  name: 'Contoso',
  source: { type: 'entra', requiredGroups: [], clientSecret: { stored: 'clientSecret' } },
  targets: [{ id: 'jira', type: 'jira-dc', mapping: [], createUsers: true, createMissingGroups: false, concurrency: 8 }],
};

for (const [kind, open] of storeKinds) {
  describe(`store on ${kind}`, () => {
    test('connectors save atomically with encrypted secrets and detect concurrent edits', async () => {
      const t = await open();
      try {
        const saved = await t.store.connectors.save(connector, { secrets: { clientSecret: 'hunter2-secret' } });
        assert.equal(saved.revision, 1);
        assert.deepEqual(saved.secretNames, ['clientSecret']);
        const raw = await t.store.db.selectFrom('secrets').select('value').executeTakeFirstOrThrow();
        assert.doesNotMatch(raw.value, /hunter2/);
        const lookup = await t.store.connectors.secretLookup('entra-main');
        assert.equal(lookup('clientSecret'), 'hunter2-secret');

        const again = await t.store.connectors.save({ ...connector, name: 'Renamed' }, { expectedRevision: 1 });
        assert.equal(again.revision, 2);
        await assert.rejects(t.store.connectors.save(connector, { expectedRevision: 1 }), /changed by someone else/);
        assert.equal((await t.store.connectors.get('entra-main'))?.config.name, 'Renamed');
        assert.equal((await t.store.connectors.secretLookup('entra-main'))('clientSecret'), 'hunter2-secret');

        assert.equal(await t.store.connectors.delete('entra-main'), true);
        assert.equal(await t.store.connectors.get('entra-main'), undefined);
      } finally {
        await t.dispose();
      }
    });

    test('links upsert in bulk, page through source ids and keep snapshots', async () => {
      const t = await open();
      try {
        const links = Array.from({ length: 1203 }, (_, i) => ({
          connectorId: 'c',
          targetId: 'jira',
          sourceId: `s${String(i).padStart(5, '0')}`,
          targetKey: `JIRAUSER${i}`,
          targetUsername: `user${i}`,
          label: `User ${i}`,
          applied: { 'user.displayName': `User ${i}`, groups: ['a'] },
          managedGroups: ['a'],
          missingSince: null,
          fingerprint: i % 2 ? `fp${i}` : null,
        }));
        await t.store.links.upsertMany(links);
        await t.store.links.upsertMany([{ ...links[5]!, applied: { 'user.displayName': 'Changed' } }]);
        const got = await t.store.links.getMany('c', 'jira', ['s00005', 's00006', 'nope']);
        assert.equal(got.size, 2);
        assert.deepEqual(got.get('s00005')?.applied, { 'user.displayName': 'Changed' });
        assert.deepEqual(got.get('s00006')?.managedGroups, ['a']);
        let seen = 0;
        for await (const page of t.store.links.sourceIds('c', 'jira')) seen += page.length;
        assert.equal(seen, 1203);
        assert.equal((await t.store.links.byTargetKey('c', 'jira', 'JIRAUSER7'))?.sourceId, 's00007');
        assert.equal((await t.store.links.search('c', 'user 1202'))[0]?.sourceId, 's01202');
        assert.deepEqual((await t.store.links.search('c', 'user 1202\u0000')).map((l) => l.sourceId), ['s01202']);
        assert.deepEqual(await t.store.links.search('c', 'nobody\u0000'), []);
        assert.equal(await t.store.links.count('c'), 1203);
        const digests = await t.store.links.digests('c', 'jira');
        assert.equal(digests.size, 1203);
        assert.deepEqual(digests.get('s00007'), { fingerprint: 'fp7', username: 'user7', missing: false });
        assert.equal(digests.get('s00008')?.fingerprint, null);
        await t.store.links.upsertMany([{ ...links[9]!, managedGroups: ['A', 'dept-x'] }]);
        await t.store.links.setMissing('c', 'jira', ['s00010'], new Date().toISOString());
        const census = await t.store.links.groupCensus('c', 'jira');
        assert.equal(census.linked, 1202, 'missing links are not counted');
        assert.deepEqual([...census.members].sort(), [['a', 1202], ['dept-x', 1]], 'group names count without regard to case');
      } finally {
        await t.dispose();
      }
    });

    test('a run recorded before usersWritten existed reads back with it, from its old name writes', async () => {
      const t = await open();
      try {
        await t.store.runs.create({ id: 'old', connectorId: 'c', kind: 'full', dryRun: false, reconcile: false, trigger: 'cli', userRef: null, startedAt: new Date().toISOString() });
        const old = { read: 3, created: 3, updated: 0, unchanged: 0, failed: 0, skipped: 0, missing: 0, writes: 3, targets: { jira: { created: 3, updated: 0, unchanged: 0, failed: 0, skipped: 0, missing: 0, writes: 3 } } };
        await t.store.db.updateTable('runs').set({ counts: JSON.stringify(old) }).where('id', '=', 'old').execute();
        const counts = (await t.store.runs.get('old'))!.counts;
        assert.equal(counts.usersWritten, 3);
        assert.equal(counts.targets?.jira?.usersWritten, 3);
      } finally {
        await t.dispose();
      }
    });

    test('one running run per connector across processes; a run without heartbeats is taken for dead', async () => {
      const t = await open();
      try {
        const start = (id: string, connectorId = 'c', startedAt = new Date().toISOString()) =>
          t.store.runs.create({ id, connectorId, kind: 'full', dryRun: false, reconcile: false, trigger: 'cli', userRef: null, startedAt });
        await start('r1');
        await assert.rejects(start('r2'), (e: any) => e.code === 'CONFLICT' && /run r1/.test(e.message));
        await start('other', 'd'); // another connector is independent
        // r1's process dies: no heartbeat for longer than the stale limit.
        await t.store.db.updateTable('runs').set({ heartbeat_at: new Date(Date.now() - 10 * 60_000).toISOString() }).where('id', '=', 'r1').execute();
        await start('r3');
        assert.equal((await t.store.runs.get('r1'))?.status, 'failed');
        assert.match((await t.store.runs.get('r1'))?.error ?? '', /interrupted/);
        // A live run (fresh heartbeat) survives a restart's clean-up; a silent one does not.
        await t.store.runs.heartbeat('r3', { read: 5, created: 1, updated: 0, unchanged: 4, failed: 0, skipped: 0, missing: 0, usersWritten: 1, writes: 1 });
        await t.store.db.updateTable('runs').set({ heartbeat_at: new Date(Date.now() - 5 * 60_000).toISOString() }).where('id', '=', 'other').execute();
        assert.equal(await t.store.runs.failInterrupted('stopped'), 1);
        assert.equal((await t.store.runs.get('r3'))?.status, 'running');
        assert.equal((await t.store.runs.get('r3'))?.counts.read, 5);
        assert.equal((await t.store.runs.get('other'))?.status, 'failed');
      } finally {
        await t.dispose();
      }
    });

    test('runs and items are journaled, filtered and paged', async () => {
      const t = await open();
      try {
        const id = newRunId();
        await t.store.runs.create({ id, connectorId: 'c', kind: 'full', dryRun: false, reconcile: false, trigger: 'cli', userRef: null, startedAt: new Date().toISOString() });
        await t.store.runs.addItems(id, [
          { seq: 1, sourceId: 'a', label: 'Alice Ärger', targetId: 'jira', operation: 'created', error: null, changes: [{ field: 'user.email', before: undefined, after: 'a@x' }], details: null },
          { seq: 2, sourceId: 'b', label: 'Bob', targetId: 'jira', operation: 'failed', error: 'boom', changes: [], details: { step: 'write' } },
          { seq: 3, sourceId: 'c', label: 'Carol', targetId: 'jira', operation: 'unchanged', error: null, changes: [], details: null },
        ]);
        await t.store.runs.update(id, { status: 'partial', finishedAt: new Date().toISOString() });
        const run = await t.store.runs.get(id);
        assert.equal(run?.status, 'partial');
        const failed = await t.store.runs.items(id, { operation: 'failed' });
        assert.equal(failed.total, 1);
        assert.deepEqual(failed.items[0]?.details, { step: 'write' });
        const search = await t.store.runs.items(id, { search: 'alice' });
        assert.equal(search.items[0]?.changes[0]?.after, 'a@x');
        // NUL once ended the pattern (SQLite: every item matched) or was refused (PostgreSQL).
        const labels = async (text: string) => (await t.store.runs.items(id, { search: text })).items.map((i) => i.label);
        assert.deepEqual(await labels('\u0000alice'), ['Alice Ärger']);
        assert.deepEqual(await labels('bo\u0000b\u0007\u009f'), ['Bob']);
        assert.deepEqual(await labels('nobody\u0000'), []);
        const page = await t.store.runs.items(id, { limit: 1, offset: 1 });
        assert.equal(page.total, 3);
        assert.equal(page.items[0]?.seq, 2);
        assert.equal((await t.store.runs.list({ connectorId: 'c' })).length, 1);
        assert.equal(await t.store.runs.failInterrupted('x'), 0, 'a finished run is left alone');
      } finally {
        await t.dispose();
      }
    });
  });
}

describe('the data directory is for the service user only', () => {
  const modeOf = (path: string) => (statSync(path).mode & 0o777).toString(8);

  test('a new store: directory 0700; database, its WAL files and secret.key 0600, whatever the umask', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'idsync-modes-'));
    const dataDir = join(parent, 'data');
    const umask = process.umask(0); // the most permissive: modes must not come from it
    try {
      const store = await Store.open({ dataDir, databaseUrl: undefined });
      try {
        await store.connectors.save(connector, { secrets: { clientSecret: 'x' } }); // a write: the WAL file exists
        const files = ['idsync.sqlite', 'idsync.sqlite-wal', 'idsync.sqlite-shm', 'secret.key'];
        assert.deepEqual(readdirSync(dataDir).sort(), [...files].sort(), 'no other file (no key draft left behind)');
        assert.deepEqual(
          [dataDir, ...files.map((f) => join(dataDir, f))].map(modeOf),
          ['700', '600', '600', '600', '600'],
        );
      } finally {
        await store.close();
      }
    } finally {
      process.umask(umask);
      rmSync(parent, { recursive: true, force: true });
    }
  });

  test('files an older idsync left readable by others are narrowed to 0600 when the store opens', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'idsync-modes-'));
    try {
      const first = await Store.open({ dataDir, databaseUrl: undefined });
      await first.connectors.save(connector);
      await first.close();
      for (const f of ['idsync.sqlite', 'secret.key']) chmodSync(join(dataDir, f), 0o644);
      const again = await Store.open({ dataDir, databaseUrl: undefined });
      try {
        assert.deepEqual(['idsync.sqlite', 'secret.key'].map((f) => modeOf(join(dataDir, f))), ['600', '600']);
        assert.equal((await again.connectors.get('entra-main'))?.config.name, 'Contoso', 'the store still opens');
      } finally {
        await again.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test('with PostgreSQL the data directory keeps only secret.key, 0600 in a 0700 directory', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'idsync-modes-'));
    const dataDir = join(parent, 'data');
    const t = await openPostgresStore(dataDir);
    try {
      assert.deepEqual(readdirSync(dataDir), ['secret.key']);
      assert.deepEqual([modeOf(dataDir), modeOf(join(dataDir, 'secret.key'))], ['700', '600']);
    } finally {
      await t.dispose();
      rmSync(parent, { recursive: true, force: true });
    }
  });
});
