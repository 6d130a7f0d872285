// EntraSource.changes() and listGroups() against the Graph emulator's delta queries.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGraphEmulator, type GraphEmulator } from '../../../emulators/graph/index.ts';
import { generateOrg } from '../../../emulators/org/index.ts';
import { isIdsyncError } from '../../core/errors.ts';
import type { ChangePage, SourceQuery } from '../../core/types.ts';
import type { EntraSource } from './index.ts';
import { emulatedSources } from './testing.ts';

const SECRET_ENV = 'IDSYNC_TEST_ENTRA_DELTA_SECRET';
const org = generateOrg({ users: 260, seed: 91 });
let emu: GraphEmulator;

before(async () => {
  // Small delta pages, so rounds span several pages.
  emu = await startGraphEmulator({ org, delta: { pageSize: 25, membersPerObject: 20 } });
});
after(async () => {
  await closeAll();
  await emu.close();
});

const { source, closeAll } = emulatedSources(() => emu, SECRET_ENV);
const q = (over: Partial<SourceQuery> = {}): SourceQuery => ({ attributes: ['displayName', 'department', 'mail'], groups: false, manager: false, ...over });
const dir = () => emu.directory;

async function collect(s: EntraSource, checkpoint: string | null, query: SourceQuery) {
  const pages: ChangePage[] = [];
  for await (const p of s.changes(checkpoint, query)) {
    assert.ok(!pages.some((x) => x.checkpoint), 'nothing comes after the page with the checkpoint');
    pages.push(p);
  }
  const last = pages.at(-1)!;
  assert.ok(last.checkpoint, 'the last page carries the checkpoint');
  return {
    pages,
    users: pages.flatMap((p) => p.users),
    removed: pages.flatMap((p) => p.removed),
    groups: pages.flatMap((p) => p.groups ?? []),
    checkpoint: last.checkpoint!,
    complete: last.complete === true,
  };
}

/** Seeds and returns the checkpoint. */
async function seed(s: EntraSource, query: SourceQuery): Promise<string> {
  const r = await collect(s, null, query);
  assert.ok(r.complete, 'a seeding round is complete');
  return r.checkpoint;
}

const liveUser = (i: number) => dir().org.users[i]!;

test('seeding: every user as a listing gives it, complete, with a versioned checkpoint', async () => {
  const s = source();
  const r = await collect(s, null, q({ manager: true }));
  assert.ok(r.complete, 'the seeding round says it was complete');
  assert.equal(r.users.length, dir().org.users.length);
  const withManager = r.users.find((u) => u.id === dir().org.users.find((x) => x.managerId)!.id)!;
  assert.equal(withManager.manager && 'id' in withManager.manager ? withManager.manager.id : undefined, dir().userById(withManager.id)!.managerId);
  const cp = JSON.parse(r.checkpoint);
  assert.equal(cp.v, 1);
  assert.equal(cp.source, 'entra');
  assert.match(cp.users, /\/users\/delta\?\$deltatoken=/);
  assert.equal(cp.groups, undefined, 'no group delta without groups');
  // Nothing changed since: an empty round, a new checkpoint.
  const again = await collect(s, r.checkpoint, q({ manager: true }));
  assert.deepEqual([again.users.length, again.removed.length], [0, 0]);
});

test('a change arrives as the full record; an untracked property changes nothing; cost within changes + pages', async () => {
  const s = source();
  const query = q({ manager: true });
  let cp = await seed(s, query);
  const u = liveUser(10);
  dir().updateUser(u.id, { department: 'Delta Research' });
  dir().updateUser(liveUser(11).id, { jobTitle: 'not in the mapping' });
  const before = s.graph.stats.requests;
  const r = await collect(s, cp, query);
  const requests = s.graph.stats.requests - before;
  assert.deepEqual(r.users.map((x) => x.id), [u.id]);
  assert.equal(r.users[0]!.attrs.department, 'Delta Research');
  assert.equal(r.users[0]!.attrs.displayName, u.displayName, 'a full record, not only the changed property');
  assert.ok('manager' in r.users[0]!, 'the manager reference is read with the user');
  // 1 delta page + 1 re-read (manager expanded with it) for 1 change.
  assert.ok(requests <= 1 + 1, `at most changes + pages requests (got ${requests})`);
  cp = r.checkpoint;
  assert.equal((await collect(s, cp, query)).users.length, 0, 'the change is not read twice');
});

