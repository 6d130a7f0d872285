// The source conformance fixture for Keycloak: the Keycloak source against the Keycloak
// emulator (TLS, in-process), driven through its control API. Keycloak keeps the sample's ids;
// usernames are the lower-cased UPNs, the manager is the `manager` attribute (a username).
import { DEFAULT_KEYCLOAK_CLIENT, startKeycloakEmulator, type KeycloakEmulator } from '../../emulators/keycloak/index.ts';
import type { Org } from '../../emulators/org/index.ts';
import { definition, KeycloakSource } from '../../src/sources/keycloak/index.ts';
import { emptyOrg, sampleOrg } from './sample-org.ts';
import type { ExpectedDirectory, SourceFixture, SourceSetup } from './source-suite.ts';
import { emulatorControl, faultControls, setupOverrides, type FaultPlaces } from './fixture-kit.ts';

const SECRET_ENV = 'IDSYNC_TEST_KEYCLOAK_CONFORMANCE_SECRET';
const WHERE: FaultPlaces = {
  'first-page': { pattern: '^/admin/realms/[^/]+/users\\?(.*&)?first=0(&|$)' },
  'later-pages': { pattern: '^/admin/realms/[^/]+/users\\?(.*&)?first=[1-9]' },
  all: { pattern: '^/admin/' },
};

export function expectedKeycloak(org: Org): ExpectedDirectory {
  return {
    users: org.users.map((u) => {
      const username = u.userPrincipalName.toLowerCase();
      const email = u.mail?.toLowerCase();
      return {
        id: u.id,
        refs: [username, ...(email && email !== username ? [email] : [])],
        managerId: u.managerId,
        groups: org.groups.filter((g) => g.members.includes(u.id)).map((g) => g.displayName),
        enabled: u.accountEnabled,
        attrs: { firstName: u.givenName ?? undefined, lastName: u.surname ?? undefined },
        keys: { username, ...(email ? { email } : {}) },
      };
    }),
    groups: org.groups.map((g) => ({ id: g.id, name: g.displayName, members: [...g.members] })),
  };
}

/** `membershipStrategy`: how the sources built read group memberships (the suite runs each way). */
export async function keycloakFixture(opts: { membershipStrategy?: 'auto' | 'perUser' | 'perGroup' } = {}): Promise<SourceFixture & { emulator: KeycloakEmulator }> {
  const emu = await startKeycloakEmulator({ org: sampleOrg() });
  const api = emulatorControl(emu);
  const control = api.control;
  const faults = faultControls(control, WHERE);
  const open: KeycloakSource[] = [];
  process.env[SECRET_ENV] = DEFAULT_KEYCLOAK_CLIENT.secret;
  const closeAll = () => Promise.all(open.splice(0).map((s) => s.close()));
  return {
    source(setup: SourceSetup = {}) {
      const config = definition.configSchema.parse({
        type: 'keycloak',
        url: emu.url,
        realm: emu.realmName,
        clientId: DEFAULT_KEYCLOAK_CLIENT.clientId,
        clientSecret: { env: SECRET_ENV },
        ...setupOverrides(setup),
        ...(opts.membershipStrategy ? { membershipStrategy: opts.membershipStrategy } : {}),
      });
      const s = definition.create(config, { ca: emu.ca, fastRetries: true }) as KeycloakSource;
      open.push(s);
      return s;
    },
    async seed(kind) {
      await closeAll();
      await control('/reset');
      await faults.clearFaults();
      const org = kind === 'empty' ? emptyOrg() : sampleOrg();
      await control('/org', 'POST', { org });
      return expectedKeycloak(org);
    },
    attributes: { name: 'firstName', probe: 'lastName', always: ['id', 'username', 'email', 'firstName', 'lastName', 'enabled'] },
    unknownRefs: ['00000000-0000-4000-8000-000000000000', "o'nobody@contoso.com", 'nobody-at-all'],
    unsupported: {
      changes: 'Keycloak keeps no change feed for users (admin events are off by default and not a complete record): every run reads in full',
      filter: "this fixture does not drive the source's search and attribute-query settings yet",
      softDelete: 'Keycloak deletes users outright; disabling is `enabled: false`, listed',
      requestTally: 'the manager is an attribute of the user page, so manager reads cannot be counted apart',
    },
    groupMembers: 'direct',
    async setAttribute(id, name, value) {
      await control(`/users/${id}`, 'PATCH', { [name]: value });
    },
    async deleteUser(id) {
      await control(`/users/${id}`, 'DELETE');
    },
    ...faults,
    emulator: emu,
    async close() {
      await closeAll();
      await api.close();
      await emu.close();
    },
  };
}
