// The sample organisation (emulators/org) as an OpenLDAP directory: users as inetOrgPerson
// under ou=people, groups as groupOfNames under ou=groups (nested groups are group DNs among
// the members), the manager as a DN, disabled accounts locked through ppolicy's
// pwdAccountLockedTime. Entries keep the org's ids as their entryUUID (slapadd accepts it),
// so a test compares what the source reads with the org itself.
import type { Org, OrgGroup, OrgUser } from '../org/types.ts';

export interface LdapLayout {
  suffix: string;
  peopleDn: string;
  groupsDn: string;
}

export function layoutFor(suffix: string): LdapLayout {
  return { suffix, peopleDn: `ou=people,${suffix}`, groupsDn: `ou=groups,${suffix}` };
}

/** The permanent lock ppolicy documents ("000001010000Z": locked until an administrator unlocks). */
export const PERMANENT_LOCK = '000001010000Z';

/** Members of a group that has none: groupOfNames requires one, so an empty group names this placeholder (a DN that is no entry). */
export const EMPTY_GROUP_MEMBER = 'cn=nobody';

/** How the org's users and groups are named in the directory. */
export interface SeededNames {
  userDn: Map<string, string>;
  uid: Map<string, string>;
  groupDn: Map<string, string>;
}

/** RFC 4514 escaping of one RDN value. */
export function escapeRdnValue(v: string): string {
  let out = v.replace(/[\\,+"<>;=]/g, (c) => `\\${c}`);
  if (out.startsWith('#') || out.startsWith(' ')) out = `\\${out}`;
  if (out.endsWith(' ')) out = `${out.slice(0, -1)}\\ `;
  return out;
}

/** The uid of an org user: its mail nickname, made LDAP-friendly for guests (name_domain#EXT#). */
export function uidOf(u: OrgUser): string {
  return u.mailNickname.replace(/#EXT#$/, '').replace(/[^A-Za-z0-9._-]/g, '_');
}

export function namesFor(org: Org, layout: LdapLayout): SeededNames {
  const userDn = new Map<string, string>();
  const uid = new Map<string, string>();
  for (const u of org.users) {
    const id = uidOf(u);
    uid.set(u.id, id);
    userDn.set(u.id, `uid=${escapeRdnValue(id)},${layout.peopleDn}`);
  }
  const groupDn = new Map(org.groups.map((g) => [g.id, `cn=${escapeRdnValue(g.displayName)},${layout.groupsDn}`]));
  return { userDn, uid, groupDn };
}

/** One LDIF attribute line; base64 (`::`) when the value is not safe as plain text (RFC 2849). */
function line(name: string, value: string | Buffer): string {
  if (Buffer.isBuffer(value)) return `${name}:: ${value.toString('base64')}`;
  const safe = /^[\x01-\x09\x0b\x0c\x0e-\x1f\x21-\x39\x3b\x3d-\x7f][\x01-\x09\x0b\x0c\x0e-\x7f]*$/.test(value) && !value.endsWith(' ');
  return safe ? `${name}: ${value}` : `${name}:: ${Buffer.from(value, 'utf8').toString('base64')}`;
}

/** A tiny but valid JPEG-shaped value (SOI … EOI) with bytes that are not UTF-8, for the binary-attribute tests. */
export function samplePhoto(seed: string): Buffer {
  return Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10]), Buffer.from(`JFIF-${seed}`, 'latin1'), Buffer.from([0x00, 0xfe, 0x80, 0xc3, 0x28, 0xff, 0xd9])]);
}

/** The LDAP attributes of an org user (without DN, entryUUID and memberOf). */
export function userAttributes(u: OrgUser, names: SeededNames, index: number): Array<[string, string | Buffer]> {
  const attrs: Array<[string, string | Buffer]> = [
    ['objectClass', 'inetOrgPerson'],
    ['uid', names.uid.get(u.id)!],
    ['cn', u.displayName],
    ['sn', u.surname ?? u.displayName],
    ['displayName', u.displayName],
  ];
  const opt = (name: string, v: string | null | undefined) => {
    if (v !== null && v !== undefined && v !== '') attrs.push([name, v]);
  };
  opt('givenName', u.givenName);
  opt('mail', u.mail);
  opt('title', u.jobTitle);
  opt('departmentNumber', u.department);
  opt('o', u.companyName);
  opt('physicalDeliveryOfficeName', u.officeLocation);
  opt('street', u.streetAddress);
  opt('l', u.city);
  opt('st', u.state);
  opt('postalCode', u.postalCode);
  opt('mobile', u.mobilePhone);
  for (const p of u.businessPhones) opt('telephoneNumber', p);
  opt('preferredLanguage', u.preferredLanguage);
  opt('employeeNumber', u.employeeId);
  opt('employeeType', u.employeeType);
  if (u.managerId && names.userDn.has(u.managerId)) attrs.push(['manager', names.userDn.get(u.managerId)!]);
  if (index % 10 === 3) attrs.push(['jpegPhoto', samplePhoto(u.id)]);
  if (!u.accountEnabled) attrs.push(['pwdAccountLockedTime', PERMANENT_LOCK]);
  return attrs;
}

