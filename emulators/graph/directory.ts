// The emulator's directory: the org plus the indexes Graph queries need (by id, by UPN,
// reverse membership) and a cache of filtered user lists, so paging 100,000 users costs
// one slice per page instead of a scan. Any mutation clears the cache.
import type { Org, OrgDirectoryRole, OrgGroup, OrgUser } from '../org/types.ts';
import { evaluate, type FilterNode } from './odata.ts';
import { ChangeLog } from './change-log.ts';

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

/** Group properties the control API's PATCH sets (Graph's writable ones of GROUP_PROPERTIES). */
export const GROUP_UPDATABLE = new Set(['displayName', 'description', 'mail', 'mailNickname', 'mailEnabled', 'securityEnabled', 'classification', 'visibility', 'membershipRule']);

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
  /** What changed, in order: the memory delta queries read (see delta.ts). A new org starts a new log. */
  log = new ChangeLog();
  /** Soft-deleted users (Entra's deleted items), restorable, with the groups they were in. */
  private deletedUsers = new Map<string, { user: OrgUser; groups: string[] }>();

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
    this.deletedUsers = new Map();
    this.log = new ChangeLog();
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
    const record = user as unknown as Record<string, unknown>;
    const changed = Object.keys(patch).filter((k) => k !== 'id' && k !== 'managerId' && JSON.stringify(record[k]) !== JSON.stringify(patch[k]));
    if ('managerId' in patch) this.setManager(user.id, (patch.managerId as string | null) ?? null);
    for (const [k, v] of Object.entries(patch)) {
      if (k === 'id' || k === 'managerId') continue;
      if (k === 'onPremisesExtensionAttributes' && v && typeof v === 'object') Object.assign(user.onPremisesExtensionAttributes, v);
      else (user as unknown as Record<string, unknown>)[k] = v;
    }
    if (user.userPrincipalName.toLowerCase() !== oldUpn) {
      this.usersByUpn.delete(oldUpn);
      this.usersByUpn.set(user.userPrincipalName.toLowerCase(), user);
    }
    if (changed.length) this.log.add({ kind: 'user', id: user.id, op: 'changed', props: changed });
    this.changed();
    return user;
  }

  addUser(user: OrgUser): void {
    this.org.users.push(user);
    this.usersById.set(user.id, user);
    this.usersByUpn.set(user.userPrincipalName.toLowerCase(), user);
    this.log.add({ kind: 'user', id: user.id, op: 'created' });
    this.changed();
  }

  /** Sets (or, with null, removes) a user's manager; false when either user does not exist. */
  setManager(id: string, managerId: string | null): boolean {
    const user = this.findUser(id);
    const manager = managerId === null ? null : this.findUser(managerId);
    if (!user || manager === undefined) return false;
    const previous = user.managerId;
    if (previous === (manager?.id ?? null)) return true;
    user.managerId = manager?.id ?? null;
    this.log.add({ kind: 'user', id: user.id, op: 'manager', previous });
    this.changed();
    return true;
  }

  /**
   * Deletes a user as Graph's DELETE /users/{id} does: into deleted items, out of every listing
   * and group, restorable with its memberships. Its reports keep their manager reference.
   */
  softDeleteUser(id: string): boolean {
    const user = this.findUser(id);
    if (!user) return false;
    const groups = this.detach(user);
    this.deletedUsers.set(user.id, { user, groups });
    this.log.add({ kind: 'user', id: user.id, op: 'softDeleted' });
    this.changed();
    return true;
  }

  /** Restores a soft-deleted user with the groups it was in; false when it is not in deleted items. */
  restoreUser(id: string): boolean {
    const deleted = this.deletedUsers.get(id);
    if (!deleted) return false;
    this.deletedUsers.delete(id);
    this.org.users.push(deleted.user);
    this.usersById.set(id, deleted.user);
    this.usersByUpn.set(deleted.user.userPrincipalName.toLowerCase(), deleted.user);
    this.log.add({ kind: 'user', id, op: 'restored' });
    for (const gid of deleted.groups) this.addMember(gid, id);
    this.changed();
    return true;
  }

  /** Deletes a user permanently (live or from deleted items); its reports lose their manager. */
  deleteUser(id: string): boolean {
    const user = this.findUser(id) ?? this.deletedUsers.get(id)?.user;
    if (!user) return false;
    if (this.deletedUsers.delete(user.id)) {
      // already out of the listings and groups
    } else this.detach(user);
    for (const u of this.org.users) if (u.managerId === user.id) this.setManager(u.id, null);
    this.log.add({ kind: 'user', id: user.id, op: 'hardDeleted' });
    this.changed();
    return true;
  }

  /** Takes a live user out of the indexes and every group; returns the group ids it was in. */
  private detach(user: OrgUser): string[] {
    this.org.users.splice(this.org.users.indexOf(user), 1);
    this.usersById.delete(user.id);
    this.usersByUpn.delete(user.userPrincipalName.toLowerCase());
    const groups: string[] = [];
    for (const g of this.org.groups) if (g.members.includes(user.id)) groups.push(g.id);
    for (const gid of groups) this.removeMember(gid, user.id);
    for (const r of this.org.roles) {
      const i = r.members.indexOf(user.id);
      if (i >= 0) r.members.splice(i, 1);
    }
    this.parents.delete(user.id);
    return groups;
  }

  /** Adds a direct member (user or group) to a group; false when the group or the member does not exist. */
  addMember(groupId: string, memberId: string): boolean {
    const group = this.groupsById.get(groupId);
    if (!group || !this.object(memberId) || memberId === groupId) return false;
    if (group.members.includes(memberId)) return true;
    group.members.push(memberId);
    const list = this.parents.get(memberId) ?? [];
    list.push(groupId);
    this.parents.set(memberId, list);
    this.log.add({ kind: 'group', id: groupId, op: 'memberAdded', member: memberId });
    this.changed();
    return true;
  }

  /** Removes a direct member from a group; false when the group does not exist. */
  removeMember(groupId: string, memberId: string): boolean {
    const group = this.groupsById.get(groupId);
    if (!group) return false;
    const i = group.members.indexOf(memberId);
    if (i < 0) return true;
    group.members.splice(i, 1);
    const list = this.parents.get(memberId);
    if (list) list.splice(list.indexOf(groupId), 1);
    this.log.add({ kind: 'group', id: groupId, op: 'memberRemoved', member: memberId });
    this.changed();
    return true;
  }

  /**
   * Changes a group's properties (e.g. a rename: `displayName`), logging a change of each
   * property whose value changes, as a user's PATCH does: delta rounds that track one of them
   * report the group (Graph's groups delta returns the changed group object).
   */
  updateGroup(groupId: string, patch: Record<string, unknown>): OrgGroup | undefined {
    // The control API checks the names (GROUP_UPDATABLE): here every key is a property to set.
    const group = this.groupsById.get(groupId);
    if (!group) return undefined;
    const record = group as unknown as Record<string, unknown>;
    const changed = Object.keys(patch).filter((k) => JSON.stringify(record[k]) !== JSON.stringify(patch[k]));
    for (const k of changed) record[k] = patch[k];
    if (changed.length) this.log.add({ kind: 'group', id: groupId, op: 'changed', props: changed });
    this.changed();
    return group;
  }

  /** Deletes a group (members keep existing, their memberships of it end). */
  deleteGroup(groupId: string): boolean {
    const group = this.groupsById.get(groupId);
    if (!group) return false;
    for (const m of [...group.members]) this.removeMember(groupId, m);
    this.org.groups.splice(this.org.groups.indexOf(group), 1);
    this.groupsById.delete(groupId);
    this.parents.delete(groupId);
    for (const list of this.parents.values()) {
      const i = list.indexOf(groupId);
      if (i >= 0) list.splice(i, 1);
    }
    this.log.add({ kind: 'group', id: groupId, op: 'deleted' });
    this.changed();
    return true;
  }

  /** Whether a user is in deleted items (soft-deleted). */
  isSoftDeleted(id: string): boolean {
    return this.deletedUsers.has(id);
  }

  /** Users sorted by id, the stable order a delta's initial round pages through (a deletion never shifts a page). */
  usersInDeltaOrder(): OrgUser[] {
    const key = '\u0000delta-order';
    const cached = this.listCache.get(key);
    if (cached) return cached;
    const list = [...this.org.users].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    this.listCache.set(key, list);
    return list;
  }

  stats() {
    return { users: this.org.users.length, groups: this.org.groups.length, roles: this.org.roles.length, cachedQueries: this.listCache.size, version: this.version };
  }
}
