// The sample organisation (emulators/org) as a Google Workspace account holds it: users in the
// Directory API's shape (name, emails, phones, organizations, relations, customSchemas,
// suspended/archived, orgUnitPath) and groups with direct members. Guests of the sample are
// left out: Workspace has no guest accounts (outsiders are not users of the account).
// Ids look like Google's: a user's is a 21-digit number (as a string, beyond a double's
// precision), a group's 15 lower-case letters and digits starting with 0; both derived from the
// sample's GUIDs, so one seed always gives the same ids.
import { createHash } from 'node:crypto';
import type { Org, OrgUser } from '../org/types.ts';

export interface GoogleUser {
  kind: 'admin#directory#user';
  id: string;
  etag: string;
  primaryEmail: string;
  name: { givenName: string; familyName: string; fullName: string };
  isAdmin: boolean;
  isDelegatedAdmin: boolean;
  suspended: boolean;
  archived: boolean;
  orgUnitPath: string;
  customerId: string;
  creationTime: string;
  emails: Array<{ address: string; primary?: boolean; type?: string }>;
  aliases?: string[];
  phones?: Array<{ value: string; type: string; primary?: boolean }>;
  organizations?: Array<{ title?: string; department?: string; costCenter?: string; name?: string; description?: string; primary?: boolean; customType?: string }>;
  relations?: Array<{ type: string; value: string }>;
  externalIds?: Array<{ type: string; value: string }>;
  locations?: Array<{ type: string; area: string; buildingId?: string }>;
  customSchemas?: Record<string, Record<string, unknown>>;
}

export interface GoogleGroup {
  kind: 'admin#directory#group';
  id: string;
  etag: string;
  email: string;
  name: string;
  description: string;
  adminCreated: boolean;
  /** Internal: direct member ids (users or groups). */
  members: string[];
}

/** The custom schema the sample carries (Admin console > Users > Manage custom attributes). */
export const EMPLOYMENT_SCHEMA = {
  schemaName: 'Employment',
  fields: [
    { fieldName: 'employeeType', fieldType: 'STRING', multiValued: false },
    { fieldName: 'division', fieldType: 'STRING', multiValued: false },
    { fieldName: 'badge', fieldType: 'INT64', multiValued: false },
    { fieldName: 'skills', fieldType: 'STRING', multiValued: true },
  ],
} as const;

export const CUSTOMER_ID = 'C03az79cb';

function digest(kind: string, sampleId: string): Buffer {
  return createHash('sha256').update(`${kind}:${sampleId}`).digest();
}

/** A user's id as Google writes them, e.g. 114742930456723483210: 21 digits, the first a 1. */
export function googleUserId(sampleId: string): string {
  const h = digest('user', sampleId);
  let id = '1';
  for (let i = 0; id.length < 21; i++) id += String(h[i]! % 10);
  return id;
}

/** A group's id as Google writes them, e.g. 01qoc8b13vgdlqb: 0, a digit, then 13 of [0-9a-z]. */
export function googleGroupId(sampleId: string): string {
  const h = digest('group', sampleId);
  let id = `0${h[0]! % 10}`;
  for (let i = 1; id.length < 15; i++) id += (h[i]! % 36).toString(36);
  return id;
}

export class GoogleDirectory {
  users: GoogleUser[] = [];
  groups: GoogleGroup[] = [];
  domain = '';
  private byKey = new Map<string, GoogleUser>();

  constructor(org: Org) {
    this.replace(org);
  }

  replace(org: Org): void {
    this.domain = org.domain;
    const members = org.users.filter((u) => u.userType !== 'Guest');
    const emailOf = new Map(members.map((u) => [u.id, u.userPrincipalName.toLowerCase()]));
    // The sample's ids, users and groups, to the ids Google would give them.
    const idOf = new Map<string, string>([...members.map((u) => [u.id, googleUserId(u.id)] as const), ...org.groups.map((g) => [g.id, googleGroupId(g.id)] as const)]);
    if (new Set(idOf.values()).size !== idOf.size) throw new Error('two sample ids map to the same Google id');
    this.users = members.map((u, i) => ({ ...toGoogleUser(u, emailOf, i === 0), id: idOf.get(u.id)! }));
    this.groups = org.groups.map((g) => ({
      kind: 'admin#directory#group',
      id: idOf.get(g.id)!,
      etag: etag(),
      email: `${g.mailNickname.toLowerCase()}@${org.domain}`,
      name: g.displayName,
      description: g.description ?? '',
      adminCreated: true,
      members: g.members.flatMap((m) => (idOf.has(m) ? [idOf.get(m)!] : [])),
    }));
    this.reindex();
  }

  private reindex(): void {
    this.byKey.clear();
    for (const u of this.users) {
      this.byKey.set(u.id, u);
      for (const e of u.emails) this.byKey.set(e.address.toLowerCase(), u);
      for (const a of u.aliases ?? []) this.byKey.set(a.toLowerCase(), u);
    }
  }

