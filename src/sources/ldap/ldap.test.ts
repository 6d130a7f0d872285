// The LDAP source against a real slapd, for what the conformance suite does not cover: each
// failure a server gives as a message that says what to do, TLS (StartTLS, ldaps, a private
// CA), binary attributes, nested groups and a group over 1,500 members, the schema catalogue,
// and incremental reads (10 changes read alone; a join to a group).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Attribute, Change } from 'ldapts';
import { generateOrg } from '../../../emulators/org/index.ts';
import { addAllStaffGroup, ALL_STAFF } from '../../../emulators/ldap/org-ldif.ts';
import { startSlapd, type Slapd } from '../../../emulators/ldap/slapd.ts';
import { IdsyncError, errorText, isIdsyncError } from '../../core/errors.ts';
import type { ChangePage, SourceQuery, SourceUser } from '../../core/types.ts';
import { LdapSource, ldapConfigSchema } from './index.ts';

const ENV = 'IDSYNC_TEST_LDAP_SOURCE_PASSWORD';
const q = (over: Partial<SourceQuery> = {}): SourceQuery => ({ attributes: [], groups: false, manager: false, ...over });

describe('LDAP source against slapd', () => {
  const org = addAllStaffGroup(generateOrg({ users: 1600, seed: 21 }));
  let s: Slapd;
  before(async () => {
    s = await startSlapd(org, { pagedTotalLimit: 2000 });
    process.env[ENV] = s.reader.password;
  });
  after(async () => {
    await s?.stop();
  });

  const source = (over: Record<string, unknown> = {}) =>
    new LdapSource(
      ldapConfigSchema.parse({
        type: 'ldap',
        preset: 'openldap',
        url: s.url,
        bindDn: s.reader.dn,
        bindPassword: { env: ENV },
        users: { baseDn: s.layout.peopleDn },
        groups: { baseDn: s.layout.groupsDn },
        connectTimeoutMs: 2_000,
        timeoutMs: 10_000,
        ...over,
      }),
      { fastRetries: true },
    );

  async function all(src: LdapSource, query: SourceQuery): Promise<SourceUser[]> {
    const users: SourceUser[] = [];
    let complete = false;
    for await (const p of src.listUsers(query)) {
      users.push(...p.users);
      complete ||= p.complete === true;
    }
    assert.ok(complete, 'the listing completes');
    return users;
  }

  async function failureOf(src: LdapSource): Promise<IdsyncError> {
    try {
      await all(src, q());
    } catch (e) {
      assert.ok(e instanceof IdsyncError, `an IdsyncError, not ${String(e)}`);
      return e;
    }
    assert.fail('the listing should fail');
  }

  // ------------------------------------------------------------ failures a real server gives

  test('a wrong password: AUTH, invalid credentials, and what to check', async () => {
    process.env[`${ENV}_WRONG`] = 'not-the-password';
    const e = await failureOf(source({ bindPassword: { env: `${ENV}_WRONG` } }));
    assert.equal(e.code, 'AUTH');
    assert.match(e.message, /invalid credentials/);
    assert.match(e.hint ?? '', /bindDn .*bind password/);
    assert.ok(!errorText(e).includes('not-the-password'), 'the password is never in the message');
  });

  test('an unknown host: CONFIG, the host name to check', async () => {
    const e = await failureOf(source({ url: 'ldap://no-such-host.invalid:389' }));
    assert.equal(e.code, 'CONFIG');
    assert.match(e.message, /host .* is unknown/);
    assert.match(e.hint ?? '', /no-such-host\.invalid/);
  });

  test('nothing listening: TRANSIENT, the port to check', async () => {
    const e = await failureOf(source({ url: 'ldap://127.0.0.1:1' }));
    assert.equal(e.code, 'TRANSIENT');
    assert.match(e.message, /connection refused/);
    assert.match(e.hint ?? '', /port/);
  });

  test('an untrusted certificate (ldaps and StartTLS): CONFIG, give the CA', async () => {
    for (const over of [{ url: s.ldapsUrl }, { startTls: true, url: s.url.replace('127.0.0.1', 'localhost') }]) {
      const e = await failureOf(source(over));
      assert.equal(e.code, 'CONFIG', JSON.stringify(over));
      assert.match(e.message, /certificate .* is not trusted/);
      assert.match(e.hint ?? '', /CA .*ca setting/);
    }
  });

  test('with the private CA, ldaps and StartTLS read the directory', async () => {
    for (const over of [{ url: s.ldapsUrl, ca: s.ca }, { startTls: true, url: s.url.replace('127.0.0.1', 'localhost'), ca: s.ca }]) {
      const src = source(over);
      assert.equal((await all(src, q())).length, org.users.length, JSON.stringify(Object.keys(over)));
      const t = await src.test();
      assert.ok(t.ok, JSON.stringify(t.checks));
      assert.match(t.checks[0]!.message, /over TLS/);
    }
  });

  test('a base DN that does not exist: CONFIG, no such object, the setting to fix', async () => {
    const e = await failureOf(source({ users: { baseDn: `ou=nobody,${s.layout.suffix}` } }));
    assert.equal(e.code, 'CONFIG');
    assert.match(e.message, /ou=nobody.* does not exist/);
    assert.match(e.hint ?? '', /users\.baseDn/);
  });

  test("the server's size limit: CONFIG, how to raise it or narrow the search", async () => {
    // A server that returns at most 10 entries per paged search, to an org of 30.
    const small = await startSlapd(generateOrg({ users: 30, seed: 3 }), { pagedTotalLimit: 10 });
    try {
      process.env[`${ENV}_SMALL`] = small.reader.password;
      const e = await failureOf(source({ url: small.url, bindDn: small.reader.dn, bindPassword: { env: `${ENV}_SMALL` }, pageSize: 5 }));
      assert.equal(e.code, 'CONFIG');
      assert.match(e.message, /size limit/);
      assert.match(e.hint ?? '', /size\.prtotal|narrow/);
    } finally {
      await small.stop();
    }
  });

  test('a bad filter is refused by the settings, saying how to write one', () => {
    for (const filter of ['(department=', '(&(objectClass=person)(department=Sales)', 'a=b)']) {
      assert.throws(() => source({ users: { baseDn: s.layout.peopleDn, filter } }), /not a valid LDAP filter.*RFC 4515/s, filter);
    }
    assert.doesNotThrow(() => source({ users: { baseDn: s.layout.peopleDn, filter: '(&(title=Mgr \\28acting\\29)(!(l=*)))' } }));
  });

  test('test() says which check failed', async () => {
    process.env[`${ENV}_WRONG`] = 'nope';
    const r = await source({ bindPassword: { env: `${ENV}_WRONG` } }).test();
    assert.equal(r.ok, false);
    assert.equal(r.checks[0]!.name, 'bind');
    assert.match(r.checks[0]!.message, /invalid credentials/);
  });

  // ------------------------------------------------------------ what is read

  test('values: ids, unicode, accountEnabled from ppolicy, binary photos as base64, the manager resolved from its DN', async () => {
    const users = await all(source(), q({ attributes: ['jpegPhoto', 'title'], manager: true }));
    const byId = new Map(users.map((u) => [u.id, u]));
    let photos = 0;
    for (const [i, u] of org.users.entries()) {
      const got = byId.get(u.id)!;
      assert.ok(got, `user ${u.id}`);
      assert.equal(got.attrs.accountEnabled, u.accountEnabled, `accountEnabled of ${u.id}`);
      assert.equal(got.attrs.cn, u.displayName);
      assert.equal(got.keys?.dn, s.names.userDn.get(u.id)!.toLowerCase());
      if (u.managerId) {
        const boss = org.users.find((m) => m.id === u.managerId)!;
        // Found under the users base: named by its id, with its attributes (DN, mail, name).
        assert.deepEqual(got.manager && 'id' in got.manager ? got.manager.id : undefined, u.managerId, `manager of ${u.id}`);
        assert.equal(got.manager!.attrs?.dn, s.names.userDn.get(u.managerId));
        assert.equal(got.manager!.attrs?.mail, boss.mail);
        assert.equal(got.manager!.attrs?.displayName, boss.displayName);
      } else assert.equal(got.manager, null);
      if (i % 10 === 3) {
        photos++;
        const photo = got.attrs.jpegPhoto as string;
        assert.match(photo, /^[A-Za-z0-9+/]+=*$/, 'a binary attribute is base64');
        assert.equal(Buffer.from(photo, 'base64')[0], 0xff, 'and decodes to the bytes');
      } else assert.equal(got.attrs.jpegPhoto, null);
    }
    assert.ok(photos > 0, 'some users have a photo (as base64)');
    assert.ok(users.some((u) => /[^\x00-\x7f]/.test(String(u.attrs.cn))), 'unicode names');
  });

  test('groups: direct, or nested when nestedGroups; a group of 1,600 members; listGroups', async () => {
    const direct = await all(source(), q({ groups: true }));
    const nested = await all(source({ nestedGroups: true }), q({ groups: true }));
    const jiraAdmins = org.groups.find((g) => g.displayName === 'jira-administrators')!;
    const admin = jiraAdmins.members[0]!;
    const d = direct.find((u) => u.id === admin)!;
    const n = nested.find((u) => u.id === admin)!;
    assert.ok(d.groups!.includes('jira-administrators') && !d.groups!.includes('jira-users') === !org.groups.find((g) => g.displayName === 'jira-users')!.members.includes(admin), 'the admin is in jira-administrators, and in jira-users exactly when the org says so');
    assert.ok(n.groups!.includes('jira-users'), 'jira-administrators is nested in jira-users');
    assert.ok(direct.every((u) => u.groups!.includes(ALL_STAFF)), 'everyone is in the 1,600-member group');
    const groups = [];
    for await (const batch of source().listGroups(q({ groups: true }))) groups.push(...batch);
    assert.equal(groups.find((g) => g.name === ALL_STAFF)?.members?.length, org.users.length);
  });

  test('attributes(): the schema of inetOrgPerson, binary ones said so', async () => {
    const attrs = await source().attributes();
    const byPath = new Map(attrs.map((a) => [a.path, a]));
    for (const p of ['uid', 'mail', 'departmentNumber', 'title', 'employeeNumber', 'telephoneNumber', 'accountEnabled', 'manager.targetUsername', 'groups']) assert.ok(byPath.has(p), `offers ${p}`);
    assert.match(byPath.get('jpegPhoto')?.description ?? '', /base64/);
    assert.equal(byPath.get('telephoneNumber')?.type, 'string[]');
    assert.ok(!byPath.has('userPassword'), 'never the password');
  });

  test('a manager DN that names no user stays a DN reference', async () => {
    const u = org.users.find((x) => x.managerId)!;
    const admin = await s.adminClient();
    const dn = s.names.userDn.get(u.id)!;
    try {
      await admin.modify(dn, new Change({ operation: 'replace', modification: new Attribute({ type: 'manager', values: [`uid=Former.Boss,ou=alumni,${s.layout.suffix}`] }) }));
      const got = await source().getUser(u.id, q({ manager: true }));
      assert.deepEqual(got?.manager, { key: 'dn', value: `uid=former.boss,ou=alumni,${s.layout.suffix}`, attrs: { dn: `uid=Former.Boss,ou=alumni,${s.layout.suffix}` } });
    } finally {
      await admin.modify(dn, new Change({ operation: 'replace', modification: new Attribute({ type: 'manager', values: [s.names.userDn.get(u.managerId!)!] }) }));
      await admin.unbind();
    }
  });

  test('getUser by uid, mail, DN and id; searchUsers by prefix', async () => {
    const src = source();
    const u = org.users.find((x) => x.mail && x.managerId)!;
    for (const ref of [s.names.uid.get(u.id)!, u.mail!, s.names.userDn.get(u.id)!, u.id]) assert.equal((await src.getUser(ref, q()))?.id, u.id, ref);
    const hits = await src.searchUsers(s.names.uid.get(u.id)!.slice(0, 4).toUpperCase(), 5);
    assert.ok(hits.length > 0 && hits.length <= 5, `between 1 and 5 hits: ${hits.length}`);
  });

  // ------------------------------------------------------------ incremental

  async function round(src: LdapSource, checkpoint: string | null, query: SourceQuery) {
    const pages: ChangePage[] = [];
    for await (const p of src.changes(checkpoint, query)) pages.push(p);
    return { users: pages.flatMap((p) => p.users), removed: pages.flatMap((p) => p.removed), checkpoint: pages.at(-1)!.checkpoint! };
  }

  test('incremental: after 10 changes the round reads exactly those 10 users', async () => {
    const src = source({ pageSize: 200 });
    const query = q({ attributes: ['title'], manager: true });
    const seed = await round(src, null, query);
    assert.equal(seed.users.length, org.users.length, 'the seeding round reads everyone');
    const admin = await s.adminClient();
    const changed = org.users.slice(100, 110);
    try {
      for (const [i, u] of changed.entries()) {
        await admin.modify(s.names.userDn.get(u.id)!, new Change({ operation: 'replace', modification: new Attribute({ type: 'title', values: [`Changed ${i}`] }) }));
      }
    } finally {
      await admin.unbind();
    }
    const next = await round(src, seed.checkpoint, query);
    assert.deepEqual(next.users.map((u) => u.id).sort(), changed.map((u) => u.id).sort(), 'only the 10 changed users');
    assert.deepEqual(next.users.map((u) => u.attrs.title).sort(), changed.map((_, i) => `Changed ${i}`).sort());
    const none = await round(src, next.checkpoint, query);
    assert.equal(none.users.length, 0, 'nothing from the next checkpoint');
  });

  test('incremental: joining a group returns the user with the new group; a garbled checkpoint is CHECKPOINT_EXPIRED', async () => {
    const src = source();
    const query = q({ groups: true });
    const seed = await round(src, null, query);
    const u = org.users[42]!;
    const project = org.groups.find((g) => g.displayName.startsWith('project-') && !g.members.includes(u.id))!;
    const admin = await s.adminClient();
    try {
      await admin.modify(s.names.groupDn.get(project.id)!, new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [s.names.userDn.get(u.id)!] }) }));
    } finally {
      await admin.unbind();
    }
    const next = await round(src, seed.checkpoint, query);
    assert.ok(next.users.find((x) => x.id === u.id)?.groups?.includes(project.displayName), 'the joined group is there');
    await assert.rejects(round(src, 'garbage', query), (e: unknown) => isIdsyncError(e, 'CHECKPOINT_EXPIRED'));
  });
});