test('soft delete, restore and hard delete become removals with their reasons', async () => {
  const s = source();
  let cp = await seed(s, q());
  const [a, b] = [liveUser(20).id, liveUser(21).id];
  dir().softDeleteUser(a);
  dir().deleteUser(b);
  let r = await collect(s, cp, q());
  assert.deepEqual(
    r.removed.sort((x, y) => x.id.localeCompare(y.id)),
    [
      { id: a, reason: 'soft-deleted' as const },
      { id: b, reason: 'deleted' as const },
    ].sort((x, y) => x.id.localeCompare(y.id)),
  );
  assert.equal(r.users.length, 0);
  cp = r.checkpoint;
  dir().restoreUser(a);
  r = await collect(s, cp, q());
  assert.deepEqual(r.users.map((u) => u.id), [a], 'a restored user comes back as a change');
  assert.equal(r.removed.length, 0);
});

test('a manager change arrives by delta with the new reference', async () => {
  const s = source();
  const query = q({ manager: true });
  const cp = await seed(s, query);
  const [user, manager] = [liveUser(30), liveUser(31)];
  dir().setManager(user.id, manager.id);
  const r = await collect(s, cp, query);
  assert.deepEqual(r.users.map((u) => u.id), [user.id]);
  const ref = r.users[0]!.manager;
  assert.ok(ref && 'id' in ref, 'the manager is a reference by id');
  assert.equal(ref.id, manager.id);
  assert.equal(ref.attrs?.mail, manager.mail);
  dir().setManager(user.id, null);
  const removed = await collect(s, r.checkpoint, query);
  assert.equal(removed.users[0]!.manager, null, 'a removed manager reads as null');
});

test('a membership change: members@delta names the group and the user is re-read with all its groups', async () => {
  const s = source();
  const query = q({ groups: true });
  const cp = await seed(s, query);
  assert.ok(JSON.parse(cp).groups, 'the checkpoint holds a groups deltaLink when groups are read');
  const group = dir().org.groups.find((g) => g.members.length > 0)!;
  const joiner = dir().org.users.find((u) => !group.members.includes(u.id))!;
  const leaver = group.members.find((m) => dir().userById(m))!;
  dir().addMember(group.id, joiner.id);
  dir().removeMember(group.id, leaver);
  const r = await collect(s, cp, query);
  const change = r.groups.find((g) => g.id === group.id)!;
  assert.deepEqual(change.added, [joiner.id]);
  assert.deepEqual(change.removed, [leaver]);
  assert.equal(change.name, group.displayName);
  const byId = new Map(r.users.map((u) => [u.id, u]));
  assert.ok(byId.get(joiner.id)!.groups!.includes(group.displayName), 'the joiner has the group');
  assert.ok(!byId.get(leaver)!.groups!.includes(group.displayName), 'the leaver no longer has it');
  const expected = dir().memberOf(joiner.id, false).filter((o) => o.type === 'group').map((o) => (o.obj as { displayName: string }).displayName).sort();
  assert.deepEqual(byId.get(joiner.id)!.groups, expected, 'all of its groups, not only the changed one');
});

test('a user the filter no longer matches is removed as out-of-scope (default and advanced filters)', async () => {
  for (const filter of ['accountEnabled eq true', "accountEnabled eq true and companyName ne 'Nobody Inc'"]) {
    const s = source({ filter });
    const query = q({ manager: true });
    const cp = await seed(s, query);
    const u = dir().org.users.find((x) => x.accountEnabled && x.managerId)!;
    const still = dir().org.users.find((x) => x.accountEnabled && x.id !== u.id)!;
    dir().updateUser(u.id, { accountEnabled: false });
    dir().updateUser(still.id, { department: `Still in ${filter.length}` });
    const r = await collect(s, cp, { ...query, attributes: [...query.attributes] });
    assert.deepEqual(r.removed, [{ id: u.id, reason: 'out-of-scope' }], filter);
    assert.deepEqual(r.users.map((x) => x.id), [still.id], filter);
    assert.ok(r.users[0]!.manager !== undefined, `managers are read with an advanced filter too (${filter})`);
    dir().updateUser(u.id, { accountEnabled: true });
  }
});

