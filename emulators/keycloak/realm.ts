// The sample organisation (emulators/org) as a Keycloak realm holds it: users with the
// sample's UUIDs, lower-case usernames, `enabled`, multi-valued `attributes` (department,
// jobTitle, phones, the manager's username), a `federationLink` for users synced from an
// on-premises directory, and groups as a tree: a sample group nested in another becomes its
// sub-group (Keycloak groups have one parent), with a `path` such as /guilds/frontend.
import type { Org } from '../org/types.ts';

export interface KcUser {
  id: string;
  createdTimestamp: number;
  username: string;
  enabled: boolean;
  emailVerified: boolean;
  firstName?: string;
  lastName?: string;
  email?: string;
  federationLink?: string;
  attributes: Record<string, string[]>;
}

export interface KcGroup {
  id: string;
  name: string;
  parentId: string | null;
  attributes: Record<string, string[]>;
  /** Direct user members. */
  members: string[];
}

/** The id of the LDAP user-storage provider federated users link to. */
export const LDAP_PROVIDER_ID = '5c0a7d2e-ldap-4f9b-9a1e-federation01';

export class Realm {
  users = new Map<string, KcUser>();
  groups = new Map<string, KcGroup>();
  org!: Org;

  constructor(org: Org) {
    this.replace(org);
  }

  replace(org: Org): void {
    this.org = org;
    this.users.clear();
    this.groups.clear();
    const byId = new Map(org.users.map((u) => [u.id, u]));
    const username = (upn: string) => upn.toLowerCase();
    for (const u of org.users) {
      const manager = u.managerId ? byId.get(u.managerId) : undefined;
      const attributes: Record<string, string[]> = {};
      const put = (k: string, v: string | null | undefined | string[]) => {
        const vs = (Array.isArray(v) ? v : [v]).filter((x): x is string => typeof x === 'string' && x !== '');
        if (vs.length) attributes[k] = vs;
      };
      put('department', u.department);
      put('jobTitle', u.jobTitle);
      put('employeeId', u.employeeId);
      put('officeLocation', u.officeLocation);
      put('phone', u.businessPhones);
      put('mobile', u.mobilePhone);
      put('emailAliases', u.proxyAddresses.map((a) => a.replace(/^smtp:/i, '')));
      put('manager', manager ? username(manager.userPrincipalName) : null);
      this.users.set(u.id, {
        id: u.id,
        createdTimestamp: Date.parse(u.createdDateTime),
        username: username(u.userPrincipalName),
        enabled: u.accountEnabled,
        emailVerified: !!u.mail,
        ...(u.givenName ? { firstName: u.givenName } : {}),
        ...(u.surname ? { lastName: u.surname } : {}),
        ...(u.mail ? { email: u.mail.toLowerCase() } : {}),
        ...(u.onPremisesSyncEnabled ? { federationLink: LDAP_PROVIDER_ID } : {}),
        attributes,
      });
    }
    const groupIds = new Set(org.groups.map((g) => g.id));
    const parentOf = new Map<string, string>();
    // The first group listing a group becomes its parent, unless that would close a cycle.
    const isAncestor = (candidate: string, of: string): boolean => {
      for (let p: string | undefined = of; p; p = parentOf.get(p)) if (p === candidate) return true;
      return false;
    };
    for (const g of org.groups) {
      for (const m of g.members) if (groupIds.has(m) && !parentOf.has(m) && !isAncestor(m, g.id)) parentOf.set(m, g.id);
    }
    for (const g of org.groups) {
      this.groups.set(g.id, { id: g.id, name: g.displayName, parentId: parentOf.get(g.id) ?? null, attributes: {}, members: g.members.filter((m) => this.users.has(m)) });
    }
  }

  path(g: KcGroup): string {
    const names = [g.name];
    let p = g.parentId ? this.groups.get(g.parentId) : undefined;
    while (p) {
      names.unshift(p.name);
      p = p.parentId ? this.groups.get(p.parentId) : undefined;
    }
    return `/${names.join('/')}`;
  }

  /** Users in Keycloak's listing order (by username). */
  sortedUsers(): KcUser[] {
    return [...this.users.values()].sort((a, b) => (a.username < b.username ? -1 : a.username > b.username ? 1 : 0));
  }

  children(parentId: string | null): KcGroup[] {
    return [...this.groups.values()].filter((g) => g.parentId === parentId).sort((a, b) => a.name.localeCompare(b.name));
  }

  groupsOf(userId: string): KcGroup[] {
    return [...this.groups.values()].filter((g) => g.members.includes(userId)).sort((a, b) => this.path(a).localeCompare(this.path(b)));
  }

  stats(): { users: number; groups: number } {
    return { users: this.users.size, groups: this.groups.size };
  }
}
