// The sample organisation (emulators/org) as an Okta org holds it: users with Okta ids
// (`00u…`), a status instead of accountEnabled, a flat `profile` of Okta's base attributes
// plus custom ones (the org's directory extensions, office, e-mail aliases), managers as
// `profile.managerId` / `profile.manager`, groups of users only (Okta has no nested groups)
// and the built-in Everyone group. Every change moves `lastUpdated` on an emulated clock.
import { createHash } from 'node:crypto';
import type { Org, OrgUser } from '../org/types.ts';

export type OktaStatus = 'ACTIVE' | 'SUSPENDED' | 'DEPROVISIONED' | 'STAGED' | 'PROVISIONED' | 'LOCKED_OUT' | 'PASSWORD_EXPIRED' | 'RECOVERY';
export const STATUSES: readonly OktaStatus[] = ['ACTIVE', 'SUSPENDED', 'DEPROVISIONED', 'STAGED', 'PROVISIONED', 'LOCKED_OUT', 'PASSWORD_EXPIRED', 'RECOVERY'];

export interface OktaUser {
  id: string;
  status: OktaStatus;
  created: string;
  activated: string | null;
  statusChanged: string | null;
  lastLogin: string | null;
  lastUpdated: string;
  passwordChanged: string | null;
  type: { id: string };
  profile: Record<string, unknown>;
}

export interface OktaGroup {
  id: string;
  created: string;
  lastUpdated: string;
  lastMembershipUpdated: string;
  objectClass: string[];
  type: 'OKTA_GROUP' | 'APP_GROUP' | 'BUILT_IN';
  profile: { name: string; description: string | null };
  members: string[];
}

/** A custom attribute of the user schema (definitions.custom.properties). */
export interface CustomAttribute {
  name: string;
  title: string;
  type: 'string' | 'integer' | 'boolean' | 'array' | 'number';
  items?: { type: 'string' };
}

/** Okta ids are 20 characters: a 3-character prefix (00u users, 00g groups) and 17 more. */
export function oktaId(prefix: '00u' | '00g', sourceId: string): string {
  const h = createHash('sha256').update(sourceId).digest('base64').replace(/[^A-Za-z0-9]/g, '');
  return `${prefix}${h.slice(0, 17)}`;
}

const USER_TYPE = 'oty1defaultusertype0';
const BASE_TIME = Date.parse('2024-01-01T00:00:00.000Z');

export class OktaDirectory {
  users = new Map<string, OktaUser>();
  groups = new Map<string, OktaGroup>();
  custom: CustomAttribute[] = [];
  /** Emulated clock (ms): every write moves lastUpdated to `now()`. */
  private clock = 0;
  org!: Org;

  constructor(org: Org) {
    this.replace(org);
  }

  now(): string {
    // Strictly increasing unless `sameInstant` holds it, so tests can make ties on purpose.
    if (!this.frozen) this.clock = Math.max(this.clock + 1, Date.now());
    return new Date(this.clock).toISOString();
  }
  /** While set, every write gets the same lastUpdated (ties that a checkpoint must handle). */
  frozen = false;

  replace(org: Org): void {
    this.org = org;
    this.users.clear();
    this.groups.clear();
    const prefixes = new Map(org.extensionProperties.map((p) => [p.name, p.name.replace(/^extension_[0-9a-f]+_/i, '')]));
    this.custom = [
      ...org.extensionProperties.map((p): CustomAttribute => ({ name: prefixes.get(p.name)!, title: p.name.replace(/^extension_[0-9a-f]+_/i, ''), type: p.dataType === 'Integer' ? 'integer' : p.dataType === 'Boolean' ? 'boolean' : 'string' })),
      { name: 'officeLocation', title: 'Office', type: 'string' },
      { name: 'emailAliases', title: 'E-mail aliases', type: 'array', items: { type: 'string' } },
    ];
    const idOf = new Map(org.users.map((u) => [u.id, oktaId('00u', u.id)]));
    const byId = new Map(org.users.map((u) => [u.id, u]));
    const stamp = new Date(BASE_TIME).toISOString();
    org.users.forEach((u, i) => {
      const id = idOf.get(u.id)!;
      const manager = u.managerId ? byId.get(u.managerId) : undefined;
      const profile: Record<string, unknown> = {
        login: u.userPrincipalName,
        email: u.mail ?? u.userPrincipalName,
        secondEmail: u.otherMails[0] ?? null,
        firstName: u.givenName,
        lastName: u.surname,
        displayName: u.displayName,
        nickName: u.mailNickname,
        title: u.jobTitle,
        department: u.department,
        organization: u.companyName,
        division: u.employeeOrgData?.division ?? null,
        costCenter: u.employeeOrgData?.costCenter ?? null,
        employeeNumber: u.employeeId,
        userType: u.userType === 'Guest' ? 'Guest' : (u.employeeType ?? 'Employee'),
        streetAddress: u.streetAddress,
        city: u.city,
        state: u.state,
        zipCode: u.postalCode,
        countryCode: u.usageLocation,
        preferredLanguage: u.preferredLanguage,
        mobilePhone: u.mobilePhone,
        primaryPhone: u.businessPhones[0] ?? null,
        managerId: manager ? idOf.get(manager.id)! : null,
        manager: manager ? manager.displayName : null,
        officeLocation: u.officeLocation,
        emailAliases: u.proxyAddresses.map((a) => a.replace(/^smtp:/i, '')),
      };
      for (const [ext, name] of prefixes) {
        const v = (u as unknown as Record<string, unknown>)[ext];
        profile[name] = v ?? null;
      }
      this.users.set(id, {
        id,
        status: statusOf(u, i),
        created: new Date(u.createdDateTime).toISOString(),
        activated: u.createdDateTime,
        statusChanged: u.accountEnabled ? null : stamp,
        lastLogin: null,
        lastUpdated: stamp,
        passwordChanged: u.createdDateTime,
        type: { id: USER_TYPE },
        profile,
      });
    });
    const userIds = new Set(idOf.keys());
    for (const g of org.groups) {
      const id = oktaId('00g', g.id);
      this.groups.set(id, {
        id,
        created: g.createdDateTime,
        lastUpdated: stamp,
        lastMembershipUpdated: stamp,
        objectClass: ['okta:user_group'],
        type: 'OKTA_GROUP',
        profile: { name: g.displayName, description: g.description },
        // Okta groups hold users only: nested group members of the sample are left out.
        members: g.members.filter((m) => userIds.has(m)).map((m) => idOf.get(m)!),
      });
    }
    const everyone = oktaId('00g', 'everyone');
    this.groups.set(everyone, {
      id: everyone,
      created: stamp,
      lastUpdated: stamp,
      lastMembershipUpdated: stamp,
      objectClass: ['okta:user_group'],
      type: 'BUILT_IN',
      profile: { name: 'Everyone', description: 'All users in your organization' },
      members: [...this.users.keys()],
    });
    this.clock = BASE_TIME;
  }