test('a group change larger than one members@delta object is merged into one GroupChange', async () => {
  const s = source();
  const query = q({ groups: true });
  const cp = await seed(s, query);
  const group = dir().org.groups.find((g) => g.displayName)!;
  const joiners = dir().org.users.filter((u) => !group.members.includes(u.id)).slice(0, 45).map((u) => u.id);
  for (const id of joiners) dir().addMember(group.id, id);
  const r = await collect(s, cp, query);
  const changes = r.groups.filter((g) => g.id === group.id);
  assert.equal(changes.length, 1, 'one GroupChange per group');
  assert.deepEqual([...changes[0]!.added].sort(), [...joiners].sort(), 'every joiner once (45 members over 3 objects of 20)');
  assert.ok(joiners.every((id) => r.users.find((u) => u.id === id)?.groups?.includes(group.displayName)), 'each joiner re-read with the group');
});

test('a deleted group is reported deleted', async () => {
  const s = source();
  const query = q({ groups: true });
  const cp = await seed(s, query);
  const group = dir().org.groups.find((g) => g.displayName && g.members.length === 0) ?? dir().org.groups.at(-1)!;
  dir().deleteGroup(group.id);
  const r = await collect(s, cp, query);
  const change = r.groups.find((g) => g.id === group.id);
  assert.equal(change?.deleted, true);
});

test('requiredGroups: leaving the required group is out-of-scope, joining it brings the user in', async () => {
  const group = dir().org.groups.find((g) => g.members.filter((m) => dir().userById(m)).length >= 2)!;
  const s = source({ requiredGroups: [group.displayName] });
  const query = q();
  let cp = await seed(s, query);
  assert.ok(JSON.parse(cp).groups, 'required groups need the groups delta');
  const leaver = group.members.find((m) => dir().userById(m))!;
  const joiner = dir().org.users.find((u) => !group.members.includes(u.id))!;
  dir().removeMember(group.id, leaver);
  let r = await collect(s, cp, query);
  assert.deepEqual(r.removed, [{ id: leaver, reason: 'out-of-scope' }]);
  assert.equal(r.users.length, 0);
  cp = r.checkpoint;
  dir().addMember(group.id, joiner.id);
  r = await collect(s, cp, query);
  assert.deepEqual(r.users.map((u) => u.id), [joiner.id]);
  assert.equal(r.users[0]!.groups, undefined, 'groups are not returned when the query did not ask for them');
});

test('groupFilter: memberships and group changes outside it are left out', async () => {
  const [inside, outside] = dir().org.groups.filter((g) => g.displayName);
  const s = source({ groupFilter: `displayName eq '${inside!.displayName.replace(/'/g, "''")}'` });
  const query = q({ groups: true });
  const cp = await seed(s, query);
  const u = dir().org.users.find((x) => !inside!.members.includes(x.id) && !outside!.members.includes(x.id))!;
  dir().addMember(inside!.id, u.id);
  dir().addMember(outside!.id, u.id);
  const r = await collect(s, cp, query);
  assert.deepEqual(r.groups.filter((g) => !g.left).map((g) => g.id), [inside!.id]);
  // A group outside the filter is only said to be none of the connector's (left), without its members.
  assert.deepEqual(r.groups.filter((g) => g.left), [{ id: outside!.id, added: [], removed: [], left: true }]);
  assert.deepEqual(r.users.map((x) => x.id), [u.id]);
  assert.deepEqual(r.users[0]!.groups, [inside!.displayName]);
});

