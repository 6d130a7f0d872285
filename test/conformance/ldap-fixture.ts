// The source conformance fixture for LDAP: the LDAP source (openldap preset) against a real
// slapd (emulators/ldap/slapd.ts) seeded with the sample organisation, read through the fault
// proxy that counts its searches and injects faults; changes are made with a second, admin
// connection straight to slapd, as another administrator would make them.
import { Attribute, Change, type Client } from 'ldapts';
import type { Org } from '../../emulators/org/types.ts';
import { startSlapd, type Slapd } from '../../emulators/ldap/slapd.ts';
import { EMPTY_GROUP_MEMBER, PERMANENT_LOCK, escapeRdnValue } from '../../emulators/ldap/org-ldif.ts';
import type { LdapFault } from '../../emulators/ldap/fault-proxy.ts';
import { LdapSource, ldapConfigSchema } from '../../src/sources/ldap/index.ts';
import { normalizeDn } from '../../src/sources/ldap/values.ts';
import { emptyOrg, sampleOrg } from './sample-org.ts';
import type { ExpectedDirectory, FaultSpec, SourceFixture, SourceSetup } from './source-suite.ts';

const SECRET_ENV = 'IDSYNC_TEST_LDAP_CONFORMANCE_PASSWORD';
/** `filtered: true`: accounts not locked by ppolicy. */
export const ENABLED_FILTER = '(!(pwdAccountLockedTime=*))';

/** What the suite expects of the org as slapd holds it: ids are the org's, references uid, mail and DN. */
export function expectedLdap(org: Org, s: Slapd): ExpectedDirectory {
  const names = s.names;
  return {
    users: org.users.map((u) => ({
      id: u.id,
      refs: [names.uid.get(u.id)!, ...(u.mail ? [u.mail] : []), names.userDn.get(u.id)!],
      managerId: u.managerId,
      groups: org.groups.filter((g) => g.members.includes(u.id)).map((g) => g.displayName),
      enabled: u.accountEnabled,
      attrs: { displayName: u.displayName, departmentNumber: u.department ?? null },
      keys: { dn: normalizeDn(names.userDn.get(u.id)!) },
    })),
    groups: org.groups.map((g) => ({ id: g.id, name: g.displayName, members: [...g.members] })),
  };
}

export interface LdapFixture extends SourceFixture {
  slapd: Slapd;
  /** The LDAP source config the fixture builds (for tests that change it). */
  config(setup?: SourceSetup, over?: Record<string, unknown>): Record<string, unknown>;
  admin(): Promise<Client>;
}