function groupMembers(g: OrgGroup, names: SeededNames): string[] {
  const dns = g.members.map((m) => names.userDn.get(m) ?? names.groupDn.get(m)).filter((d): d is string => d !== undefined);
  return dns.length ? dns : [EMPTY_GROUP_MEMBER];
}

function entry(dn: string, attrs: Array<[string, string | Buffer]>): string {
  return [line('dn', dn), ...attrs.map(([n, v]) => line(n, v))].join('\n');
}

/**
 * The whole directory as LDIF for slapadd: base, the two OUs, the service account, users and
 * groups, each with its entryUUID and the memberOf values the memberof overlay would keep.
 */
export function orgLdif(org: Org, layout: LdapLayout, service: { dn: string; password: string }): { ldif: string; names: SeededNames } {
  const names = namesFor(org, layout);
  const memberOf = new Map<string, string[]>();
  for (const g of org.groups) {
    for (const m of g.members) {
      const dn = names.userDn.get(m) ?? names.groupDn.get(m);
      if (dn) memberOf.set(dn, [...(memberOf.get(dn) ?? []), names.groupDn.get(g.id)!]);
    }
  }
  const dc = /^dc=([^,]+)/i.exec(layout.suffix)?.[1] ?? 'example';
  const out: string[] = [
    entry(layout.suffix, [['objectClass', 'dcObject'], ['objectClass', 'organization'], ['dc', dc], ['o', org.domain]]),
    entry(layout.peopleDn, [['objectClass', 'organizationalUnit'], ['ou', 'people']]),
    entry(layout.groupsDn, [['objectClass', 'organizationalUnit'], ['ou', 'groups']]),
    entry(service.dn, [['objectClass', 'organizationalRole'], ['objectClass', 'simpleSecurityObject'], ['cn', /^cn=([^,]+)/.exec(service.dn)?.[1] ?? 'reader'], ['userPassword', service.password]]),
  ];
  org.users.forEach((u, i) => {
    const dn = names.userDn.get(u.id)!;
    const attrs = userAttributes(u, names, i);
    attrs.push(['entryUUID', u.id]);
    for (const g of memberOf.get(dn) ?? []) attrs.push(['memberOf', g]);
    out.push(entry(dn, attrs));
  });
  for (const g of org.groups) {
    const dn = names.groupDn.get(g.id)!;
    const attrs: Array<[string, string | Buffer]> = [['objectClass', 'groupOfNames'], ['cn', g.displayName], ['entryUUID', g.id]];
    if (g.description) attrs.push(['description', g.description]);
    for (const m of groupMembers(g, names)) attrs.push(['member', m]);
    for (const p of memberOf.get(dn) ?? []) attrs.push(['memberOf', p]);
    out.push(entry(dn, attrs));
  }
  return { ldif: `${out.join('\n\n')}\n`, names };
}

/** Name of the group addAllStaffGroup adds. */
export const ALL_STAFF = 'all-staff';

/**
 * Adds a group with every user of `org` as a direct member (mutates and returns it): with
 * more than 1,500 users it is larger than one Active Directory range-retrieval block.
 */
export function addAllStaffGroup(org: Org): Org {
  org.groups.push({
    id: '0a11a11a-5fa0-4ff0-8000-000000000000',
    displayName: ALL_STAFF,
    description: 'Everyone',
    mail: null,
    mailNickname: ALL_STAFF,
    mailEnabled: false,
    securityEnabled: true,
    groupTypes: [],
    createdDateTime: '2020-01-01T00:00:00Z',
    members: org.users.map((u) => u.id),
  });
  return org;
}
