// Who a full read returned (engine/seen-marks.ts): one bit per shadow row number in the run's
// memory, and run_seen rows (store/shadow.ts SeenRepo) only for ids without a shadow row (a dry
// run's new users), so the sweep and the read guard need no set of every id in memory and a
// no-change read writes nothing to say whom it saw. On both stores: the marks, the queries the
// sweep and the guard make against them, users new to the shadow, that a run's marks cannot
// touch another run's, that store marks go with the run, and that row numbers are stable.
import { describe, test } from 'node:test';
import { sql } from 'kysely';
import assert from 'node:assert/strict';
import { storeKinds } from './helpers/stores.ts';
import type { Link } from '../src/store/links.ts';
import type { ShadowRow } from '../src/store/shadow.ts';
import type { Store } from '../src/store/index.ts';
import { SeenMarks } from '../src/engine/seen-marks.ts';

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

async function collect(pages: AsyncIterable<string[]>): Promise<string[]> {
  const out: string[] = [];
  for await (const p of pages) out.push(...p);
  return out;
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

        // The read returned all but the last 10 (one of those out of scope), and run-b saw nobody:
        // marked by row number, as a page's digests bring them.
        const returned = ids.slice(0, 2990);
        const digests = await shadow.digestsOf('c', ids);
        const rowNoOf = (id: string) => digests.get(id)?.rowNo;
        const marks = new SeenMarks(shadow, links, 'c', 'run-a');
        await marks.start();
        await marks.mark(returned, ['u02990'], rowNoOf, false);
        await marks.mark([], returned.slice(0, 5), rowNoOf, false); // returned both ways: in scope
        assert.equal(await marks.count(), 2990, 'distinct ids returned in scope');
        assert.equal(await shadow.seen.count('run-a'), 0, 'users with a shadow row are marked in memory: no run_seen row');
        assert.deepEqual([...(await marks.outsideOnly(['u02990', 'u00001', 'u02991']))], ['u02990'], 'only the id returned out of scope only');

        const notSeen: string[] = [];
        for await (const page of marks.shadowNotReturned(4)) notSeen.push(...page.map((p) => `${p.sourceId}:${p.tombstone ?? ''}`));
        assert.deepEqual(notSeen, ['gone-before:deleted', ...ids.slice(2991).map((id) => `${id}:`)], 'shadow rows not returned (out of scope counts as returned), in id order across pages');
        assert.deepEqual(await collect(marks.linkedWithoutShadowNotReturned('jira', 100)), ['linked-only', 'missing-link'], 'links the shadow never held');
        assert.deepEqual(await collect(marks.linkedNotReturned('jira', 7)), ['linked-only', 'u02990', ...ids.slice(2991)], 'active links not returned in scope (the out-of-scope one counts)');
        assert.deepEqual(await marks.readDrop('jira'), { linked: 3001, notReturned: 11 }, 'the read guard counts');
        assert.deepEqual(await new SeenMarks(shadow, links, 'c', 'run-b').readDrop('jira'), { linked: 3001, notReturned: 3001 }, "another run's marks are its own");

        // Rows of runs no longer running go at the next exhaustive run's start; running ones stay.
        await shadow.seen.mark('run-a', returned, true);
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

    test('users new to the shadow: marked by the row number the page wrote; without a row (a dry run), in the store', async () => {
      const t = await open();
      try {
        const { shadow, links } = t.store;
        await shadow.put('c', [row('a'), row('b')]);
        await links.upsertMany([link('a'), link('b'), link('dry-new'), link('written-new')]);
        await runOf(t.store, 'run-n', 'running');
        const marks = new SeenMarks(shadow, links, 'c', 'run-n');
        await marks.start();
        // A page that returned a, and written-new, whose row it wrote (its digest, read before, had none).
        const digests = await shadow.digestsOf('c', ['a', 'written-new']);
        assert.equal(digests.has('written-new'), false);
        await shadow.put('c', [row('written-new')]);
        await marks.mark(['a', 'written-new'], [], (id) => digests.get(id)?.rowNo, true);
        assert.equal(await shadow.seen.count('run-n'), 0, 'a new row is marked by its number: no run_seen row');
        // A dry run's page: dry-new returned, no row written.
        await marks.mark(['dry-new'], [], () => undefined, false);
        assert.equal(await shadow.seen.count('run-n'), 1, 'an id without a shadow row is marked in the store');
        assert.equal(await marks.count(), 3);
        const notSeen: string[] = [];
        for await (const page of marks.shadowNotReturned(1)) notSeen.push(...page.map((p) => p.sourceId));
        assert.deepEqual(notSeen, ['b'], 'the new row returned is not missing; the one left out is');
        assert.deepEqual(await collect(marks.linkedWithoutShadowNotReturned('jira', 100)), [], 'the link without a shadow row was returned');
        assert.deepEqual(await collect(marks.linkedNotReturned('jira', 1)), ['b']);
        assert.deepEqual(await marks.readDrop('jira'), { linked: 4, notReturned: 1 });
        await marks.end();
        assert.equal(await shadow.seen.count('run-n'), 0, 'store marks go with the run');
      } finally {
        await t.dispose();
      }
    });

    test('row numbers are distinct and stable: an update, a tombstone (and on SQLite a VACUUM) keep them', async () => {
      const t = await open();
      try {
        const { shadow } = t.store;
        const ids = Array.from({ length: 50 }, (_, i) => `r${String(i).padStart(3, '0')}`);
        await shadow.put('c', ids.map((id) => row(id)));
        await shadow.put('other', ids.map((id) => row(id)));
        const before = await shadow.rowNumbersOf('c', ids);
        const all = [...before.values(), ...(await shadow.rowNumbersOf('other', ids)).values()];
        assert.equal(new Set(all).size, 100, 'one number per row, across connectors');
        await shadow.put('c', ids.slice(0, 10).map((id) => ({ ...row(id), fingerprint: 'changed' })));
        await shadow.put('c', ids.slice(10, 20).map((id) => row(id, 'deleted')));
        if (t.kind === 'sqlite') await sql`vacuum`.execute(t.store.db);
        const byId = (m: Map<string, number>) => [...m].sort(([a], [b]) => a.localeCompare(b));
        assert.deepEqual(byId(await shadow.rowNumbersOf('c', ids)), byId(before), 'the same numbers');
        const paged: Array<[string, number]> = [];
        for (let after = ''; ; ) {
          const page = await shadow.rowNumbers('c', after, 7);
          if (page.length === 0) break;
          after = page[page.length - 1]!.sourceId;
          paged.push(...page.map((p): [string, number] => [p.sourceId, p.rowNo]));
        }
        assert.deepEqual(paged, byId(before), 'paged in source-id order');
      } finally {
        await t.dispose();
      }
    });
  });
}
