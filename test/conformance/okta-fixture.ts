// The source conformance fixture for Okta: the Okta source against the Okta emulator, started
// in-process over TLS, driven through its control API (/_emulator/…). The sample's ids become
// Okta ids (00u…, 00g…); disabled sample users are SUSPENDED; groups hold users only.
import { startOktaEmulator, oktaId, type OktaEmulator } from '../../emulators/okta/index.ts';
import type { Org } from '../../emulators/org/index.ts';
import { emulatedOktaSources } from '../../src/sources/okta/testing.ts';
import { emptyOrg, expectedFrom, sampleOrg } from './sample-org.ts';
import type { ExpectedDirectory, SourceFixture, SourceSetup } from './source-suite.ts';
import { emulatorControl, faultControls, setupOverrides, type FaultPlaces } from './fixture-kit.ts';

const TOKEN_ENV = 'IDSYNC_TEST_OKTA_CONFORMANCE_TOKEN';
/** `filtered: true`: the connector's search expression keeps the active users (every status but SUSPENDED that the sample has). */
export const OKTA_SEARCH = 'status eq "ACTIVE" or status eq "PASSWORD_EXPIRED" or status eq "LOCKED_OUT" or status eq "RECOVERY"';
const ALWAYS = ['id', 'status', 'active', 'login', 'email', 'displayName', 'firstName', 'lastName'];

/**
 * Which emulator requests a FaultSpec hits: the first page of a listing is /api/v1/users
 * without `after`; later pages carry `after`; `all` is every API call (not the token endpoint).
 */
const WHERE: FaultPlaces = {
  'first-page': { pattern: '^/api/v1/users(\\?(?!.*after=)|$)' },
  'later-pages': { pattern: '^/api/v1/users\\?.*after=' },
  all: { pattern: '^/api/v1/' },
};

/** The sample as the Okta source must read it: Okta ids, login and e-mail as references, direct user members. */
export function expectedOkta(org: Org): ExpectedDirectory {
  const base = expectedFrom(org);
  const uid = (id: string) => oktaId('00u', id);
  const userIds = new Set(org.users.map((u) => u.id));
  return {
    users: base.users.map((e, i) => {
      const u = org.users[i]!;
      const email = u.mail ?? u.userPrincipalName;
      return {
        ...e,
        id: uid(e.id),
        refs: [u.userPrincipalName, ...(email.toLowerCase() !== u.userPrincipalName.toLowerCase() ? [email] : [])],
        managerId: e.managerId ? uid(e.managerId) : null,
        // Okta groups hold users only, so a sample user's direct groups are those it is listed in.
        groups: e.groups,
      };
    }),
    // Nested groups of the sample stay in the expectation (the suite checks the sample has them);
    // Okta's members are users only, and the suite compares only the user members.
    groups: base.groups.map((g) => ({ id: oktaId('00g', g.id), name: g.name, members: g.members.map((m) => (userIds.has(m) ? uid(m) : oktaId('00g', m))) })),
  };
}

export interface OktaFixture extends SourceFixture {
  emulator: OktaEmulator;
}

export async function oktaFixture(): Promise<OktaFixture> {
  const emu = await startOktaEmulator({ org: sampleOrg() });
  const api = emulatorControl(emu);
  const control = api.control;
  const sources = emulatedOktaSources(() => emu, TOKEN_ENV);
  const faults = faultControls(control, WHERE);

  return {
    source(setup: SourceSetup = {}) {
      return sources.source(setupOverrides(setup, { setting: 'search', value: OKTA_SEARCH }));
    },
    async seed(kind) {
      await sources.closeAll();
      await control('/reset');
      await faults.clearFaults();
      const org = kind === 'empty' ? emptyOrg() : sampleOrg();
      await control('/org', 'POST', { org });
      const expected = expectedOkta(org);
      // An empty Okta org still has the built-in Everyone group; the sample's groups are Okta groups.
      return expected;
    },
    attributes: { name: 'displayName', probe: 'department', always: ALWAYS },
    filter: {
      describe: OKTA_SEARCH,
      includes: (u) => u.enabled,
      exclude: async (id) => void (await control(`/users/${id}/status`, 'POST', { status: 'SUSPENDED' })),
    },
    unknownRefs: ['00u00000000000000000', "o'nobody@contoso.com", 'nobody-at-all'],
    unsupported: {
      requestTally:
        "Okta's user pages carry profile.managerId and Okta has no field selection, so a manager read cannot be told apart from a user page; the abort and economy behaviour is covered by src/sources/okta/okta.test.ts",
      hardDelete:
        "Okta lists no deleted users and has no change feed for deletions: a user deactivated (DEPROVISIONED) is seen by changes() as soft-deleted, one deleted outright between two rounds only by the next full read",
      groupMembership: "Okta does not move a user's lastUpdated when its group memberships change: incremental runs do not see them; the next full read does",
      filteredChanges: 'a user whose profile no longer matches the search expression is not returned by a lastUpdated search; the next full read removes it',
      expireCheckpoint: 'a lastUpdated checkpoint does not expire in Okta (garbled and changed-query checkpoints are CHECKPOINT_EXPIRED: see okta.test.ts)',
    },
    groupMembers: 'direct',
    async setAttribute(id, name, value) {
      await control(`/users/${id}`, 'PATCH', { [name]: value });
    },
    async setManager(id, managerId) {
      await control(`/users/${id}/manager`, 'PUT', { managerId });
    },
    renameGroup: async (groupId, name) => void (await control(`/groups/${groupId}`, 'PATCH', { name })),
    deleteGroup: async (groupId) => void (await control(`/groups/${groupId}`, 'DELETE')),
    async deleteUser(id, how) {
      // Soft: deactivated (DEPROVISIONED, restorable); hard: deactivated and then deleted, as Okta does it.
      await control(`/users/${id}`, 'DELETE');
      if (how === 'hard') await control(`/users/${id}`, 'DELETE');
    },
    ...faults,
    emulator: emu,
    async close() {
      await sources.closeAll();
      await api.close();
      await emu.close();
    },
  };
}