test('transitiveGroups: a nested group joining a group re-reads its users with the new transitive group', async () => {
  const groups = dir().org.groups.filter((g) => g.displayName && g.members.some((m) => dir().userById(m)));
  const parent = groups[0]!;
  const nested = groups.find((g) => g.id !== parent.id && !g.members.includes(parent.id) && g.members.every((m) => !parent.members.includes(m)))!;
  const s = source({ transitiveGroups: true });
  const query = q({ groups: true });
  const cp = await seed(s, query);
  dir().addMember(parent.id, nested.id);
  const r = await collect(s, cp, query);
  const nestedUsers = dir().members(nested.id, true).filter((o) => o.type === 'user').map((o) => o.obj.id);
  assert.ok(nestedUsers.length > 0, 'the nested group has users');
  for (const id of nestedUsers) {
    const u = r.users.find((x) => x.id === id);
    assert.ok(u?.groups?.includes(parent.displayName), `user ${id} of the nested group now has ${parent.displayName}`);
  }
  assert.deepEqual(r.groups.find((g) => g.id === parent.id)?.added, [], 'a nested group is not a user member');
});

test('a change made while the seeding round lists users is replayed by the next round, not lost', async () => {
  const s = source();
  const pages: ChangePage[] = [];
  const late = dir().org.users.at(-1)!;
  for await (const p of s.changes(null, q())) {
    if (pages.length === 0) dir().updateUser(late.id, { department: 'Changed during seeding' });
    pages.push(p);
  }
  const r = await collect(s, pages.at(-1)!.checkpoint!, q());
  const again = r.users.find((u) => u.id === late.id);
  assert.equal(again?.attrs.department, 'Changed during seeding');
});

test('an expired token and a checkpoint of another query are CHECKPOINT_EXPIRED', async () => {
  const s = source();
  for (const answer of ['syncStateNotFound', 'resyncRequired', 'gone'] as const) {
    const cp = await seed(s, q());
    emu.delta.expireAll(answer);
    await assert.rejects(collect(s, cp, q()), (e: unknown) => isIdsyncError(e, 'CHECKPOINT_EXPIRED'), answer);
  }
  // The directory was re-created (another change log): Graph knows no such sync state.
  let old = await seed(s, q());
  dir().replace(dir().org);
  await assert.rejects(collect(s, old, q()), (e: unknown) => isIdsyncError(e, 'CHECKPOINT_EXPIRED'), 'a token of another change log');
  // A deltaLink Graph cannot read at all: only the checkpoint can be at fault.
  old = await seed(s, q());
  const garbled = { ...JSON.parse(old), users: JSON.parse(old).users.replace(/deltatoken=.*/, 'deltatoken=garbled') };
  await assert.rejects(collect(s, JSON.stringify(garbled), q()), (e: unknown) => isIdsyncError(e, 'CHECKPOINT_EXPIRED'), 'a garbled token');
  const cp = await seed(s, q());
  await assert.rejects(collect(s, cp, q({ attributes: ['displayName', 'jobTitle'] })), (e: unknown) => isIdsyncError(e, 'CHECKPOINT_EXPIRED'), 'other attributes');
  await assert.rejects(collect(s, cp, q({ groups: true })), (e: unknown) => isIdsyncError(e, 'CHECKPOINT_EXPIRED'), 'groups now needed');
  await assert.rejects(collect(source({ filter: 'accountEnabled eq true' }), cp, q()), (e: unknown) => isIdsyncError(e, 'CHECKPOINT_EXPIRED'), 'another filter');
  await assert.rejects(collect(s, '{"v":1,"source":"entra"', q()), (e: unknown) => isIdsyncError(e, 'CHECKPOINT_EXPIRED'), 'malformed');
  await assert.rejects(collect(s, JSON.stringify({ v: 2 }), q()), (e: unknown) => isIdsyncError(e, 'CHECKPOINT_EXPIRED'), 'another version');
});

