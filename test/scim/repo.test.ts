// The store of pushed SCIM resources on SQLite and PostgreSQL: uniqueness (also of concurrent
// creates), versions, members marking users dirty, acknowledgement by version, tokens.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { openPostgresStore, openSqliteStore, type TestStore } from '../helpers/stores.ts';
import { ScimRepo, UniquenessError } from '../../src/sources/scim/repo.ts';
import { ScimSource } from '../../src/sources/scim/index.ts';

for (const kind of ['sqlite', 'postgres'] as const) {
  describe(`SCIM store (${kind})`, () => {
    let t: TestStore;
    let repo: ScimRepo;
    before(async () => {
      t = kind === 'sqlite' ? await openSqliteStore() : await openPostgresStore();
      repo = new ScimRepo(t.store.db);
    });
    after(async () => {
      await t?.dispose();
    });

    it('refuses a second userName ignoring case, also when two creates race', async () => {
      await repo.create('c', 'User', { userName: 'Ann@x' }, 'Ann@x', null);
      await assert.rejects(repo.create('c', 'User', { userName: 'ann@X' }, 'ann@X', null), UniquenessError);
      const results = await Promise.allSettled(Array.from({ length: 6 }, () => repo.create('c', 'User', { userName: 'race@x' }, 'race@x', null)));
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, 'exactly one create of a name wins');
      assert.ok(results.every((r) => r.status === 'fulfilled' || r.reason instanceof UniquenessError), 'each concurrent create succeeded or hit uniqueness');
      assert.equal((await repo.create('other', 'User', { userName: 'ann@x' }, 'ann@x', null)).version, 1, 'names are unique per connector');
    });

    it('replaces only the version it read; a deleted user frees its name and stays owed until acknowledged', async () => {
      const u = await repo.create('v', 'User', { userName: 'v@x' }, 'v@x', 'ext-1');
      const r = await repo.replace('v', 'User', u.id, u.version, { userName: 'v@x', title: 'T' }, 'v@x', 'ext-1');
      assert.equal(r?.version, 2);
      assert.equal(await repo.replace('v', 'User', u.id, u.version, { userName: 'v@x' }, 'v@x', null), undefined, 'a stale version is not written');
      assert.equal((await repo.byExternalId('v', 'User', 'ext-1'))[0]?.id, u.id);
      assert.equal(await repo.delete('v', 'User', u.id), true);
      assert.equal(await repo.get('v', 'User', u.id), undefined);
      await repo.create('v', 'User', { userName: 'v@x' }, 'v@x', null);
      const owed = await repo.dirtyUsers('v', 10);
      assert.equal(owed.length, 2);
      const tomb = owed.find((o) => o.deletedAt)!;
      await repo.acknowledge('v', owed.map((o) => ({ id: o.id, version: o.version })));
      assert.equal(await repo.dirtyCount('v'), 0);
      assert.equal((await t.store.db.selectFrom('scim_resources' as never).selectAll().where('id' as never, '=', tomb.id as never).execute()).length, 0, 'a pushed tombstone goes');
    });

    it('a membership change marks the users dirty again; an acknowledgement of an older version does not clear it', async () => {
      const a = await repo.create('m', 'User', { userName: 'a@x' }, 'a@x', null);
      await repo.acknowledge('m', [{ id: a.id, version: a.version }]);
      const g = await repo.create('m', 'Group', { displayName: 'team_1' }, 'team_1', null);
      await repo.changeMembers('m', g.id, [a.id, 'not-yet-a-user'], []);
      const [owed] = await repo.dirtyUsers('m', 10);
      assert.equal(owed?.id, a.id);
      assert.ok(owed!.version > a.version, 'the owed row has a newer version');
      await repo.acknowledge('m', [{ id: a.id, version: a.version }]);
      assert.equal(await repo.dirtyCount('m'), 1, 'the old version does not acknowledge the new one');
      assert.deepEqual((await repo.groupsOf('m', [a.id])).get(a.id), ['team_1']);
      assert.deepEqual(await repo.members('m', g.id), [a.id, 'not-yet-a-user'].sort());
      assert.deepEqual((await repo.prefix('m', 'a@', 5)).map((r) => r.id), [a.id]);
      assert.deepEqual((await repo.prefix('m', '_', 5)).length, 0, 'a LIKE wildcard is matched literally');
    });

    it("a full read with groups lists every pushed group (id, displayName) on its complete page: a renamed group under its new name, a deleted one not", async () => {
      const source = new ScimSource('gl', t.store.db);
      const u = await repo.create('gl', 'User', { userName: 'u@x' }, 'u@x', null);
      const kept = await repo.create('gl', 'Group', { displayName: 'team-a' }, 'team-a', null);
      const gone = await repo.create('gl', 'Group', { displayName: 'team-b' }, 'team-b', null);
      await repo.changeMembers('gl', kept.id, [u.id], []);
      const current = (await repo.get('gl', 'Group', kept.id))!; // the member change moved its version
      assert.ok(await repo.replace('gl', 'Group', kept.id, current.version, { displayName: 'team-a2' }, 'team-a2', null), 'renamed');
      await repo.delete('gl', 'Group', gone.id);
      const pages = [];
      for await (const p of source.listUsers({ attributes: [], groups: true, manager: false })) pages.push(p);
      assert.equal(pages.at(-1)?.complete, true);
      assert.deepEqual(pages.at(-1)?.groupList, [{ id: kept.id, name: 'team-a2' }]);
      assert.deepEqual(pages.flatMap((p) => p.users).find((x) => x.id === u.id)?.groups, ['team-a2'], 'the name the members carry');
      const without = [];
      for await (const p of source.listUsers({ attributes: [], groups: false, manager: false })) without.push(p);
      assert.ok(without.every((p) => p.groupList === undefined), 'no list without groups asked');
    });

    it('tokens: verified by hash for their connector only, until revoked', async () => {
      const { token, info } = await repo.createToken('tk', 'x');
      assert.equal(await repo.verifyToken('tk', token), true);
      assert.equal(await repo.verifyToken('other', token), false);
      assert.equal(await repo.verifyToken('tk', `${token}x`), false);
      const stored = JSON.stringify(await t.store.db.selectFrom('scim_tokens' as never).selectAll().execute());
      assert.ok(!stored.includes(token), 'only the hash is stored');
      assert.equal(await repo.revokeToken('tk', info.id), true);
      assert.equal(await repo.verifyToken('tk', token), false);
    });
  });
}
