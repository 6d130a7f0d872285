// The source conformance fixture for OneLogin: the OneLogin source against the OneLogin
// emulator, started in-process over TLS and driven straight through its account. The sample's
// ids become OneLogin's integers; its groups are OneLogin roles (the source's default group
// source); disabled sample users are Suspended (status 2).
import { startOneLoginEmulator, Account, DEFAULT_ONELOGIN_CREDENTIAL, type OneLoginEmulator } from '../../emulators/onelogin/index.ts';
import type { Org } from '../../emulators/org/index.ts';
import { definition, type OneLoginSource } from '../../src/sources/onelogin/index.ts';
import { emptyOrg, expectedFrom, sampleOrg } from './sample-org.ts';
import type { ExpectedDirectory, SourceFixture, SourceSetup } from './source-suite.ts';
import { scriptedFault, setupOverrides, type FaultPlaces } from './fixture-kit.ts';

const SECRET_ENV = 'IDSYNC_TEST_ONELOGIN_CONFORMANCE_SECRET';

/** The first page of a listing is /api/2/users without `cursor`; later pages carry it. */
const WHERE: FaultPlaces = {
  'first-page': { pattern: '^/api/2/users(\\?(?!.*cursor=)|$)' },
  'later-pages': { pattern: '^/api/2/users\\?.*cursor=' },
  all: { pattern: '^/api/2/users' },
};

/** The sample as the OneLogin source must read it: integer ids, username (the UPN) and e-mail as references. */
export function expectedOneLogin(org: Org): ExpectedDirectory {
  const base = expectedFrom(org);
  const uid = (id: string) => String(Account.userId(org, id));
  const userIds = new Set(org.users.map((u) => u.id));
  return {
    users: base.users.map((e, i) => {
      const u = org.users[i]!;
      const email = (u.mail ?? u.userPrincipalName).toLowerCase();
      return {
        ...e,
        id: uid(e.id),
        refs: [u.userPrincipalName, ...(email !== u.userPrincipalName.toLowerCase() ? [email] : [])],
        managerId: e.managerId ? uid(e.managerId) : null,
        attrs: { displayName: [u.givenName, u.surname].filter(Boolean).join(' ') || null, department: u.department },
      };
    }),
    // Nested groups stay in the expectation (the suite checks the sample has them); a OneLogin
    // role holds users only, and the suite compares only the user members.
    groups: base.groups.map((g) => ({ ...g, id: String(Account.roleId(org, g.id)), members: g.members.map((m) => (userIds.has(m) ? uid(m) : String(Account.roleId(org, m)))) })),
  };
}

export interface OneLoginFixture extends SourceFixture {
  emulator: OneLoginEmulator;
}

export async function oneLoginFixture(): Promise<OneLoginFixture> {
  const emu = await startOneLoginEmulator({ org: sampleOrg() });
  const open: OneLoginSource[] = [];
  const closeAll = async () => void (await Promise.all(open.splice(0).map((s) => s.close())));
  const user = (id: string) => {
    const u = emu.account.users.get(Number(id));
    if (!u) throw new Error(`no OneLogin user ${id}`);
    return u;
  };
  const clearFaults = async () => emu.setFaults({ errorRate: 0, dropRate: 0, script: [] });

  return {
    source(setup: SourceSetup = {}) {
      process.env[SECRET_ENV] = DEFAULT_ONELOGIN_CREDENTIAL.clientSecret;
      const config = definition.configSchema.parse({
        type: 'onelogin',
        baseUrl: emu.url,
        clientId: DEFAULT_ONELOGIN_CREDENTIAL.clientId,
        clientSecret: { env: SECRET_ENV },
        ...setupOverrides(setup),
      });
      const s = definition.create(config, { ca: emu.ca, fastRetries: true }) as OneLoginSource;
      open.push(s);
      return s;
    },
    async seed(kind) {
      await closeAll();
      await clearFaults();
      emu.resetStats();
      const org = kind === 'empty' ? emptyOrg() : sampleOrg();
      emu.account.replace(org);
      return expectedOneLogin(org);
    },
    attributes: { name: 'displayName', probe: 'department', always: ['id', 'username', 'email', 'firstname', 'lastname', 'displayName', 'active', 'status'] },
    unknownRefs: ['999999999', "o'nobody@contoso.com", 'nobody-at-all'],
    unsupported: {
      changes: 'OneLogin\'s updated_since sees neither deleted users (deleted outright, never listed) nor role changes: the source reads in full only (no change feed)',
      filter: 'the OneLogin source has no filter expression; requiredGroups (roles or groups) narrow the listing',
      filteredChanges: 'no change feed',
      listGroups: 'OneLogin roles and groups reach the targets as each user\'s `groups`; the source offers no group-centric read',
      requestTally:
        'OneLogin user pages carry manager_user_id and role_ids in every user: the manager and roles cost no requests of their own, only one role list per read (covered by test/e2e/onelogin-jira.test.ts)',
      softDelete: 'OneLogin deletes users outright: there is no restorable deletion',
      expireCheckpoint: 'no change feed',
    },
    groupMembers: 'direct',
    async setAttribute(id, name, value) {
      const u = user(id);
      if (name in u) (u as unknown as Record<string, unknown>)[name] = value;
      else u.custom_attributes[name] = value;
      emu.account.touch(u);
    },
    async setManager(id, managerId) {
      const u = user(id);
      u.manager_user_id = managerId === null ? null : Number(managerId);
      emu.account.touch(u);
    },
    async addMember(groupId, userId) {
      const role = [...emu.account.roles.values()].find((r) => String(r.id) === groupId || r.name === groupId);
      if (!role) throw new Error(`no role ${groupId}`);
      const u = user(userId);
      if (!u.role_ids.includes(role.id)) u.role_ids.push(role.id);
    },
    async removeMember(groupId, userId) {
      const u = user(userId);
      u.role_ids = u.role_ids.filter((r) => String(r) !== groupId && emu.account.roles.get(r)?.name !== groupId);
    },
    async deleteUser(id) {
      emu.account.users.delete(Number(id));
    },
    async fault(spec) {
      emu.setFaults({ script: [...emu.faults.script, scriptedFault(spec, WHERE)] });
    },
    async storm() {
      emu.setFaults({ errorRate: 0.3, errorStatus: 503, seed: 11 });
    },
    clearFaults,
    faultsInjected: async () => emu.stats.faultsInjected,
    emulator: emu,
    async close() {
      await closeAll();
      await emu.close();
    },
  };
}