  /** users.get's userKey: the id, the primary e-mail or an alias. */
  user(key: string): GoogleUser | undefined {
    return this.byKey.get(key.includes('@') ? key.toLowerCase() : key);
  }

  group(key: string): GoogleGroup | undefined {
    const k = key.toLowerCase();
    return this.groups.find((g) => g.id === key || g.email === k);
  }

  /** Control API: merges top-level fields; `department`/`title`/`costCenter` go to the primary organization, `manager` (an e-mail or null) to relations. */
  update(key: string, patch: Record<string, unknown>): GoogleUser | undefined {
    const u = this.user(key);
    if (!u) return undefined;
    for (const [k, v] of Object.entries(patch)) {
      if (k === 'department' || k === 'title' || k === 'costCenter') {
        u.organizations ??= [{ primary: true, customType: '' }];
        (u.organizations[0] as Record<string, unknown>)[k] = v;
      } else if (k === 'manager') {
        u.relations = (u.relations ?? []).filter((r) => r.type !== 'manager');
        if (typeof v === 'string') u.relations.push({ type: 'manager', value: v });
        if (u.relations.length === 0) delete u.relations;
      } else if (k === 'givenName' || k === 'familyName') {
        u.name[k] = String(v);
        u.name.fullName = `${u.name.givenName} ${u.name.familyName}`;
      } else (u as unknown as Record<string, unknown>)[k] = v;
    }
    u.etag = etag();
    this.reindex();
    return u;
  }

  delete(key: string): boolean {
    const u = this.user(key);
    if (!u) return false;
    this.users = this.users.filter((x) => x !== u);
    for (const g of this.groups) g.members = g.members.filter((m) => m !== u.id);
    this.reindex();
    return true;
  }

  addMember(groupKey: string, memberId: string): boolean {
    const g = this.group(groupKey);
    if (!g || (!this.user(memberId) && !this.group(memberId))) return false;
    if (!g.members.includes(memberId)) g.members.push(memberId);
    return true;
  }

  removeMember(groupKey: string, memberId: string): boolean {
    const g = this.group(groupKey);
    if (!g) return false;
    g.members = g.members.filter((m) => m !== memberId);
    return true;
  }
}

let etagSeq = 0;
function etag(): string {
  return `"emu-${(++etagSeq).toString(36)}"`;
}

function toGoogleUser(u: OrgUser, emailOf: ReadonlyMap<string, string>, first: boolean): GoogleUser {
  const [given, ...rest] = u.displayName.split(' ');
  const givenName = u.givenName ?? given ?? u.displayName;
  const familyName = u.surname ?? (rest.join(' ') || givenName);
  const primaryEmail = u.userPrincipalName.toLowerCase();
  const g: GoogleUser = {
    kind: 'admin#directory#user',
    id: u.id, // replaced by the Google id (see replace())
    etag: etag(),
    primaryEmail,
    name: { givenName, familyName, fullName: `${givenName} ${familyName}` },
    // The first user of the sample (its chief executive) is the account's super administrator.
    isAdmin: first,
    isDelegatedAdmin: false,
    suspended: !u.accountEnabled,
    archived: false,
    orgUnitPath: u.department && u.department !== 'Executive Office' ? `/${u.department}` : '/',
    customerId: CUSTOMER_ID,
    creationTime: u.createdDateTime,
    emails: [{ address: primaryEmail, primary: true }, ...u.otherMails.filter((m) => m.toLowerCase() !== primaryEmail).map((address) => ({ address, type: 'work' }))],
  };
  const phones = [...u.businessPhones.map((value, i) => ({ value, type: 'work', ...(i === 0 ? { primary: true } : {}) })), ...(u.mobilePhone ? [{ value: u.mobilePhone, type: 'mobile' }] : [])];
  if (phones.length) g.phones = phones;
  if (u.jobTitle || u.department || u.employeeOrgData?.costCenter) {
    g.organizations = [{ title: u.jobTitle ?? undefined, department: u.department ?? undefined, costCenter: u.employeeOrgData?.costCenter ?? undefined, name: u.companyName ?? undefined, primary: true, customType: '' }];
  }
  const manager = u.managerId ? emailOf.get(u.managerId) : undefined;
  if (manager) g.relations = [{ type: 'manager', value: manager }];
  if (u.employeeId) g.externalIds = [{ type: 'organization', value: u.employeeId }];
  if (u.officeLocation) g.locations = [{ type: 'desk', area: 'desk', buildingId: u.officeLocation }];
  const badge = Object.entries(u).find(([k]) => k.endsWith('_badgeNumber'))?.[1];
  const employment: Record<string, unknown> = {};
  if (u.employeeType) employment.employeeType = u.employeeType;
  if (u.employeeOrgData?.division) employment.division = u.employeeOrgData.division;
  if (typeof badge === 'number') employment.badge = String(badge); // INT64 values travel as strings
  if (u.customSecurityAttributes) employment.skills = [{ type: 'work', value: 'security-cleared' }];
  if (Object.keys(employment).length) g.customSchemas = { Employment: employment };
  return g;
}
