// The LDAP source against a real OpenLDAP (slapd), through the shared source conformance suite,
// plus what only LDAP has: a paged search of the groups that ends early on an empty page.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { SourceGroup, SourceUser } from '../../src/core/types.ts';
import { runSourceConformance } from './source-suite.ts';
import { ldapFixture, type LdapFixture } from './ldap-fixture.ts';

runSourceConformance('ldap (OpenLDAP)', () => ldapFixture());

describe('ldap: the group search ended early', () => {
  let f: LdapFixture;
  before(async () => {
    f = await ldapFixture();
  });
  after(async () => {
    await f?.close();
  });

  test('an empty end of the group search is read again: every group listed, every user with its groups', async () => {
    const dir = await f.seed('sample');
    f.slapd.proxy!.faults.push({ kind: 'end-of-paging', where: 'first-page', baseEndsWith: f.slapd.layout.groupsDn, times: 1 });
    const users: SourceUser[] = [];
    let groupList: SourceGroup[] | undefined;
    for await (const p of f.source({ pageSize: 7 }).listUsers({ attributes: [], groups: true, manager: false })) {
      users.push(...p.users);
      if (p.complete) groupList = p.groupList;
    }
    assert.ok((await f.faultsInjected!()) > 0, 'the group search was answered with an early end');
    assert.deepEqual(groupList?.map((g) => g.id).sort(), dir.groups.map((g) => g.id).sort(), 'no group missing from the list');
    const expected = new Map(dir.users.map((u) => [u.id, [...u.groups].sort()]));
    for (const u of users) assert.deepEqual([...(u.groups ?? [])].sort(), expected.get(u.id), `groups of ${u.id}`);
  });
});
