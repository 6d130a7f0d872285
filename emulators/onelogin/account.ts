// A OneLogin account built from the seeded sample organisation: users with numeric ids,
// `status`/`state` codes, `custom_attributes` (shortnames), `manager_user_id`, `role_ids`
// and one `group_id` each. The sample's groups become OneLogin roles (a user holds many);
// OneLogin groups hold a user each at most, so they are made from the departments.
import type { Org, OrgUser } from '../org/types.ts';

export interface OlUser {
  id: number;
  username: string;
  email: string;
  firstname: string;
  lastname: string;
  title: string | null;
  department: string | null;
  company: string | null;
  phone: string | null;
  status: number;
  state: number;
  manager_user_id: number | null;
  role_ids: number[];
  group_id: number | null;
  custom_attributes: Record<string, string | null>;
  created_at: string;
  updated_at: string;
  /** Where the sample user came from (tests). */
  sampleId: string;
}

export interface OlNamed {
  id: number;
  name: string;
}

/** OneLogin ids are integers; the sample's are stable strings: numbered in the sample's order. */
const USER_BASE = 100_000;
const ROLE_BASE = 200_000;
const GROUP_BASE = 300_000;

export class Account {
  users = new Map<number, OlUser>();
  roles = new Map<number, OlNamed>();
  groups = new Map<number, OlNamed>();
  private clock = Date.parse('2026-01-01T00:00:00.000Z');
  org!: Org;

  constructor(org: Org) {
    this.replace(org);
  }

  /** The OneLogin id of a sample user. */
  static userId(org: Org, sampleId: string): number {
    return USER_BASE + org.users.findIndex((u) => u.id === sampleId);
  }

  /** The OneLogin role id of a sample group. */
  static roleId(org: Org, sampleGroupId: string): number {
    return ROLE_BASE + org.groups.findIndex((g) => g.id === sampleGroupId);
  }

  replace(org: Org): void {
    this.org = org;
    this.users.clear();
    this.roles.clear();
    this.groups.clear();
    const idOf = new Map(org.users.map((u, i) => [u.id, USER_BASE + i]));
    org.groups.forEach((g, i) => this.roles.set(ROLE_BASE + i, { id: ROLE_BASE + i, name: g.displayName }));
    const departments = [...new Set(org.users.map((u) => u.department).filter((d): d is string => !!d))].sort();
    departments.forEach((d, i) => this.groups.set(GROUP_BASE + i, { id: GROUP_BASE + i, name: d }));
    const groupOf = new Map(departments.map((d, i) => [d, GROUP_BASE + i]));
    org.users.forEach((u, i) => {
      const roleIds = org.groups.flatMap((g, gi) => (g.members.includes(u.id) ? [ROLE_BASE + gi] : []));
      this.users.set(USER_BASE + i, this.toUser(u, USER_BASE + i, u.managerId ? (idOf.get(u.managerId) ?? null) : null, roleIds, u.department ? (groupOf.get(u.department) ?? null) : null));
    });
  }

  private toUser(u: OrgUser, id: number, manager: number | null, roleIds: number[], groupId: number | null): OlUser {
    const at = new Date(this.clock).toISOString();
    return {
      id,
      // OneLogin usernames are free text; accounts synced from a directory often use the UPN.
      username: u.userPrincipalName,
      email: (u.mail ?? u.userPrincipalName).toLowerCase(),
      firstname: u.givenName ?? '',
      lastname: u.surname ?? '',
      title: u.jobTitle,
      department: u.department,
      company: u.companyName,
      phone: u.mobilePhone ?? u.businessPhones[0] ?? null,
      // 1 Active, 2 Suspended; state 1 Approved.
      status: u.accountEnabled ? 1 : 2,
      state: 1,
      manager_user_id: manager,
      role_ids: roleIds,
      group_id: groupId,
      custom_attributes: { employee_id: u.employeeId, cost_center: u.employeeOrgData?.costCenter ?? null, office: u.officeLocation },
      created_at: u.createdDateTime,
      updated_at: at,
      sampleId: u.id,
    };
  }

  /** Marks a change (updated_at moves on, strictly later than any earlier change). */
  touch(u: OlUser): void {
    this.clock = Math.max(this.clock + 1000, Date.now());
    u.updated_at = new Date(this.clock).toISOString();
  }

  /** The user as `/api/2/users` serialises it (without the internal fields). */
  static json(u: OlUser): Record<string, unknown> {
    const { sampleId: _s, ...rest } = u;
    return structuredClone(rest);
  }
}
