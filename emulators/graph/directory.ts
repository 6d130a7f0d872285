// The emulator's directory: the org plus the indexes Graph queries need (by id, by UPN,
// reverse membership) and a cache of filtered user lists, so paging 100,000 users costs
// one slice per page instead of a scan. Any mutation clears the cache.
import type { Org, OrgDirectoryRole, OrgGroup, OrgUser } from '../org/types.ts';
import { evaluate, type FilterNode } from './odata.ts';

export type DirectoryObject =
  | { type: 'user'; obj: OrgUser }
  | { type: 'group'; obj: OrgGroup }
  | { type: 'directoryRole'; obj: OrgDirectoryRole };

/** Properties of microsoft.graph.user the emulator knows, besides directory extensions. */
export const USER_PROPERTIES = new Set([
  'id', 'userPrincipalName', 'mail', 'mailNickname', 'displayName', 'givenName', 'surname', 'jobTitle', 'department',
  'companyName', 'officeLocation', 'streetAddress', 'city', 'state', 'postalCode', 'country', 'usageLocation',
  'businessPhones', 'mobilePhone', 'faxNumber', 'preferredLanguage', 'employeeId', 'employeeType', 'employeeHireDate',
  'employeeOrgData', 'accountEnabled', 'userType', 'creationType', 'externalUserState', 'createdDateTime', 'otherMails',
  'proxyAddresses', 'onPremisesSyncEnabled', 'onPremisesSamAccountName', 'onPremisesImmutableId',
  'onPremisesExtensionAttributes', 'customSecurityAttributes', 'deletedDateTime', 'ageGroup', 'showInAddressList',
  'imAddresses', 'legalAgeGroupClassification', 'passwordPolicies', 'securityIdentifier', 'onPremisesDistinguishedName',
  'onPremisesDomainName', 'onPremisesUserPrincipalName', 'onPremisesLastSyncDateTime', 'signInSessionsValidFromDateTime',
  'lastPasswordChangeDateTime', 'identities', 'assignedLicenses', 'externalUserStateChangeDateTime', 'consentProvidedForMinor',
]);

/** Properties Graph serves only on a single-user GET; asking for them on a list gives 501. */
export const SINGLE_USER_ONLY = new Set([
  'aboutMe', 'birthday', 'hireDate', 'interests', 'mySite', 'pastProjects', 'preferredName', 'responsibilities', 'schools', 'skills', 'mailboxSettings',
]);

/** What Graph returns for a user when there is no $select. */
export const DEFAULT_USER_SELECT = [
  'businessPhones', 'displayName', 'givenName', 'jobTitle', 'mail', 'mobilePhone', 'officeLocation', 'preferredLanguage', 'surname', 'userPrincipalName', 'id',
];

export const GROUP_PROPERTIES = new Set([
  'id', 'displayName', 'description', 'mail', 'mailNickname', 'mailEnabled', 'securityEnabled', 'groupTypes', 'createdDateTime',
  'deletedDateTime', 'classification', 'visibility', 'onPremisesSyncEnabled', 'securityIdentifier', 'membershipRule', 'proxyAddresses',
]);

const MAX_CACHED_QUERIES = 64;

export class Directory {
  org!: Org;
  private usersById = new Map<string, OrgUser>();
  private usersByUpn = new Map<string, OrgUser>();
  private groupsById = new Map<string, OrgGroup>();
  private rolesById = new Map<string, OrgDirectoryRole>();
  /** Direct parents (group and role ids) of any object id. */
  private parents = new Map<string, string[]>();
  private listCache = new Map<string, OrgUser[]>();
  private extensionNames = new Set<string>();
  /** Bumped on every mutation; part of skiptokens so a stale token is detected. */
  version = 0;

  constructor(org: Org) {
    this.replace(org);
  }

  replace(org: Org): void {
    this.org = org;
    this.usersById = new Map(org.users.map((u) => [u.id, u]));
    this.usersByUpn = new Map(org.users.map((u) => [u.userPrincipalName.toLowerCase(), u]));
    this.groupsById = new Map(org.groups.map((g) => [g.id, g]));
    this.rolesById = new Map(org.roles.map((r) => [r.id, r]));
    this.extensionNames = new Set(org.extensionProperties.map((p) => p.name));
    this.parents = new Map();
    for (const container of [...org.groups, ...org.roles]) {
      for (const m of container.members) {
        let list = this.parents.get(m);
        if (!list) this.parents.set(m, (list = []));
        list.push(container.id);
      }
    }
    this.changed();
  }

  private changed(): void {
    this.listCache.clear();
    this.version++;
  }

  isUserProperty(name: string): boolean {
    return USER_PROPERTIES.has(name) || this.extensionNames.has(name) || /^extension_[0-9a-f]{32}_\w+$/.test(name);
  }

