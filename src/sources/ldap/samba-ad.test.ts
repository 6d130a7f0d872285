// The LDAP source's activeDirectory preset against a real Samba AD domain controller (started
// in a temporary folder where it can run; skipped with the reason elsewhere): objectGUID as
// the id, objectSid as text, userAccountControl, memberOf with nesting, range retrieval of a
// large member list, the manager, uSNChanged increments with a deletion seen
// through Deleted Objects, and the schema catalogue.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Attribute, Change, type Client } from 'ldapts';
import { sambaUnavailable, startSambaDc, type SambaDc } from '../../../emulators/ldap/samba.ts';
import type { SearchSpec } from './connection.ts';
import { readRanges } from './groups.ts';
import type { ChangePage, SourceQuery, SourceUser } from '../../core/types.ts';
import { LdapSource, ldapConfigSchema } from './index.ts';

const ENV = 'IDSYNC_TEST_SAMBA_PASSWORD';
/** Members of the big group: read in explicit blocks of 100 (Samba answers a whole list unless a range is asked; AD splits above 1,500). */
const BIG = 250;
const unavailable = await sambaUnavailable();

describe('LDAP source against Samba AD', { skip: unavailable }, () => {
  let dc: SambaDc;
  let admin: Client;
  let ou: string;
  let gou: string;
  const searches: SearchSpec[] = [];
  before(async () => {
    dc = await startSambaDc();
    process.env[ENV] = dc.admin.password;
    admin = await dc.client();
    ou = `OU=Staff,${dc.baseDn}`;
    gou = `OU=Groups,${dc.baseDn}`;
    for (const dn of [ou, gou]) await admin.add(dn, { objectClass: ['top', 'organizationalUnit'] });
    const person = (name: string, extra: Record<string, string | string[]>) => admin.add(`CN=${name},${ou}`, { objectClass: ['top', 'person', 'organizationalPerson', 'user'], sAMAccountName: name, displayName: `${name} Ünïcødé`, mail: `${name}@corp.example.com`, department: 'Eng', userAccountControl: '544', ...extra });
    await person('boss', {});
    await person('alice', { manager: `CN=boss,${ou}` });
    await person('bob', { manager: `CN=boss,${ou}` });
    await person('carol', { manager: `CN=boss,${ou}`, userAccountControl: '546' });
    await admin.add(`CN=inner,${gou}`, { objectClass: ['top', 'group'], sAMAccountName: 'inner', member: [`CN=alice,${ou}`] });
    await admin.add(`CN=outer,${gou}`, { objectClass: ['top', 'group'], sAMAccountName: 'outer', member: [`CN=bob,${ou}`, `CN=inner,${gou}`] });
    const bulk = `OU=Bulk,${dc.baseDn}`;
    await admin.add(bulk, { objectClass: ['top', 'organizationalUnit'] });
    const members: string[] = [];
    for (let i = 0; i < BIG; i++) {
      const dn = `CN=bulk${i},${bulk}`;
      await admin.add(dn, { objectClass: ['top', 'group'], sAMAccountName: `bulk${i}` });
      members.push(dn);
    }
    await admin.add(`CN=everyone,${gou}`, { objectClass: ['top', 'group'], sAMAccountName: 'everyone', member: [`CN=alice,${ou}`, ...members] });
  });
  after(async () => {
    await admin?.unbind().catch(() => undefined);
    await dc?.stop();
  });

  const source = (over: Record<string, unknown> = {}) =>
    new LdapSource(ldapConfigSchema.parse({ type: 'ldap', preset: 'activeDirectory', url: dc.url, bindDn: dc.admin.dn, bindPassword: { env: ENV }, users: { baseDn: ou }, groups: { baseDn: gou }, pageSize: 2, ...over }), { fastRetries: true }, { onSearch: (s) => searches.push(s) });
  const q = (over: Partial<SourceQuery> = {}): SourceQuery => ({ attributes: [], groups: false, manager: false, ...over });
  async function list(src: LdapSource, query: SourceQuery): Promise<SourceUser[]> {
    const out: SourceUser[] = [];
    let complete = false;
    for await (const p of src.listUsers(query)) {
      out.push(...p.users);
      complete ||= p.complete === true;
    }
    assert.ok(complete, 'the listing said complete');
    return out;
  }

  test('objectGUID ids, objectSid text, userAccountControl, manager, memberOf with nesting', async () => {
    const users = await list(source({ nestedGroups: true }), q({ attributes: ['department', 'objectSid', 'manager.mail'], groups: true, manager: true }));
    const by = new Map(users.map((u) => [u.attrs.sAMAccountName as string, u]));
    assert.deepEqual([...by.keys()].sort(), ['alice', 'bob', 'boss', 'carol']);
    for (const u of users) {
      assert.match(u.id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'objectGUID as a GUID string');
      assert.match(String(u.attrs.objectSid), /^S-1-5-21-\d+-\d+-\d+-\d+$/, 'objectSid as text');
    }
    assert.equal(by.get('carol')!.attrs.accountEnabled, false, 'userAccountControl 546: disabled');
    assert.equal(by.get('alice')!.attrs.accountEnabled, true);
    assert.deepEqual(by.get('alice')!.groups, ['everyone', 'inner', 'outer'], 'inner is nested in outer');
    assert.deepEqual(by.get('bob')!.groups, ['outer']);
    const m = by.get('alice')!.manager!;
    assert.ok('id' in m && m.id === by.get('boss')!.id, 'the manager DN resolved to its objectGUID');
    assert.equal(m.attrs?.mail, 'boss@corp.example.com');
    assert.equal(by.get('boss')!.manager, null);
    // The complete page lists the groups under the group base by objectGUID, under their cn.
    let groupList: Array<{ id: string; name: string }> | undefined;
    for await (const p of source().listUsers(q({ groups: true }))) if (p.complete) groupList = p.groupList;
    assert.deepEqual(groupList?.map((g) => g.name).sort(), ['everyone', 'inner', 'outer']);
    assert.ok(groupList!.every((g) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(g.id)), 'objectGUID ids');
  });

  test('range retrieval: member;range=0-99 is followed to the last block, and listGroups reads the group whole', async () => {
    const conn = await source().open();
    try {
      const [entry] = await conn.all({ base: `CN=everyone,${gou}`, scope: 'base', filter: '(objectClass=*)', attributes: ['member;range=0-99'], binary: new Set() }, 'test');
      assert.ok([...entry!.attrs.keys()].some((k) => /^member;range=0-99$/i.test(k)), 'Samba answered the first block as asked');
      const members = await readRanges(conn, entry!, 'member');
      assert.equal(members.length, BIG + 1, 'every member, over the blocks');
      assert.equal(new Set(members).size, BIG + 1, 'none twice');
    } finally {
      await conn.close();
    }
    const groups = [];
    for await (const batch of source().listGroups(q({ groups: true }))) groups.push(...batch);
    assert.equal(groups.find((g) => g.name === 'everyone')?.members?.length, 1, 'one user member (the rest are groups)');
  });

  test('uSNChanged: a change is read alone; a deletion is found in Deleted Objects', async () => {
    const src = source();
    const query = q({ attributes: ['department'] });
    const round = async (cp: string | null) => {
      const pages: ChangePage[] = [];
      for await (const p of src.changes(cp, query)) pages.push(p);
      return { users: pages.flatMap((p) => p.users), removed: pages.flatMap((p) => p.removed), checkpoint: pages.at(-1)!.checkpoint! };
    };
    const seed = await round(null);
    assert.equal(seed.users.length, 4);
    const carol = seed.users.find((u) => u.attrs.sAMAccountName === 'carol')!;
    await admin.modify(`CN=bob,${ou}`, new Change({ operation: 'replace', modification: new Attribute({ type: 'department', values: ['Sales'] }) }));
    await admin.del(`CN=carol,${ou}`);
    const next = await round(seed.checkpoint);
    assert.deepEqual(next.users.map((u) => [u.attrs.sAMAccountName, u.attrs.department]), [['bob', 'Sales']]);
    assert.deepEqual(next.removed, [{ id: carol.id, reason: 'deleted' }]);
    const none = await round(next.checkpoint);
    assert.deepEqual([none.users.length, none.removed.length], [0, 0]);
  });

  test("attributes(): AD's schema, binary ones said so", async () => {
    const byPath = new Map((await source().attributes()).map((a) => [a.path, a]));
    assert.equal(byPath.get('department')?.type, 'string');
    assert.match(byPath.get('thumbnailPhoto')?.description ?? '', /base64/);
    assert.equal(byPath.get('proxyAddresses')?.type, 'string[]');
  });
});
