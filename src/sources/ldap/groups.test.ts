// The group index of the group-side models (member / uniqueMember / memberUid), without a
// server: members with the same direct groups share one interned set (memory flat in the
// directory's size), and every member still gets exactly its own groups, nested ones included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GroupIndex } from './groups.ts';
import { settingsFor } from './presets.ts';
import { ldapConfigSchema } from './config.ts';
import type { RawEntry } from './connection.ts';

const settings = (extra: Record<string, unknown> = {}) =>
  settingsFor(ldapConfigSchema.parse({ type: 'ldap', preset: 'openldap', url: 'ldap://x', bindDn: 'cn=x', bindPassword: { env: 'X' }, users: { baseDn: 'dc=ex' }, ...extra }));
const group = (cn: string): RawEntry => ({ dn: `cn=${cn},ou=groups,dc=ex`, attrs: new Map([['cn', [cn]]]) });
const user = (n: number): RawEntry => ({ dn: `uid=u${n},ou=people,dc=ex`, attrs: new Map([['uid', [`u${n}`]]]) });
const userDn = (n: number) => `uid=u${n},ou=people,dc=ex`;

test('many members, few combinations: one set per combination, and each member exactly its own groups', () => {
  const index = new GroupIndex(settings());
  const names = ['g0', 'g1', 'g2', 'g3'];
  const N = 5000;
  // Member n is in group g when bit g of n % 16 is set; some DNs in another case, one listed twice.
  const expected = (n: number) => names.filter((_, g) => ((n % 16) >> g) & 1).sort();
  for (const [g, cn] of names.entries()) {
    const members: string[] = [];
    for (let n = 0; n < N; n++) if (((n % 16) >> g) & 1) members.push(n % 7 === 0 ? userDn(n).toUpperCase() : userDn(n));
    if (g === 0) members.push(userDn(1)); // u1 (in g0 only) listed twice: must not count twice
    index.add(group(cn), members);
  }
  index.link();
  for (let n = 0; n < N; n++) assert.deepEqual(index.groupNames(user(n), `u${n}`), expected(n), `member ${n}'s groups`);
  const stats = index.stats();
  assert.equal(stats.members, N - Math.ceil(N / 16), 'every member in a group is held once, the ones in no group not at all');
  assert.ok(stats.sets <= 16, `equal memberships share one set: ${stats.sets} sets for ${N} members`);
});

test('a shared set never leaks between members: each call returns a fresh array', () => {
  const index = new GroupIndex(settings());
  index.add(group('a'), [userDn(1), userDn(2)]);
  index.link();
  const first = index.groupNames(user(1), 'u1');
  first.push('intruder');
  assert.deepEqual(index.groupNames(user(2), 'u2'), ['a'], 'a change to one user\'s list does not reach another with the same set');
  assert.deepEqual(index.groupNames(user(3), 'u3'), [], 'a user in no group has none');
});

test('nested groups through the interned sets, cycles tolerated; membersByGroup lists every direct member', () => {
  const index = new GroupIndex(settings({ nestedGroups: true }));
  // inner ⊂ outer ⊂ top ⊂ inner (a cycle); u1 in inner, u2 in top.
  index.add(group('inner'), [userDn(1), 'cn=top,ou=groups,dc=ex']);
  index.add(group('outer'), ['cn=inner,ou=groups,dc=ex']);
  index.add(group('top'), ['cn=outer,ou=groups,dc=ex', userDn(2)]);
  index.link();
  assert.deepEqual(index.groupNames(user(1), 'u1'), ['inner', 'outer', 'top'], 'u1 through nesting');
  assert.deepEqual(index.groupNames(user(2), 'u2'), ['inner', 'outer', 'top'], 'u2 through the cycle');
  const flat = new GroupIndex(settings({ nestedGroups: false }));
  flat.add(group('inner'), [userDn(1)]);
  flat.add(group('outer'), ['cn=inner,ou=groups,dc=ex', userDn(1)]);
  flat.link();
  assert.deepEqual(flat.groupNames(user(1), 'u1'), ['inner', 'outer'], 'direct groups only');
  const members = flat.membersByGroup();
  assert.deepEqual(members.get('cn=inner,ou=groups,dc=ex'), [userDn(1)], 'inner\'s members');
  assert.deepEqual([...(members.get('cn=outer,ou=groups,dc=ex') ?? [])].sort(), ['cn=inner,ou=groups,dc=ex', userDn(1)].sort(), 'outer\'s members, the nested group included');
});

test('memberUid: usernames matched case-insensitively, each member its own groups', () => {
  const index = new GroupIndex(settings({ membership: 'memberUid' }));
  index.add(group('devs'), ['Alice', 'bob']);
  index.add(group('ops'), ['alice']);
  index.link();
  assert.deepEqual(index.groupNames(user(1), 'ALICE'), ['devs', 'ops'], 'alice in both');
  assert.deepEqual(index.groupNames(user(2), 'Bob'), ['devs'], 'bob in devs');
  assert.deepEqual(index.groupNames(user(3), undefined), [], 'no username, no groups');
});
