// The test slapd itself: it starts, holds the sample organisation as the LDAP tests expect
// (ids as entryUUID, managers as DNs, nested groups, locked accounts, unicode, a group over
// 1,500 members), speaks StartTLS and ldaps on its generated certificate, reseeds, and stops
// leaving nothing behind.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { Attribute, Change, Client } from 'ldapts';
import { generateOrg } from '../org/index.ts';
import { addAllStaffGroup, ALL_STAFF, PERMANENT_LOCK } from './org-ldif.ts';
import { startSlapd, type Slapd } from './slapd.ts';
import { startFaultProxy } from './fault-proxy.ts';

describe('test slapd', () => {
  const org = addAllStaffGroup(generateOrg({ users: 1600, seed: 5 }));
  let s: Slapd;
  before(async () => {
    s = await startSlapd(org, { faultProxy: true });
  });
  after(async () => {
    await s?.stop();
  });

  async function reader(url = s.url): Promise<Client> {
    const c = new Client({ url, timeout: 10_000, ...(url.startsWith('ldaps:') ? { tlsOptions: { ca: [s.ca] } } : {}) });
    await c.bind(s.reader.dn, s.reader.password);
    return c;
  }

  test('holds the organisation: ids, managers, nested groups, locked accounts, unicode, a large group', async () => {
    const c = await reader();
    try {
      const users = [];
      for await (const page of c.searchPaginated(s.layout.peopleDn, { filter: '(objectClass=inetOrgPerson)', attributes: ['entryUUID', 'manager', 'displayName', 'pwdAccountLockedTime'], paged: { pageSize: 500 } })) users.push(...page.searchEntries);
      assert.equal(users.length, org.users.length, 'every user');
      const byId = new Map(users.map((u) => [String(u.entryUUID), u]));
      for (const u of org.users) {
        const e = byId.get(u.id);
        assert.ok(e, `user ${u.id} has the org id as entryUUID`);
        assert.equal(e.displayName, u.displayName, 'unicode display names kept');
        if (u.managerId) assert.equal(e.manager, s.names.userDn.get(u.managerId), 'manager as a DN');
        assert.equal(e.pwdAccountLockedTime.length ? e.pwdAccountLockedTime : undefined, u.accountEnabled ? undefined : PERMANENT_LOCK, `lock of ${u.id}`);
      }
      assert.ok(org.users.some((u) => /[^\x00-\x7f]/.test(u.displayName)), 'the org has unicode names');
      const { searchEntries: [big] } = await c.search(s.layout.groupsDn, { filter: `(cn=${ALL_STAFF})`, attributes: ['member'] });
      assert.equal((big!.member as string[]).length, org.users.length, 'a group with more than 1,500 members');
      const { searchEntries: [jira] } = await c.search(s.layout.groupsDn, { filter: '(cn=jira-users)', attributes: ['member'] });
      assert.ok((jira!.member as string[]).includes(`cn=jira-administrators,${s.layout.groupsDn}`), 'a nested group');
    } finally {
      await c.unbind();
    }
  });

  test('the read-only account cannot write; wrong passwords are refused', async () => {
    const c = await reader();
    await assert.rejects(c.modify(s.names.userDn.values().next().value!, new Change({ operation: 'replace', modification: new Attribute({ type: 'title', values: ['x'] }) })), /Insufficient/i, 'the reader cannot modify');
    await c.unbind();
    const bad = new Client({ url: s.url, timeout: 5_000 });
    await assert.rejects(bad.bind(s.reader.dn, 'wrong'), (e: { code?: number }) => e.code === 49, 'invalidCredentials (49)');
  });

  test('StartTLS and ldaps with the generated certificate; refused without it', async () => {
    const c = new Client({ url: s.url, timeout: 5_000 });
    await c.startTLS({ ca: [s.ca], servername: 'localhost' });
    await c.bind(s.reader.dn, s.reader.password);
    await c.unbind();
    const l = await reader(s.ldapsUrl);
    await l.unbind();
    const untrusted = new Client({ url: s.ldapsUrl, timeout: 5_000, connectTimeout: 5_000 });
    await assert.rejects(untrusted.bind(s.reader.dn, s.reader.password), /self-signed|certificate/i);
  });

  test('reseeds to the same ids, and the fault proxy counts and drops', async () => {
    const small = generateOrg({ users: 30, seed: 9 });
    await s.seed(small);
    const c = await reader(s.proxyUrl);
    const { searchEntries } = await c.search(s.layout.peopleDn, { filter: '(objectClass=inetOrgPerson)', attributes: ['entryUUID'] });
    assert.deepEqual(searchEntries.map((e) => String(e.entryUUID)).sort(), small.users.map((u) => u.id).sort());
    assert.ok(s.proxy!.searches.some((x) => x.base === s.layout.peopleDn), 'the proxy saw the search');
    s.proxy!.faults.push({ kind: 'drop', where: 'all', times: 1 });
    await assert.rejects(c.search(s.layout.peopleDn, { filter: '(uid=*)' }));
    assert.equal(s.proxy!.injected, 1);
    await c.unbind().catch(() => undefined);
  });

  test('stop removes the folder and frees the port', async () => {
    const other = await startSlapd(generateOrg({ users: 3, seed: 1 }));
    const port = Number(new URL(other.url).port);
    assert.ok(existsSync(other.dir), 'its folder exists while it runs');
    await other.stop();
    assert.equal(existsSync(other.dir), false, 'stop removes its folder');
    const proxy = await startFaultProxy({ host: '127.0.0.1', port });
    const c = new Client({ url: proxy.url, timeout: 2_000, connectTimeout: 2_000 });
    await assert.rejects(c.bind('cn=x', 'y'), 'nothing listens any more');
    await proxy.close();
  });
});