export async function ldapFixture(): Promise<LdapFixture> {
  const slapd = await startSlapd(sampleOrg(), { faultProxy: true });
  process.env[SECRET_ENV] = slapd.reader.password;
  const proxy = slapd.proxy!;
  let counted = 0;
  let injectedAtSeed = 0;
  let admin: Client | undefined;
  const adminClient = async () => (admin ??= await slapd.adminClient());
  const modify = async (dn: string, change: Change | Change[]) => (await adminClient()).modify(dn, change);
  const replace = (type: string, values: string[]) => new Change({ operation: 'replace', modification: new Attribute({ type, values }) });

  const config = (setup: SourceSetup = {}, over: Record<string, unknown> = {}) => ({
    type: 'ldap',
    preset: 'openldap',
    url: slapd.proxyUrl,
    bindDn: slapd.reader.dn,
    bindPassword: { env: SECRET_ENV },
    users: { baseDn: slapd.layout.peopleDn, ...(setup.filtered ? { filter: ENABLED_FILTER } : {}) },
    groups: { baseDn: slapd.layout.groupsDn },
    timeoutMs: 5_000,
    connectTimeoutMs: 2_000,
    ...(setup.pageSize ? { pageSize: setup.pageSize } : {}),
    ...(setup.requiredGroups ? { requiredGroups: setup.requiredGroups } : {}),
    ...over,
  });

  const dnOf = (id: string) => {
    const dn = slapd.names.userDn.get(id);
    if (!dn) throw new Error(`no user ${id} in the seeded directory`);
    return dn;
  };
  const groupDnOf = (id: string) => slapd.names.groupDn.get(id)!;

  const toFault = (spec: FaultSpec): LdapFault => {
    const kind = ({ 'server-error': 'unavailable', drop: 'drop', 'empty-page': 'end-of-paging', 'short-page': 'cut-page' } as const)[spec.kind];
    // first-page / later-pages: the searches of the user entries; all: every search.
    const baseEndsWith = spec.where === 'all' ? undefined : slapd.layout.peopleDn;
    return { kind, where: spec.where, baseEndsWith, times: spec.times === 'always' ? Infinity : spec.times, skip: spec.after };
  };

  return {
    slapd,
    config,
    admin: adminClient,
    source(setup: SourceSetup = {}) {
      return new LdapSource(ldapConfigSchema.parse(config(setup)), { fastRetries: true });
    },
    async seed(kind) {
      await admin?.unbind().catch(() => undefined);
      admin = undefined;
      proxy.faults.length = 0;
      const org = kind === 'empty' ? emptyOrg() : sampleOrg();
      await slapd.seed(org);
      counted = proxy.searches.length;
      injectedAtSeed = proxy.injected;
      return expectedLdap(org, slapd);
    },
    attributes: { name: 'displayName', probe: 'departmentNumber', always: ['dn', 'uid', 'mail', 'cn', 'accountEnabled'] },
    filter: {
      describe: ENABLED_FILTER,
      includes: (u) => u.enabled,
      exclude: async (id) => void (await modify(dnOf(id), replace('pwdAccountLockedTime', [PERMANENT_LOCK]))),
    },
    unknownRefs: ['00000000-0000-4000-8000-000000000000', "o'nobody@contoso.com", 'nobody-at-all', `uid=nobody,${slapd.layout.peopleDn}`],
    unsupported: {
      softDelete: 'LDAP has no restorable deleted items (an AD recycle bin is read as a plain delete)',
      hardDelete: 'OpenLDAP keeps no trace of a deleted entry without the accesslog overlay: changes() cannot report it, the next full read notices the user missing',
      groupMembership:
        "leaving a group does not change the user's entry (memberOf is kept without a new entryCSN, as AD's back-link keeps uSNChanged): changes() returns the current members of a changed group, so a join comes through, a removal waits for the next full read (src/sources/ldap/ldap.test.ts)",
    },
    groupMembers: 'direct',
    async setAttribute(id, name, value) {
      await modify(dnOf(id), replace(name, [value]));
    },
    async setManager(id, managerId) {
      await modify(dnOf(id), managerId ? replace('manager', [dnOf(managerId)]) : new Change({ operation: 'replace', modification: new Attribute({ type: 'manager', values: [] }) }));
    },
    async addMember(groupId, userId) {
      await modify(groupDnOf(groupId), new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [dnOf(userId)] }) }));
    },
    async removeMember(groupId, userId) {
      const dn = groupDnOf(groupId);
      try {
        await modify(dn, new Change({ operation: 'delete', modification: new Attribute({ type: 'member', values: [dnOf(userId)] }) }));
      } catch (e) {
        // groupOfNames needs a member: the last one is replaced by the placeholder.
        if ((e as { code?: number }).code !== 65) throw e;
        await modify(dn, [
          new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [EMPTY_GROUP_MEMBER] }) }),
          new Change({ operation: 'delete', modification: new Attribute({ type: 'member', values: [dnOf(userId)] }) }),
        ]);
      }
    },
    async renameGroup(groupId, name) {
      // A modrdn, as an administrator renames a group: the entry keeps its entryUUID and members,
      // memberof-refint rewrites the members' memberOf.
      const dn = groupDnOf(groupId);
      const rdn = `cn=${escapeRdnValue(name)}`;
      await (await adminClient()).modifyDN(dn, rdn);
      slapd.names.groupDn.set(groupId, `${rdn},${slapd.layout.groupsDn}`);
    },
    async deleteGroup(groupId) {
      // A plain delete: OpenLDAP keeps no trace of it (memberof-refint drops it from the members' memberOf).
      await (await adminClient()).del(groupDnOf(groupId));
    },
    async deleteUser(id) {
      // Either way a plain delete: LDAP has nothing like deleted items.
      await (await adminClient()).del(dnOf(id));
    },
    async fault(spec) {
      proxy.faults.push(toFault(spec));
    },
    faultsInjected: async () => proxy.injected - injectedAtSeed,
    async storm() {
      // A server restarting under load: a few searches answered "unavailable", one connection dropped.
      proxy.faults.push({ kind: 'unavailable', where: 'all', times: 2, skip: 1 }, { kind: 'drop', where: 'all', times: 1, skip: 4 });
    },
    clearFaults: async () => void (proxy.faults.length = 0),
    async expireCheckpoints() {
      // The directory rebuilt from the same LDIF (as after a restore): the same users, new change marks, another base entry.
      await admin?.unbind().catch(() => undefined);
      admin = undefined;
      await slapd.seed(sampleOrg());
    },
    resetRequests: () => void (counted = proxy.searches.length),
    requests: () => {
      const seen = proxy.searches.slice(counted);
      const groupsDn = slapd.layout.groupsDn.toLowerCase();
      return {
        total: seen.length,
        manager: seen.filter((s) => s.attributes.some((a) => a.toLowerCase() === 'manager')).length,
        groups: seen.filter((s) => s.base.toLowerCase().endsWith(groupsDn) || s.attributes.some((a) => a.toLowerCase() === 'memberof')).length,
      };
    },
    async close() {
      await admin?.unbind().catch(() => undefined);
      await slapd.stop();
    },
  };
}
