// Who a full read returned lives in the store (run_seen, store/shadow.ts SeenRepo), so the sweep
// and the read guard need no set of every id in memory. On both stores: the marks, the queries
// the sweep and the guard make against them, that a run's rows cannot touch another run's, that
// they go with the run, and that a full sync leaves none behind and writes no shadow row when
// nothing changed.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { storeKinds } from './helpers/stores.ts';
import type { Link } from '../src/store/links.ts';
import type { ShadowRow } from '../src/store/shadow.ts';
import type { Store } from '../src/store/index.ts';

const link = (sourceId: string, missing = false): Link => ({
  connectorId: 'c',
  targetId: 'jira',
  sourceId,
  targetKey: `K-${sourceId}`,
  targetUsername: sourceId,
  label: null,
  applied: {},
  managedGroups: [],
  missingSince: missing ? new Date().toISOString() : null,
  fingerprint: `fp-${sourceId}`,
});
const row = (sourceId: string, tombstone: ShadowRow['tombstone'] = null): ShadowRow => ({ sourceId, record: tombstone ? null : { attrs: { n: sourceId } }, fingerprint: `f-${sourceId}`, managerId: null, tombstone, tombstoneAt: null, pending: false });

async function runOf(store: Store, id: string, status: 'running' | 'succeeded'): Promise<void> {
  await store.runs.create({ id, connectorId: `conn-${id}`, kind: 'full', dryRun: false, reconcile: false, trigger: 'test', userRef: null, startedAt: new Date().toISOString() });
  if (status !== 'running') await store.runs.update(id, { status, finishedAt: new Date().toISOString() });
}

for (const [kind, open] of storeKinds) {
  describe(`run_seen on ${kind}`, () => {
    test('marks, the sweep and read-guard queries against them, and their removal', async () => {
      const t = await open();
      try {
        const { shadow, links } = t.store;
        // 3,000 users in the shadow and linked (more than a page of the sweep's queries), one
        // tombstoned already, one link missing, one link the shadow never held.
        const ids = Array.from({ length: 3000 }, (_, i) => `u${String(i).padStart(5, '0')}`);
        await shadow.put('c', [...ids.map((id) => row(id)), row('gone-before', 'deleted')]);
        await links.upsertMany([...ids.map((id) => link(id)), link('missing-link', true), link('linked-only')]);
        await runOf(t.store, 'run-a', 'running');
        await runOf(t.store, 'run-b', 'running');

        // The read returned all but the last 10 (one of those out of scope), and run-b saw nobody.
        const returned = ids.slice(0, 2990);
        await shadow.seen.mark('run-a', returned, true);
        await shadow.seen.mark('run-a', ['u02990'], false);
        await shadow.seen.mark('run-a', returned.slice(0, 5), false); // returned both ways: in scope
        assert.equal(await shadow.seen.count('run-a'), 2990, 'distinct ids returned in scope');
        assert.deepEqual([...(await shadow.seen.outside('run-a', ['u02990', 'u00001', 'u02991']))], ['u02990'], 'only the id returned out of scope only');

        const notSeen: string[] = [];
        for (let after = ''; ; ) {
          const page = await shadow.notSeen('c', 'run-a', after, 4);
          if (page.length === 0) break;
          after = page[page.length - 1]!.sourceId;
          notSeen.push(...page.map((p) => `${p.sourceId}:${p.tombstone ?? ''}`));
        }
        assert.deepEqual(notSeen, ['gone-before:deleted', ...ids.slice(2991).map((id) => `${id}:`)], 'shadow rows not returned (out of scope counts as returned), in id order across pages');
        assert.deepEqual(await links.notSeen('c', 'jira', 'run-a', '', 100, { notInShadow: true }), ['linked-only', 'missing-link'], 'links the shadow never held');
        assert.deepEqual(await links.notSeen('c', 'jira', 'run-a', '', 100, { active: true, inScope: true }), ['linked-only', 'u02990', ...ids.slice(2991)], 'active links not returned in scope (the out-of-scope one counts)');
        assert.deepEqual(await links.readDrop('c', 'jira', 'run-a'), { linked: 3001, notReturned: 11 }, 'the read guard counts');
        assert.deepEqual(await links.readDrop('c', 'jira', 'run-b'), { linked: 3001, notReturned: 3001 }, "another run's marks are its own");

        // Rows of runs no longer running go at the next exhaustive run's start; running ones stay.
        await shadow.seen.mark('run-b', ['u00001'], true);
        await runOf(t.store, 'run-done', 'succeeded');
        await shadow.seen.mark('run-done', ['u00001'], true);
        await shadow.seen.mark('run-vanished', ['u00001'], true);
        await shadow.seen.clearStale('run-a');
        assert.equal(await shadow.seen.count('run-done'), 0, 'a finished run’s rows are stale');
        assert.equal(await shadow.seen.count('run-vanished'), 0, 'rows of a run not in the store are stale');
        assert.equal(await shadow.seen.count('run-b'), 1, 'a running run keeps its rows');
        assert.equal(await shadow.seen.count('run-a'), 2990, 'the caller keeps its rows');
        await shadow.seen.clear('run-a');
        assert.equal(await shadow.seen.count('run-a'), 0, 'a run’s rows go with it');
        assert.equal(await shadow.seen.count('run-b'), 1, 'clearing one run leaves the others');
      } finally {
        await t.dispose();
      }
    });
  });
}
