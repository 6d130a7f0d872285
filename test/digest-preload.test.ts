// A full read's digests loaded up front (src/engine/digest-preload.ts) answer exactly what the
// store's per-page queries answer: for rows loaded, for rows this process wrote since (marked by
// the store's write watch and asked again), for ids of every shape, and when the load is given up.
// Then a full run that returns a user twice, changed and then back as it was: the second return
// must be compared with what the first one wrote (a preload answering as loaded would skip the
// write, and the shadow and Jira would keep the first return's values).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { memoryDataset, person } from './helpers/memory-source.ts';
import { storeKinds, type TestStore } from './helpers/stores.ts';
import { resetJira, syncHooks } from './helpers/sync-hooks.ts';
import { startJiraDcEmulator, type JiraDcEmulator } from '../emulators/jira-dc/index.ts';
import type { SyncEngine } from '../src/engine/engine.ts';
import type { ConnectorConfig } from '../src/config/schema.ts';
import { DigestPreload } from '../src/engine/digest-preload.ts';
import type { Store } from '../src/store/index.ts';
import type { Link } from '../src/store/links.ts';
import type { ShadowRow } from '../src/store/shadow.ts';
import { shadowFingerprint } from '../src/engine/shadow-record.ts';

process.env.TEST_JIRA_PAT = 'admin-pat';

const C = 'conn';
const T = 'jira';
const guid = (n: number) => `0000000a-beef-4000-8000-${String(n).padStart(12, '0')}`;
/** Ids of every shape a source gives: canonical GUIDs, an upper-case one, a DN, an Okta id. */
const IDS = [guid(1), guid(2), guid(3), guid(4), guid(5), guid(1).toUpperCase(), 'cn=Ann Example,ou=People,dc=example,dc=com', '00u1abcdEFGH2345ijkl'];
const sha1ish = (n: number) => shadowFingerprint({ attrs: { n } }, null);

function row(id: string, n: number, over: Partial<ShadowRow> = {}): ShadowRow {
  return { sourceId: id, record: { attrs: { n } }, fingerprint: sha1ish(n), managerId: null, tombstone: null, tombstoneAt: null, pending: true, ...over };
}

function link(id: string, n: number, over: Partial<Link> = {}): Link {
  return { connectorId: C, targetId: T, sourceId: id, targetKey: `key-${n}`, targetUsername: `user.${n}.ü`, label: null, applied: {}, managedGroups: [], missingSince: null, fingerprint: sha1ish(1000 + n), ...over };
}

/** Shadow rows and links of many kinds: tombstones, pending or not, fingerprints of other shapes, null usernames. */
async function seed(store: Store): Promise<void> {
  await store.shadow.put(C, [
    row(IDS[0]!, 1),
    row(IDS[1]!, 2),
    row(IDS[2]!, 3, { record: null, tombstone: 'deleted', fingerprint: shadowFingerprint(null, 'deleted'), tombstoneAt: '2026-01-01T00:00:00.000Z' }),
    row(IDS[3]!, 4, { fingerprint: 'an-older-fingerprint-shape' }),
    row(IDS[5]!, 6),
    row(IDS[6]!, 7, { tombstone: 'out-of-scope', fingerprint: shadowFingerprint(null, 'out-of-scope'), tombstoneAt: '2026-01-01T00:00:00.000Z' }),
    row(IDS[7]!, 8),
  ]);
  await store.shadow.settle(C, [IDS[0]!, IDS[3]!, IDS[6]!]);
  await store.links.upsertMany([link(IDS[0]!, 1), link(IDS[1]!, 2, { fingerprint: null, targetUsername: null }), link(IDS[2]!, 3, { missingSince: '2026-01-01T00:00:00.000Z' }), link(IDS[4]!, 5), link(IDS[6]!, 7, { fingerprint: 'x'.repeat(27) }), link(IDS[7]!, 8)]);
}

/** The preload's answers are the store's, for every id and an id nobody has. */
async function sameAsStore(store: Store, p: DigestPreload, what: string): Promise<void> {
  const ids = [...IDS, guid(99)];
  assert.deepEqual(await p.shadowDigestsOf(ids), await store.shadow.digestsOf(C, ids), `${what}: shadow digests`);
  assert.deepEqual(await p.linkDigestsOf(T, ids), await store.links.digestsOf(C, T, ids), `${what}: link digests`);
}