  /** Ids in the order Okta lists them (by id). */
  sortedUsers(): OktaUser[] {
    return [...this.users.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  sortedGroups(): OktaGroup[] {
    return [...this.groups.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** By id or login (case-insensitive), as GET /api/v1/users/{id|login} looks users up. */
  find(ref: string): OktaUser | undefined {
    const direct = this.users.get(ref);
    if (direct) return direct;
    const wanted = ref.toLowerCase();
    for (const u of this.users.values()) if (String(u.profile.login).toLowerCase() === wanted) return u;
    return undefined;
  }

  /** Okta ids of the sample's user ids (tests map their expectations through this). */
  idOf(sourceId: string): string {
    return oktaId('00u', sourceId);
  }

  updateProfile(id: string, changes: Record<string, unknown>): OktaUser | undefined {
    const u = this.users.get(id);
    if (!u) return undefined;
    Object.assign(u.profile, changes);
    u.lastUpdated = this.now();
    return u;
  }

  setStatus(id: string, status: OktaStatus): OktaUser | undefined {
    const u = this.users.get(id);
    if (!u) return undefined;
    u.status = status;
    u.statusChanged = u.lastUpdated = this.now();
    return u;
  }

  setManager(id: string, managerId: string | null): boolean {
    const u = this.users.get(id);
    const m = managerId ? this.users.get(managerId) : undefined;
    if (!u || (managerId && !m)) return false;
    this.updateProfile(id, { managerId: m?.id ?? null, manager: m ? m.profile.displayName : null });
    return true;
  }

  /** Okta deletes only deactivated users: a first DELETE deactivates, the second deletes. */
  delete(id: string): 'deactivated' | 'deleted' | undefined {
    const u = this.users.get(id);
    if (!u) return undefined;
    if (u.status !== 'DEPROVISIONED') {
      this.setStatus(id, 'DEPROVISIONED');
      return 'deactivated';
    }
    this.users.delete(id);
    for (const g of this.groups.values()) this.removeMember(g.id, id);
    return 'deleted';
  }

  // Membership changes move the group's lastMembershipUpdated, not the user's lastUpdated (as in Okta).
  addMember(groupId: string, userId: string): boolean {
    const g = this.groups.get(groupId);
    if (!g || !this.users.has(userId)) return false;
    if (!g.members.includes(userId)) g.members.push(userId);
    g.lastMembershipUpdated = this.now();
    return true;
  }

  removeMember(groupId: string, userId: string): boolean {
    const g = this.groups.get(groupId);
    if (!g) return false;
    const i = g.members.indexOf(userId);
    if (i >= 0) g.members.splice(i, 1);
    g.lastMembershipUpdated = this.now();
    return true;
  }

  /** A profile change (e.g. a rename) moves the group's lastUpdated; its members stay. */
  updateGroupProfile(groupId: string, changes: Partial<OktaGroup['profile']>): OktaGroup | undefined {
    const g = this.groups.get(groupId);
    if (!g) return undefined;
    Object.assign(g.profile, changes);
    g.lastUpdated = this.now();
    return g;
  }

  /** Deletes a group (as DELETE /api/v1/groups/{id}; built-in groups cannot be). */
  deleteGroup(groupId: string): boolean {
    const g = this.groups.get(groupId);
    if (!g || g.type === 'BUILT_IN') return false;
    return this.groups.delete(groupId);
  }

  groupsOf(userId: string): OktaGroup[] {
    return this.sortedGroups().filter((g) => g.members.includes(userId));
  }

  stats(): { users: number; groups: number } {
    return { users: this.users.size, groups: this.groups.size };
  }
}

/**
 * Enabled users are ACTIVE, with a few in the other signed-in states Okta has (a password
 * expired, locked out, in recovery); disabled ones are SUSPENDED. Nobody starts DEPROVISIONED:
 * deactivation is what the tests do to users (DELETE, or the control API).
 */
function statusOf(u: OrgUser, i: number): OktaStatus {
  if (!u.accountEnabled) return 'SUSPENDED';
  if (i % 17 === 5) return 'PASSWORD_EXPIRED';
  if (i % 23 === 7) return 'LOCKED_OUT';
  if (i % 29 === 11) return 'RECOVERY';
  return 'ACTIVE';
}
