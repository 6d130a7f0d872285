// What idsync assumes of Active Directory and of OpenLDAP, as data, and the one function that
// merges a connector's overrides into it. Everything else in the LDAP source reads the merged
// `LdapSettings`, never the preset or the raw config.
import type { LdapConfig, LdapDisabled } from './config.ts';

export type MembershipModel = 'memberOf' | 'member' | 'uniqueMember' | 'memberUid';
/** How the incremental read finds changed entries. */
export type ChangeTracking = 'usn' | 'csn';

export interface Preset {
  userObjectFilter: string;
  groupObjectFilter: string;
  idAttribute: string;
  usernameAttribute: string;
  mailAttribute: string;
  nameAttribute: string;
  membership: MembershipModel;
  disabled: LdapDisabled;
  changes: ChangeTracking;
  /** AD's LDAP_MATCHING_RULE_IN_CHAIN for one user's nested groups. */
  inChain: boolean;
  /** An attribute holding the entry's own DN that filters can match (several managers in one search). */
  dnAttribute: string;
  /** Attributes always given as lists. */
  multiValued: string[];
}

export const PRESETS: Record<LdapConfig['preset'], Preset> = {
  activeDirectory: {
    userObjectFilter: '(&(objectCategory=person)(objectClass=user))',
    groupObjectFilter: '(objectClass=group)',
    idAttribute: 'objectGUID',
    usernameAttribute: 'sAMAccountName',
    mailAttribute: 'mail',
    nameAttribute: 'displayName',
    membership: 'memberOf',
    // userAccountControl bit 2 (0x2): ACCOUNTDISABLE.
    disabled: { attribute: 'userAccountControl', when: 'bit', value: 2 },
    changes: 'usn',
    inChain: true,
    dnAttribute: 'distinguishedName',
    multiValued: ['objectClass', 'memberOf', 'proxyAddresses', 'otherMailbox', 'otherTelephone', 'otherMobile', 'servicePrincipalName', 'url', 'wWWHomePage'],
  },
  openldap: {
    userObjectFilter: '(objectClass=inetOrgPerson)',
    groupObjectFilter: '(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=posixGroup))',
    idAttribute: 'entryUUID',
    usernameAttribute: 'uid',
    mailAttribute: 'mail',
    nameAttribute: 'cn',
    membership: 'member',
    // ppolicy sets pwdAccountLockedTime on a locked account (000001010000Z: locked for good).
    disabled: { attribute: 'pwdAccountLockedTime', when: 'present' },
    changes: 'csn',
    inChain: false,
    dnAttribute: 'entryDN',
    multiValued: ['objectClass', 'memberOf', 'telephoneNumber'],
  },
};

export interface LdapSettings extends Preset {
  preset: LdapConfig['preset'];
  users: { baseDn: string; filter: string; scope: 'sub' | 'one' };
  groups: { baseDn: string; filter: string; scope: 'sub' | 'one' };
  nestedGroups: boolean;
  binaryAttributes: string[];
  pageSize: number;
}

const and = (...filters: Array<string | undefined>): string => {
  const parts = filters.filter((f): f is string => !!f).map((f) => (f.startsWith('(') ? f : `(${f})`));
  return parts.length === 1 ? parts[0]! : `(&${parts.join('')})`;
};

export function settingsFor(cfg: LdapConfig): LdapSettings {
  const p = PRESETS[cfg.preset];
  return {
    ...p,
    preset: cfg.preset,
    idAttribute: cfg.idAttribute ?? p.idAttribute,
    usernameAttribute: cfg.usernameAttribute ?? p.usernameAttribute,
    mailAttribute: cfg.mailAttribute ?? p.mailAttribute,
    nameAttribute: cfg.nameAttribute ?? p.nameAttribute,
    membership: cfg.membership ?? p.membership,
    disabled: cfg.disabled ?? p.disabled,
    multiValued: [...p.multiValued, ...cfg.multiValued],
    users: { baseDn: cfg.users.baseDn, scope: cfg.users.scope, filter: and(cfg.users.objectFilter ?? p.userObjectFilter, cfg.users.filter) },
    groups: {
      baseDn: cfg.groups?.baseDn ?? cfg.users.baseDn,
      scope: cfg.groups?.scope ?? 'sub',
      filter: and(cfg.groups?.objectFilter ?? p.groupObjectFilter, cfg.groups?.filter),
    },
    nestedGroups: cfg.nestedGroups,
    binaryAttributes: cfg.binaryAttributes,
    pageSize: cfg.pageSize,
  };
}

/** `(&a b)` without repeating a lone part. */
export const andFilter = and;