for (const [kind, openStore] of storeKinds) {
  describe(`digest preload (${kind} store)`, () => {
    test('answers as the store does, before and after this process writes rows', async () => {
      const t = await openStore();
      try {
        await seed(t.store);
        const p = new DigestPreload(t.store, C, [T]);
        assert.equal(await p.ready(), true, 'loaded (answers from memory)');
        await sameAsStore(t.store, p, 'as loaded');
        // Every kind of write of a loaded row, and rows that were not there when it loaded.
        await t.store.shadow.put(C, [row(IDS[0]!, 11), row(IDS[4]!, 15), row(IDS[1]!, 12, { record: null, tombstone: 'not-returned', fingerprint: shadowFingerprint(null, 'not-returned'), tombstoneAt: '2026-02-01T00:00:00.000Z' })]);
        await t.store.shadow.settle(C, [IDS[5]!, IDS[4]!]);
        await t.store.shadow.markPending(C, [IDS[7]!]);
        await t.store.links.upsertMany([link(IDS[0]!, 21), link(IDS[3]!, 24)]);
        await t.store.links.setMissing(C, T, [IDS[4]!], '2026-02-01T00:00:00.000Z');
        await t.store.links.remove(C, T, [IDS[7]!]);
        await sameAsStore(t.store, p, 'after writes');
        p.close();
      } finally {
        await t.dispose();
      }
    });

    test('rows written while it loads are asked again', async () => {
      const t = await openStore();
      try {
        await seed(t.store);
        const p = new DigestPreload(t.store, C, [T]);
        // Not awaited: the writes race the load.
        await t.store.shadow.put(C, [row(IDS[6]!, 17), row(IDS[0]!, 31)]);
        await t.store.links.upsertMany([link(IDS[7]!, 28), link(IDS[1]!, 22)]);
        await sameAsStore(t.store, p, 'written during the load');
        p.close();
      } finally {
        await t.dispose();
      }
    });

    test('another connector holding most of the table: loaded by the index, its rows left out', async () => {
      const t = await openStore();
      try {
        // On SQLite the scan then goes by the (connector, source id) index, not the table's order.
        const others = Array.from({ length: 30 }, (_, n) => guid(200 + n));
        await t.store.shadow.put('other', others.map((id, n) => row(id, 200 + n)));
        await t.store.links.upsertMany(others.map((id, n) => ({ ...link(id, 200 + n), connectorId: 'other' })));
        await t.store.shadow.put('other', [row(IDS[0]!, 500)]);
        await seed(t.store);
        const p = new DigestPreload(t.store, C, [T]);
        assert.equal(await p.ready(), true, 'loaded');
        await sameAsStore(t.store, p, 'beside another connector');
        assert.equal((await p.shadowDigestsOf([others[0]!])).size, 0, "another connector's row is not this one's");
        p.close();
      } finally {
        await t.dispose();
      }
    });

    test('more rows than its bound: not loaded, the store answers', async () => {
      const t = await openStore();
      try {
        await seed(t.store);
        const p = new DigestPreload(t.store, C, [T], 5);
        assert.equal(await p.ready(), false, 'over the bound: given up');
        await sameAsStore(t.store, p, 'given up');
        p.close();
      } finally {
        await t.dispose();
      }
    });
  });

  describe(`a full read that returns a user twice, with a preload (${kind} store)`, () => {
    let jira: JiraDcEmulator;
    let t: TestStore;
    let engine: SyncEngine;
    syncHooks({ start: () => startJiraDcEmulator(), reset: (j) => resetJira(j), openStore, ready: (w) => ({ env: jira, t, engine } = w) });

    const connector = (): ConnectorConfig => ({
      id: 'twice',
      source: { type: 'memory', dataset: 'twice', requiredGroups: [] },
      targets: [
        {
          id: T,
          type: 'jira-dc',
          url: jira.url,
          auth: { type: 'pat', token: { env: 'TEST_JIRA_PAT' } },
          mapping: [
            { target: 'user.username', source: '$lower($stripDomain(userPrincipalName))', flow: 'always', whenEmpty: 'keep' },
            { target: 'user.displayName', source: 'displayName', flow: 'always', whenEmpty: 'keep' },
            { target: 'user.email', source: 'mail', flow: 'always', whenEmpty: 'keep' },
            { target: 'property.department', source: 'department', flow: 'always', whenEmpty: 'clear' },
          ],
          createUsers: true,
          createMissingGroups: true,
          concurrency: 2,
        },
      ],
    });
    const staff = () => [1, 2, 3, 4, 5].map((n) => person(guid(n), `Person ${'abcde'[n - 1]}`, { department: 'Engineering' }));

    for (const dryRun of [false, true]) {
      test(`changed on its first return, back as before on its second: the second return wins${dryRun ? ' (a dry run writes nothing)' : ''}`, async () => {
        const ds = memoryDataset('twice', staff(), 2);
        const first = await engine.run({ connector: connector(), kind: 'full', trigger: 'cli' });
        assert.equal(first.run.status, 'succeeded', first.run.error ?? '');
        const before = await t.store.shadow.getMany('twice', [guid(1)]);
        // Page 1: Person a moved to Sales; page 3: Person a as the first run read it.
        const moved = person(guid(1), 'Person a', { department: 'Sales' });
        ds.users = [moved, ...staff().slice(1, 4), staff()[0]!, staff()[4]!];
        jira.resetStats();
        const second = await engine.run({ connector: connector(), kind: 'full', trigger: 'cli', dryRun });
        assert.equal(second.run.status, 'succeeded', second.run.error ?? '');
        const after = (await t.store.shadow.getMany('twice', [guid(1)])).get(guid(1))!;
        assert.equal(after.record?.attrs.department, 'Engineering', 'the shadow holds the last return');
        assert.equal(jira.inspect('person.a')?.properties.department, 'Engineering', 'Jira holds the last return');
        if (dryRun) {
          assert.equal(jira.stats.writes, 0, 'a dry run writes nothing to Jira');
          assert.deepEqual(after, before.get(guid(1)), 'a dry run writes nothing to the shadow');
        } else {
          const link = await t.store.links.get('twice', T, guid(1));
          const third = await engine.run({ connector: connector(), kind: 'full', trigger: 'cli' });
          assert.equal(third.run.status, 'succeeded', third.run.error ?? '');
          assert.ok(link?.fingerprint, 'the link was fully synced');
          ds.users = staff();
          jira.resetStats();
          const fourth = await engine.run({ connector: connector(), kind: 'full', trigger: 'cli' });
          assert.equal(fourth.run.counts.unchanged, 5, 'after it, a run with nothing changed finds everyone unchanged');
          assert.equal(jira.stats.writes, 0, 'and writes nothing');
        }
      });
    }
  });
}
