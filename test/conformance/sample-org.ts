// The sample organisation the source conformance suite runs on (emulators/org, the one every
// emulator serves: managers, nested groups, disabled users, guests, unicode names), and its
// provider-neutral view for the suite. A fixture whose provider keeps the org's ids and
// display names (the Graph emulator, a memory source) uses expectedFrom as it is; one that
// renames (an LDAP DN, an Okta id) maps the result.
import { generateOrg, type Org } from '../../emulators/org/index.ts';
import type { ExpectedDirectory } from './source-suite.ts';

/** Big enough for several pages of 5 to 7 users, disabled users, guests and unicode names; small enough to reseed per test. */
export const SAMPLE_ORG = { users: 80, seed: 77 } as const;

/** A fresh copy of the sample (tests mutate it). */
export function sampleOrg(): Org {
  return generateOrg(SAMPLE_ORG);
}

/** The same tenant with no users, groups or roles. */
export function emptyOrg(): Org {
  return { ...sampleOrg(), users: [], groups: [], roles: [] };
}

/** What the suite expects a source to read from `org`: ids, references, managers, direct groups, the name and probe attributes. */
export function expectedFrom(org: Org, attributes: readonly string[] = ['displayName', 'department']): ExpectedDirectory {
  return {
    users: org.users.map((u) => ({
      id: u.id,
      refs: [u.userPrincipalName, ...(u.mail && u.mail.toLowerCase() !== u.userPrincipalName.toLowerCase() ? [u.mail] : [])],
      managerId: u.managerId,
      groups: org.groups.filter((g) => g.members.includes(u.id)).map((g) => g.displayName),
      enabled: u.accountEnabled,
      attrs: Object.fromEntries(attributes.map((a) => [a, (u as unknown as Record<string, unknown>)[a]])),
    })),
    groups: org.groups.map((g) => ({ id: g.id, name: g.displayName, members: [...g.members] })),
  };
}