test('request count of an incremental round with managers and groups stays within changes + pages', async () => {
  for (const filter of [undefined, "companyName ne 'Nobody Inc'", "accountEnabled eq true and userType eq 'Member'"]) {
    // The second filter is an advanced query: managers cannot be expanded and come in the same $batch.
    // The third takes 2 of Graph's 15 filter expressions: chunks of 13 ids.
    const s = source(filter ? { filter } : {});
    const query = q({ manager: true, groups: true });
    let cp = await seed(s, query);
    for (const n of [1, 40]) {
      const changed = dir().org.users.slice(50, 50 + n);
      for (const u of changed) dir().updateUser(u.id, { department: `Dept ${n} ${filter ?? ''}` });
      const before = s.graph.stats.requests;
      const r = await collect(s, cp, query);
      const requests = s.graph.stats.requests - before;
      cp = r.checkpoint;
      const outOfScope = r.removed.filter((x) => x.reason === 'out-of-scope').length;
      assert.equal(r.users.length + outOfScope, changed.length, 'every change is read or out of scope');
      assert.ok(r.users.length > 0, 'some changed users are in scope');
      assert.ok(r.users.every((u) => Array.isArray(u.groups) && u.manager !== undefined), 'full records: groups and manager');
      const sample = r.users[0]!;
      const expectedManager = dir().userById(sample.id)!.managerId;
      assert.equal(sample.manager && 'id' in sample.manager ? sample.manager.id : null, expectedManager, 'the right manager');
      // Users delta: 25 objects a page; groups delta: one page.
      const pages = Math.max(1, Math.ceil(n / 25)) + 1;
      assert.ok(requests <= n + pages, `at most changes + pages requests (got ${requests} for ${n} changes, ${pages} pages, filter ${filter})`);
    }
  }
});

test('a failed or short delta page mid-round throws instead of reading "nothing changed"', async () => {
  const s = source();
  const cp = await seed(s, q());
  for (const u of dir().org.users.slice(100, 160)) dir().updateUser(u.id, { department: 'Many' });
  emu.setFaults({ script: [{ path: '/users/delta', pattern: 'skiptoken', status: 500, times: 10 }] });
  try {
    await assert.rejects(collect(s, cp, q()), (e: unknown) => isIdsyncError(e, 'TRANSIENT'), '5xx');
  } finally {
    emu.setFaults({ script: [] });
  }
  emu.setFaults({ script: [{ path: '/users/delta', pattern: 'skiptoken', answer: 'empty-page' }] });
  try {
    await assert.rejects(collect(s, cp, q()), (e: unknown) => isIdsyncError(e, 'TRANSIENT') && /delta page/.test((e as Error).message), 'a page that claims to end without a deltaLink');
  } finally {
    emu.setFaults({ script: [] });
  }
  // The same checkpoint still works once Graph answers again: nothing was skipped.
  assert.equal((await collect(s, cp, q())).users.length, 60);
});

test('a cancelled incremental read stops', async () => {
  const s = source();
  const cp = await seed(s, q());
  for (const u of dir().org.users.slice(0, 120)) dir().updateUser(u.id, { mail: `${u.id}@cancel.example` });
  const ac = new AbortController();
  const run = async () => {
    for await (const _ of s.changes(cp, q({ signal: ac.signal }))) ac.abort(new Error('cancelled by the test'));
  };
  await assert.rejects(run(), 'the read stops at the abort');
});

test('listGroups: every group the groupFilter matches, with its user member ids', async () => {
  const s = source();
  const groups = [];
  for await (const page of s.listGroups!(q())) groups.push(...page);
  assert.equal(groups.length, dir().org.groups.filter((g) => g.displayName).length);
  for (const g of groups) {
    const users = dir().members(g.id, false).filter((o) => o.type === 'user').map((o) => o.obj.id);
    assert.deepEqual([...g.members!].sort(), users.sort(), g.name);
  }
  const filtered = source({ groupFilter: `displayName eq '${groups[0]!.name.replace(/'/g, "''")}'` });
  const only = [];
  for await (const page of filtered.listGroups!(q())) only.push(...page);
  assert.deepEqual(only.map((g) => g.id), [groups[0]!.id]);
});
