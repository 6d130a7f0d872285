// The groups of the shadow (store/shadow-groups.ts) and the users' group names kept beside the
// records (shadow_user_groups), on both stores: rows written and read back, a rewrite only of
// what is given, tombstones, and members found by name following the records they come from.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { storeKinds } from './helpers/stores.ts';
import type { ShadowRow } from '../src/store/shadow.ts';
import { groupFingerprint } from '../src/store/shadow-groups.ts';
import { migrationProvider } from '../src/store/migrations.ts';

const user = (sourceId: string, groups: string[] | undefined, tombstone: ShadowRow['tombstone'] = null): ShadowRow => ({
  sourceId,
  record: { attrs: { n: sourceId }, ...(groups ? { groups } : {}) },
  fingerprint: `f-${sourceId}-${groups?.join(',')}-${tombstone}`,
  managerId: null,
  tombstone,
  tombstoneAt: tombstone ? new Date().toISOString() : null,
  pending: false,
});

async function allMembers(repo: { membersNamed(c: string, n: string, after: string, limit: number): Promise<string[]> }, connector: string, name: string): Promise<string[]> {
  const out: string[] = [];
  for (let after = ''; ; ) {
    const page = await repo.membersNamed(connector, name, after, 7);
    if (page.length === 0) return out;
    after = page[page.length - 1]!;
    out.push(...page);
  }
}