  /** By object id or user principal name (case-insensitive), as /users/{id | userPrincipalName}. */
  findUser(ref: string): OrgUser | undefined {
    return this.usersById.get(ref.toLowerCase()) ?? this.usersById.get(ref) ?? this.usersByUpn.get(ref.toLowerCase());
  }

  userById(id: string): OrgUser | undefined {
    return this.usersById.get(id);
  }

  group(id: string): OrgGroup | undefined {
    return this.groupsById.get(id);
  }

  object(id: string): DirectoryObject | undefined {
    const u = this.usersById.get(id);
    if (u) return { type: 'user', obj: u };
    const g = this.groupsById.get(id);
    if (g) return { type: 'group', obj: g };
    const r = this.rolesById.get(id);
    if (r) return { type: 'directoryRole', obj: r };
    return undefined;
  }

  /**
   * Users matching a filter, in directory order. The unfiltered list is the org array itself;
   * filtered lists are computed once per distinct query and reused by every later page.
   */
  listUsers(key: string, filter: FilterNode | undefined, orderBy?: { property: string; desc: boolean }): OrgUser[] {
    if (!filter && !orderBy) return this.org.users;
    const cached = this.listCache.get(key);
    if (cached) return cached;
    let list = filter ? this.org.users.filter((u) => evaluate(filter, u as unknown as Record<string, unknown>)) : [...this.org.users];
    if (orderBy) {
      const p = orderBy.property as keyof OrgUser;
      const dir = orderBy.desc ? -1 : 1;
      list = list.sort((a, b) => dir * String(a[p] ?? '').localeCompare(String(b[p] ?? '')));
    }
    if (this.listCache.size >= MAX_CACHED_QUERIES) this.listCache.delete(this.listCache.keys().next().value!);
    this.listCache.set(key, list);
    return list;
  }

  listGroups(key: string, filter: FilterNode | undefined): OrgGroup[] {
    if (!filter) return this.org.groups;
    return this.org.groups.filter((g) => evaluate(filter, g as unknown as Record<string, unknown>));
  }

  /** Groups and roles the object belongs to, directly or (transitive) through nesting. */
  memberOf(id: string, transitive: boolean): DirectoryObject[] {
    const seen = new Set<string>();
    const out: DirectoryObject[] = [];
    const visit = (child: string) => {
      for (const parent of this.parents.get(child) ?? []) {
        if (seen.has(parent)) continue;
        seen.add(parent);
        const obj = this.object(parent);
        if (obj) out.push(obj);
        if (transitive) visit(parent);
      }
    };
    visit(id);
    return out;
  }

  /** Members of a group, directly or (transitive) flattened through nested groups. */
  members(groupId: string, transitive: boolean): DirectoryObject[] {
    const seen = new Set<string>();
    const out: DirectoryObject[] = [];
    const visit = (gid: string) => {
      for (const m of this.groupsById.get(gid)?.members ?? []) {
        if (seen.has(m)) continue;
        seen.add(m);
        const obj = this.object(m);
        if (!obj) continue;
        out.push(obj);
        if (transitive && obj.type === 'group') visit(m);
      }
    };
    visit(groupId);
    return out;
  }

  // ------------------------------------------------------------ control-API mutations

  updateUser(id: string, patch: Record<string, unknown>): OrgUser | undefined {
    const user = this.findUser(id);
    if (!user) return undefined;
    const oldUpn = user.userPrincipalName.toLowerCase();
    for (const [k, v] of Object.entries(patch)) {
      if (k === 'id') continue;
      if (k === 'onPremisesExtensionAttributes' && v && typeof v === 'object') Object.assign(user.onPremisesExtensionAttributes, v);
      else (user as unknown as Record<string, unknown>)[k] = v;
    }
    if (user.userPrincipalName.toLowerCase() !== oldUpn) {
      this.usersByUpn.delete(oldUpn);
      this.usersByUpn.set(user.userPrincipalName.toLowerCase(), user);
    }
    this.changed();
    return user;
  }

  addUser(user: OrgUser): void {
    this.org.users.push(user);
    this.usersById.set(user.id, user);
    this.usersByUpn.set(user.userPrincipalName.toLowerCase(), user);
    this.changed();
  }

  deleteUser(id: string): boolean {
    const user = this.findUser(id);
    if (!user) return false;
    this.org.users.splice(this.org.users.indexOf(user), 1);
    this.usersById.delete(user.id);
    this.usersByUpn.delete(user.userPrincipalName.toLowerCase());
    for (const container of [...this.org.groups, ...this.org.roles]) {
      const i = container.members.indexOf(user.id);
      if (i >= 0) container.members.splice(i, 1);
    }
    this.parents.delete(user.id);
    for (const u of this.org.users) if (u.managerId === user.id) u.managerId = null;
    this.changed();
    return true;
  }

  stats() {
    return { users: this.org.users.length, groups: this.org.groups.length, roles: this.org.roles.length, cachedQueries: this.listCache.size, version: this.version };
  }
}
