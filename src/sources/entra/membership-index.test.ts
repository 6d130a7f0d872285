import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { MembershipIndex } from './membership-index.ts';

/** A canonical (lower-case) GUID made from a number, as Graph's object ids look. */
function guid(n: number, salt = 0): string {
  const h = (x: number) => (x >>> 0).toString(16).padStart(8, '0');
  const a = h(Math.imul(n ^ salt, 0x9e3779b1));
  const b = h(n);
  const c = h(Math.imul(n + 7, 0x85ebca6b));
  const d = h(salt);
  return `${a}-${b.slice(0, 4)}-${b.slice(4)}-${c.slice(0, 4)}-${c.slice(4)}${d}`;
}

test('every user gets exactly the groups whose member lists name them, sorted, as a plain map would', () => {
  const index = new MembershipIndex();
  const naive = new Map<string, string[]>();
  const groups = ['jira-users', 'Confluence', 'admins', 'a-team', 'zeta'];
  const users = Array.from({ length: 5000 }, (_, i) => guid(i));
  users.push('not-a-guid', 'ABCDEF01-2345-6789-ABCD-EF0123456789', 'abcdef01-2345-6789-abcd-ef0123456789');
  // Groups complete in an arbitrary order; membership by a rule per group.
  for (const [g, name] of groups.entries()) {
    const members = users.filter((_, i) => (i * (g + 3)) % (g + 2) !== 1);
    if (g === 2) members.push(members[0]!); // a duplicate entry in one list counts once
    index.addGroup(name, members);
    for (const id of new Set(members)) naive.set(id, [...(naive.get(id) ?? []), name]);
  }
  for (const id of users) assert.deepEqual(index.get(id), naive.get(id)?.sort(), `groups of ${id}`);
  assert.equal(index.get(guid(999_999)), undefined, 'a user in no list is absent');
  assert.equal(index.size, naive.size, 'one entry per user in some group');
  const stats = index.stats();
  assert.equal(stats.otherIds, 2, 'only the id that is no canonical GUID and the upper-case one leave the typed table');
  assert.ok(stats.sets <= 2 ** groups.length, `group sets are shared: ${stats.sets} for ${index.size} users`);
});

test('the same groups reached in a different order of reads share one set; a returned list is the caller\'s own', () => {
  const index = new MembershipIndex();
  const u1 = guid(1);
  const u2 = guid(2);
  index.addGroup('b', [u1]);
  index.addGroup('a', [u1, u2]);
  index.addGroup('c', [u2]);
  index.addGroup('b2', [u1, u2]);
  assert.deepEqual(index.get(u1), ['a', 'b', 'b2'], 'u1');
  assert.deepEqual(index.get(u2), ['a', 'b2', 'c'], 'u2');
  const mine = index.get(u1)!;
  mine.push('changed');
  assert.deepEqual(index.get(u1), ['a', 'b', 'b2'], 'changing a returned list does not change the index');
  const again = new MembershipIndex();
  again.addGroup('x', [u1, u2]);
  again.addGroup('y', [u2, u1]);
  assert.equal(again.stats().sets, 3, 'empty, {x}, {x,y}: two users with the same groups share a set');
});

test('200,000 users in the V8 heap cost bytes each, not a list per user', () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const users = 200_000;
  gc();
  const before = process.memoryUsage().heapUsed;
  const index = new MembershipIndex();
  const groups = 40;
  // Each user in several of 40 groups (by i mod 40, 7 and 13: 3,640 distinct memberships), ids
  // made afresh per list as Graph's JSON gives them.
  for (let g = 0; g < groups; g++) {
    const ids: string[] = [];
    for (let i = 0; i < users; i++) if ((i % groups) === g || (i % 7) === g % 7 || (i % 13) === g % 13) ids.push(guid(i));
    index.addGroup(`group-${g}`, ids);
  }
  gc();
  const heapPerUser = (process.memoryUsage().heapUsed - before) / users;
  const stats = index.stats();
  assert.equal(stats.users, users, 'every user is held');
  // The list-per-user map this replaces held ~300 bytes a user in the heap; the typed table
  // is outside it (20 bytes a slot, load up to 3/4).
  assert.ok(heapPerUser < 16, `${heapPerUser.toFixed(1)} heap bytes a user`);
  assert.ok(stats.tableBytes / users <= 20 * 4, `${stats.tableBytes / users} table bytes a user`);
  // A set per distinct membership and per prefix of one on the way there, never per user.
  assert.ok(stats.sets < users / 10, `${stats.sets} group sets for ${users} users`);
  console.log(`# ${heapPerUser.toFixed(1)} heap bytes, ${(stats.tableBytes / users).toFixed(1)} table bytes a user, ${stats.sets} sets`);
  assert.deepEqual(index.get(guid(0)), ['group-0', 'group-13', 'group-14', 'group-21', 'group-26', 'group-28', 'group-35', 'group-39', 'group-7'], 'user 0: group 0 by every rule, the others by i mod 7 or 13');
});