for (const [kind, open] of storeKinds) {
  describe(`shadow groups on ${kind}`, () => {
    test('groups written, read back, renamed and tombstoned; per connector', async () => {
      const t = await open();
      try {
        const g = t.store.shadow.groups;
        await g.put('c', [
          { groupId: 'g1', name: 'dept-a', tombstone: null, tombstoneAt: null },
          { groupId: 'g2', name: 'dept-b', tombstone: null, tombstoneAt: null },
        ]);
        await g.put('other', [{ groupId: 'g1', name: 'elsewhere', tombstone: null, tombstoneAt: null }]);
        const first = await g.all('c');
        assert.deepEqual([...first.keys()].sort(), ['g1', 'g2']);
        assert.equal(first.get('g1')!.name, 'dept-a');
        assert.equal(first.get('g1')!.fingerprint, groupFingerprint('dept-a', null));
        assert.equal((await g.all('other')).get('g1')!.name, 'elsewhere', 'another connector keeps its own');

        await new Promise((r) => setTimeout(r, 5));
        await g.put('c', [{ groupId: 'g1', name: 'dept-renamed', tombstone: null, tombstoneAt: null }]);
        const when = new Date().toISOString();
        await g.put('c', [{ groupId: 'g2', name: 'dept-b', tombstone: 'deleted', tombstoneAt: when }]);
        const after = await g.getMany('c', ['g1', 'g2', 'nope']);
        assert.equal(after.size, 2);
        assert.equal(after.get('g1')!.name, 'dept-renamed');
        assert.notEqual(after.get('g1')!.updatedAt, first.get('g1')!.updatedAt, 'the renamed row was rewritten');
        assert.deepEqual([after.get('g2')!.tombstone, after.get('g2')!.tombstoneAt, after.get('g2')!.name], ['deleted', when, 'dept-b'], 'a tombstone keeps the name its members had');
        assert.notEqual(after.get('g2')!.fingerprint, first.get('g2')!.fingerprint);
        assert.deepEqual(await g.liveNamed('c', 'dept-b'), [], 'a tombstoned group is not live');
        assert.deepEqual(await g.liveNamed('c', 'dept-renamed'), ['g1']);
        assert.equal(await g.count('c'), 2);
        assert.equal(await g.count('c', { live: true }), 1);

        await t.store.shadow.clear('c');
        assert.equal(await g.count('c'), 0);
        assert.equal(await g.count('other'), 1, 'clearing one connector leaves the others');
      } finally {
        await t.dispose();
      }
    });

    test('members by name follow the records: rewritten, tombstoned, back; paged in id order', async () => {
      const t = await open();
      try {
        const { shadow } = t.store;
        const ids = Array.from({ length: 20 }, (_, i) => `u${String(i).padStart(2, '0')}`);
        await shadow.put('c', ids.map((id, i) => user(id, i % 2 === 0 ? ['dept-a', 'jira-users'] : ['jira-users'])));
        await shadow.put('c', [user('x1', undefined), user('x2', ['dept-a'])]);
        await shadow.put('other', [user('u00', ['dept-a'])]);
        const evens = ids.filter((_, i) => i % 2 === 0);
        assert.deepEqual(await allMembers(shadow.groups, 'c', 'dept-a'), [...evens, 'x2'], 'paged through, in id order');
        assert.equal((await allMembers(shadow.groups, 'c', 'jira-users')).length, 20);
        assert.deepEqual(await allMembers(shadow.groups, 'c', 'nobody'), []);

        // A record rewritten without the name loses it; a tombstone is nobody's member; back, it is again.
        await shadow.put('c', [user('u00', ['jira-users']), user('u02', ['dept-a'], 'deleted'), user('x2', ['dept-a', 'dept-a'])]);
        assert.deepEqual(await allMembers(shadow.groups, 'c', 'dept-a'), [...evens.filter((id) => id !== 'u00' && id !== 'u02'), 'x2']);
        assert.ok(!(await allMembers(shadow.groups, 'c', 'jira-users')).includes('u02'), 'the tombstoned user left every name');
        await shadow.put('c', [user('u02', ['dept-a'])]);
        assert.ok((await allMembers(shadow.groups, 'c', 'dept-a')).includes('u02'), 'back with its record');
        assert.deepEqual(await allMembers(shadow.groups, 'other', 'dept-a'), ['u00'], 'per connector');
      } finally {
        await t.dispose();
      }
    });

    test("a user's name rows are exactly its live record's, whatever came before", async () => {
      const t = await open();
      try {
        const { shadow, db } = t.store;
        const rowsOf = async (connector: string, id: string) => (await db.selectFrom('shadow_user_groups').select('group_name').where('connector_id', '=', connector).where('source_id', '=', id).orderBy('group_name').execute()).map((r) => r.group_name);
        await shadow.put('c', [user('a', ['g1', 'g2']), user('b', ['g2'])]);
        await shadow.put('other', [user('a', ['g1', 'g9'])]);
        // Out of scope with a record of other names: its row keeps that record, and it loses every name row.
        await shadow.put('c', [user('a', ['g3', 'g4'], 'out-of-scope')]);
        assert.deepEqual(await rowsOf('c', 'a'), []);
        // Back with yet other names: none of the record before (g3, g4) nor of the one before that (g1, g2) stays.
        await shadow.put('c', [user('a', ['g5', 'g2'])]);
        assert.deepEqual(await rowsOf('c', 'a'), ['g2', 'g5']);
        // A tombstone of a known user without a record keeps its record, and loses its rows; back, the new names only.
        await shadow.put('c', [{ ...user('a', undefined, 'deleted'), record: null }]);
        assert.deepEqual(await rowsOf('c', 'a'), []);
        await shadow.put('c', [user('a', ['g6'])]);
        assert.deepEqual(await rowsOf('c', 'a'), ['g6']);
        // A rewrite with no groups at all leaves no row; the other users and connectors keep theirs.
        await shadow.put('c', [user('a', undefined)]);
        assert.deepEqual(await rowsOf('c', 'a'), []);
        assert.deepEqual(await rowsOf('c', 'b'), ['g2']);
        assert.deepEqual(await rowsOf('other', 'a'), ['g1', 'g9']);
        // More users than one delete statement takes (400 name rows), all rewritten in one put.
        const many = Array.from({ length: 450 }, (_, i) => `m${String(i).padStart(3, '0')}`);
        await shadow.put('c', many.map((id) => user(id, ['x', 'y'])));
        await shadow.put('c', many.map((id, i) => user(id, i % 2 ? ['y', 'z'] : [])));
        assert.deepEqual(await allMembers(shadow.groups, 'c', 'x'), []);
        assert.equal((await allMembers(shadow.groups, 'c', 'y')).length, 225);
        assert.equal((await allMembers(shadow.groups, 'c', 'z')).length, 225);
        assert.equal(Number((await db.selectFrom('shadow_user_groups').select((eb) => eb.fn.countAll<number>().as('n')).where('connector_id', '=', 'c').executeTakeFirstOrThrow()).n), 450 + 1, "the many's 450 and b's one");
      } finally {
        await t.dispose();
      }
    });

    test('the migration fills the members by name from the records already in the shadow', async () => {
      const t = await open();
      try {
        const { shadow } = t.store;
        await shadow.put('c', [user('a', ['dept-a', 'jira-users']), user('b', ['dept-a']), user('c', undefined), user('d', ['dept-a'], 'deleted')]);
        await shadow.put('other', [user('a', ['dept-a'])]);
        // As a store from before the migration: the tables gone, then the migration run again.
        await t.store.db.schema.dropTable('shadow_user_groups').execute();
        await t.store.db.schema.dropTable('shadow_groups').execute();
        const migration = (await migrationProvider.getMigrations())['0013_shadow_groups']!;
        await migration.up(t.store.db);
        assert.deepEqual(await allMembers(shadow.groups, 'c', 'dept-a'), ['a', 'b'], 'live records only');
        assert.deepEqual(await allMembers(shadow.groups, 'c', 'jira-users'), ['a']);
        assert.deepEqual(await allMembers(shadow.groups, 'other', 'dept-a'), ['a']);
        assert.equal(await shadow.groups.count('c'), 0, 'groups come with the next complete read');
      } finally {
        await t.dispose();
      }
    });
  });
}
