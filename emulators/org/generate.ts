// Deterministic, seeded organisation generator: a realistic company (departments, offices,
// manager hierarchy, groups, extension attributes) sprinkled with the edge cases a sync
// engine must survive: guests with #EXT# names, users without mail, unicode names, disabled
// accounts, users without a manager, very long values, nested groups and a user in more
// groups than one memberOf page holds. Same seed → same org; 100,000 users in well under 3 s.
import type { OnPremisesExtensionAttributes, Org, OrgDirectoryRole, OrgExtensionProperty, OrgGroup, OrgUser } from './types.ts';
import { CERTIFICATIONS, CJK_NAMES, DEPARTMENTS, GIVEN_NAMES, GUEST_DOMAINS, OFFICES, PROJECTS, SURNAMES, type Department, type Office } from './data.ts';
import { Random, hashString, mix } from './random.ts';

export interface GenerateOptions {
  /** Number of users (default 300). */
  users?: number;
  seed?: number;
  /** Company short name; drives the domains (contoso → contoso.com, contoso.onmicrosoft.com). */
  company?: string;
}

/** Guild groups exist so one user belongs to more groups than a memberOf page (100) holds. */
export const GUILD_COUNT = 120;
/** Index of the user who joins every guild (when the org is big enough). */
export const MANY_GROUPS_USER_INDEX = 20;

const TECH_DEPARTMENTS = new Set(['engineering', 'product', 'it', 'research-development', 'customer-support']);
const LONG_VALUE_EVERY = 997;

export function generateOrg(opts: GenerateOptions = {}): Org {
  const count = Math.max(1, Math.floor(opts.users ?? 300));
  const seed = (opts.seed ?? 1) >>> 0;
  const company = (opts.company ?? 'contoso').toLowerCase().replace(/[^a-z0-9]/g, '') || 'contoso';
  const domain = `${company}.com`;
  const initialDomain = `${company}.onmicrosoft.com`;
  const orgRandom = new Random(mix(seed, 0x0a11));
  const tenantId = orgRandom.guid();
  const extensionAppId = orgRandom.guid();
  const extensionProperties = makeExtensionProperties(orgRandom, extensionAppId);
  const [githubExt, badgeExt, remoteExt] = extensionProperties.map((p) => p.name) as [string, string, string];

  const deptPicker = weightedPicker(DEPARTMENTS.map((d) => d.weight));
  const officePicker = weightedPicker(OFFICES.map((o) => o.weight));
  const nicknames = new Map<string, number>();
  const uniqueNick = (base: string) => {
    const n = nicknames.get(base) ?? 0;
    nicknames.set(base, n + 1);
    return n === 0 ? base : `${base}${n + 1}`;
  };

  // Per-department state while users stream out: the managers seen so far (VP first).
  const managersByDept: string[][] = DEPARTMENTS.map(() => []);
  const deptMembers: string[][] = DEPARTMENTS.map(() => []);
  const jiraDirect: string[] = [];
  const confluenceDirect: string[] = [];
  const projectMembers: string[][] = PROJECTS.map(() => []);
  const guildMembers: string[][] = Array.from({ length: GUILD_COUNT }, () => []);
  const itStaff: string[] = [];

  const users: OrgUser[] = new Array(count);
  let ceoId = '';
  for (let i = 0; i < count; i++) {
    const r = new Random(mix(seed, i, 0x5eed));
    const id = r.guid();
    const isCeo = i === 0;
    const vpOf = i >= 1 && i <= DEPARTMENTS.length ? i - 1 : -1;
    const isGuest = !isCeo && vpOf < 0 && r.chance(0.03);
    const deptIndex = isCeo ? -1 : vpOf >= 0 ? vpOf : deptPicker(r.float());
    const dept: Department | undefined = isGuest || deptIndex < 0 ? undefined : DEPARTMENTS[deptIndex];
    const office = OFFICES[officePicker(r.float())]!;

    const name = pickName(r);
    const base = `${name.givenAscii}.${name.familyAscii}`;
    const longValues = i % LONG_VALUE_EVERY === 13;

    let managerId: string | null = null;
    let jobTitle: string | null = null;
    if (isCeo) {
      jobTitle = 'Chief Executive Officer';
    } else if (vpOf >= 0) {
      jobTitle = `Vice President, ${dept!.name}`;
      managerId = ceoId;
      managersByDept[vpOf]!.push(id);
    } else if (dept) {
      const mgrs = managersByDept[deptIndex]!;
      const becomesManager = mgrs.length < 2 || r.chance(0.1);
      // Managers report to the VP or, for depth, to another manager; a few staff have no manager.
      managerId = mgrs.length === 0 ? ceoId : becomesManager && r.chance(0.6) ? mgrs[0]! : r.pick(mgrs);
      if (!becomesManager && r.chance(0.015)) managerId = null;
      jobTitle = becomesManager ? `${r.chance(0.3) ? 'Director' : 'Manager'}, ${dept.name}` : r.pick(dept.titles);
      if (becomesManager) mgrs.push(id);
    }
    if (longValues && jobTitle) jobTitle = padTo(`${jobTitle} and Acting Head of Cross-Functional Strategic Initiatives`, 128);

    let user: OrgUser;
    if (isGuest) {
      const guestDomain = r.pick(GUEST_DOMAINS);
      const local = uniqueNick(base);
      const upn = `${local}_${guestDomain}#EXT#@${initialDomain}`;
      user = baseUser(id, upn, `${local}@${guestDomain}`, `${local}_${guestDomain}#EXT#`, name.display, name.given, name.family);
      user.userType = 'Guest';
      user.creationType = 'Invitation';
      user.externalUserState = r.chance(0.85) ? 'Accepted' : 'PendingAcceptance';
      user.companyName = capitalize(guestDomain.split('.')[0]!);
      user.otherMails = [`${local}@${guestDomain}`];
      user.accountEnabled = !r.chance(0.05);
      user.createdDateTime = dateFrom(r, 2019, 6);
    } else {
      const nick = uniqueNick(base);
      const hasMail = isCeo || vpOf >= 0 || !r.chance(0.04);
      user = baseUser(id, `${nick}@${domain}`, hasMail ? `${nick}@${domain}` : null, nick, name.display, name.given, name.family);
      user.jobTitle = jobTitle;
      user.department = dept?.name ?? 'Executive Office';
      user.companyName = `${capitalize(company)} Ltd`;
      applyOffice(user, office, r);
      user.employeeId = r.chance(0.02) ? null : `E${String(100000 + i)}`;
      user.employeeType = r.chance(0.9) ? 'Employee' : 'Contractor';
      user.employeeHireDate = dateFrom(r, 2012, 13);
      user.createdDateTime = user.employeeHireDate;
      user.employeeOrgData = { division: dept?.division ?? 'Executive', costCenter: costCentre(dept, deptIndex, r) };
      user.accountEnabled = isCeo || vpOf >= 0 || !r.chance(0.03);
      user.proxyAddresses = hasMail ? [`SMTP:${nick}@${domain}`, `smtp:${nick}@${initialDomain}`] : [];
      user.onPremisesSyncEnabled = r.chance(0.7) ? true : null;
      if (user.onPremisesSyncEnabled) {
        user.onPremisesSamAccountName = nick.replace(/\./g, '').slice(0, 20);
        user.onPremisesImmutableId = Buffer.from(id.replace(/-/g, ''), 'hex').toString('base64');
      }
      user.onPremisesExtensionAttributes = extensionAttributes(user, dept, r, longValues);
      if (r.chance(0.5)) user[githubExt as `extension_${string}`] = `${name.givenAscii}-${name.familyAscii}${r.digits(2)}`;
      if (r.chance(0.8)) user[badgeExt as `extension_${string}`] = 10000 + r.int(90000);
      if (r.chance(0.3)) user[remoteExt as `extension_${string}`] = r.chance(0.5);
      if (dept && (dept.slug === 'engineering' || dept.slug === 'research-development') && r.chance(0.08)) {
        user.customSecurityAttributes = securityAttributes(r);
      }
      if (longValues) user.displayName = padTo(`${user.displayName} (on secondment to the Office of the Chief Technology Officer)`, 256);
    }
    user.managerId = managerId;
    users[i] = user;
    if (isCeo) ceoId = id;

    // Group memberships, collected as ids while streaming.
    if (dept) {
      deptMembers[deptIndex]!.push(id);
      if (TECH_DEPARTMENTS.has(dept.slug) || r.chance(0.3)) jiraDirect.push(id);
      if (!['engineering', 'product', 'research-development'].includes(dept.slug) && r.chance(0.5)) confluenceDirect.push(id);
      if (dept.slug === 'it') itStaff.push(id);
    } else if (isGuest) {
      if (r.chance(0.5)) jiraDirect.push(id);
      if (r.chance(0.3)) confluenceDirect.push(id);
    }
    for (let p = 0; p < PROJECTS.length; p++) if (r.chance(0.02)) projectMembers[p]!.push(id);
    if (i === MANY_GROUPS_USER_INDEX) for (const g of guildMembers) g.push(id);
    else if (r.chance(0.01)) guildMembers[i % GUILD_COUNT]!.push(id);
  }

  const groups = makeGroups({ seed, domain, deptMembers, jiraDirect, confluenceDirect, projectMembers, guildMembers, itStaff });
  const roles = makeRoles(seed, ceoId, itStaff, count > MANY_GROUPS_USER_INDEX ? users[MANY_GROUPS_USER_INDEX]!.id : undefined);
  return { seed, tenantId, initialDomain, domain, extensionAppId, extensionProperties, users, groups, roles };
}

function baseUser(id: string, upn: string, mail: string | null, nick: string, display: string, given: string, family: string): OrgUser {
  return {
    id,
    userPrincipalName: upn,
    mail,
    mailNickname: nick,
    displayName: display,
    givenName: given,
    surname: family,
    jobTitle: null,
    department: null,
    companyName: null,
    officeLocation: null,
    streetAddress: null,
    city: null,
    state: null,
    postalCode: null,
    country: null,
    usageLocation: null,
    businessPhones: [],
    mobilePhone: null,
    faxNumber: null,
    preferredLanguage: null,
    employeeId: null,
    employeeType: null,
    employeeHireDate: null,
    employeeOrgData: null,
    accountEnabled: true,
    userType: 'Member',
    creationType: null,
    externalUserState: null,
    createdDateTime: '2015-01-01T00:00:00Z',
    otherMails: [],
    proxyAddresses: [],
    onPremisesSyncEnabled: null,
    onPremisesSamAccountName: null,
    onPremisesImmutableId: null,
    onPremisesExtensionAttributes: emptyExtensionAttributes(),
    customSecurityAttributes: null,
    managerId: null,
  };
}

function applyOffice(user: OrgUser, office: Office, r: Random): void {
  user.officeLocation = office.officeLocation;
  user.streetAddress = office.street;
  user.city = office.city;
  user.state = office.state;
  user.postalCode = office.postalCode;
  user.country = office.country;
  user.usageLocation = office.usageLocation;
  user.preferredLanguage = office.language;
  user.businessPhones = [office.phone(r.digits(9))];
  user.mobilePhone = r.chance(0.7) ? office.phone(r.digits(9)) : null;
}

export function emptyExtensionAttributes(): OnPremisesExtensionAttributes {
  return {
    extensionAttribute1: null, extensionAttribute2: null, extensionAttribute3: null, extensionAttribute4: null,
    extensionAttribute5: null, extensionAttribute6: null, extensionAttribute7: null, extensionAttribute8: null,
    extensionAttribute9: null, extensionAttribute10: null, extensionAttribute11: null, extensionAttribute12: null,
    extensionAttribute13: null, extensionAttribute14: null, extensionAttribute15: null,
  };
}

function extensionAttributes(user: OrgUser, dept: Department | undefined, r: Random, longValues: boolean): OnPremisesExtensionAttributes {
  const ext = emptyExtensionAttributes();
  ext.extensionAttribute1 = user.employeeType === 'Contractor' ? 'CTR' : 'FTE';
  ext.extensionAttribute3 = user.employeeOrgData?.costCenter ?? null; // cost centre, as many tenants use it
  ext.extensionAttribute5 = user.usageLocation ? `${user.usageLocation}-${user.officeLocation?.split(' ')[0]?.toUpperCase()}` : null;
  if (r.chance(0.1)) ext.extensionAttribute10 = `LEGACY-${r.digits(6)}`;
  if (dept && r.chance(0.2)) ext.extensionAttribute7 = dept.code.toLowerCase();
  if (longValues) ext.extensionAttribute15 = padTo('Note: ', 1024);
  return ext;
}

function costCentre(dept: Department | undefined, deptIndex: number, r: Random): string {
  if (!dept) return 'CC-EXE-100';
  return `CC-${dept.code}-${100 + deptIndex * 10 + r.int(4)}`;
}

function securityAttributes(r: Random) {
  const projects = PROJECTS.filter(() => r.chance(0.4)).map(capitalize);
  return {
    Engineering: {
      '@odata.type': '#microsoft.graph.customSecurityAttributeValue',
      'Project@odata.type': '#Collection(String)',
      Project: projects.length ? projects : [capitalize(PROJECTS[0]!)],
      'CostCenter@odata.type': '#Collection(Int32)',
      CostCenter: [1000 + r.int(50)],
      Certification: r.chance(0.5),
      Clearance: r.pick(CERTIFICATIONS),
    },
  };
}

function makeExtensionProperties(r: Random, appId: string): OrgExtensionProperty[] {
  const hex = appId.replace(/-/g, '');
  const defs: Array<[string, OrgExtensionProperty['dataType']]> = [['githubHandle', 'String'], ['badgeNumber', 'Integer'], ['remoteWorker', 'Boolean']];
  return defs.map(([name, dataType]) => ({
    id: r.guid(),
    name: `extension_${hex}_${name}`,
    dataType,
    targetObjects: ['User'],
    appDisplayName: 'idsync directory extensions',
    isSyncedFromOnPremises: false,
  }));
}

interface GroupInput {
  seed: number;
  domain: string;
  deptMembers: string[][];
  jiraDirect: string[];
  confluenceDirect: string[];
  projectMembers: string[][];
  guildMembers: string[][];
  itStaff: string[];
}

function makeGroups(g: GroupInput): OrgGroup[] {
  const groups: OrgGroup[] = [];
  const add = (displayName: string, description: string, members: string[], mailEnabled = false): OrgGroup => {
    const r = new Random(mix(g.seed, hashString(displayName)));
    const nick = displayName.replace(/[^a-zA-Z0-9-]/g, '');
    const group: OrgGroup = {
      id: r.guid(),
      displayName,
      description,
      mail: mailEnabled ? `${nick}@${g.domain}` : null,
      mailNickname: nick,
      mailEnabled,
      securityEnabled: true,
      groupTypes: mailEnabled ? ['Unified'] : [],
      createdDateTime: dateFrom(r, 2016, 8),
      members,
    };
    groups.push(group);
    return group;
  };
  const deptGroups = DEPARTMENTS.map((d, i) => add(`dept-${d.slug}`, `Everyone in ${d.name}`, g.deptMembers[i]!, true));
  const jiraAdmins = add('jira-administrators', 'Jira administrators', g.itStaff.slice(0, 10));
  // Nested groups: jira-users contains jira-administrators; confluence-users contains three department groups.
  add('jira-users', 'Licensed Jira users', [...g.jiraDirect, jiraAdmins.id]);
  const nestedDepts = deptGroups.filter((d) => ['dept-engineering', 'dept-product', 'dept-research-development'].includes(d.displayName));
  add('confluence-users', 'Licensed Confluence users', [...g.confluenceDirect, ...nestedDepts.map((d) => d.id)]);
  PROJECTS.forEach((p, i) => add(`project-${p}`, `Project ${capitalize(p)} team`, g.projectMembers[i]!));
  g.guildMembers.forEach((m, i) => add(`guild-${String(i + 1).padStart(3, '0')}`, 'Community of practice', m));
  return groups;
}

function makeRoles(seed: number, ceoId: string, itStaff: string[], manyGroupsUser: string | undefined): OrgDirectoryRole[] {
  const role = (displayName: string, roleTemplateId: string, members: string[]): OrgDirectoryRole => ({
    id: new Random(mix(seed, hashString(`role:${displayName}`))).guid(),
    displayName,
    description: `${displayName} directory role`,
    roleTemplateId,
    members: members.filter(Boolean),
  });
  return [
    role('Global Administrator', '62e90394-69f5-4237-9190-012177145e10', [ceoId]),
    role('User Administrator', 'fe930be7-5e62-47db-91af-98c3a49a38b1', itStaff.slice(0, 2)),
    role('Global Reader', 'f2ef992c-3afb-46b9-b7cf-a126ee74c451', [...itStaff.slice(2, 4), ...(manyGroupsUser ? [manyGroupsUser] : [])]),
  ];
}

function pickName(r: Random): { display: string; given: string; family: string; givenAscii: string; familyAscii: string } {
  if (r.chance(0.04)) {
    const n = r.pick(CJK_NAMES);
    return { display: `${n.family[0]}${n.given[0]}`, given: n.given[0], family: n.family[0], givenAscii: n.given[1], familyAscii: n.family[1] };
  }
  const given = r.pick(GIVEN_NAMES);
  const family = r.pick(SURNAMES);
  return { display: `${given[0]} ${family[0]}`, given: given[0], family: family[0], givenAscii: given[1], familyAscii: family[1] };
}

/** Returns a function mapping a uniform float to an index, proportionally to weights. */
function weightedPicker(weights: number[]): (u: number) => number {
  const total = weights.reduce((a, b) => a + b, 0);
  const cumulative: number[] = [];
  let acc = 0;
  for (const w of weights) cumulative.push((acc += w) / total);
  return (u) => {
    for (let i = 0; i < cumulative.length; i++) if (u < cumulative[i]!) return i;
    return cumulative.length - 1;
  };
}

function dateFrom(r: Random, fromYear: number, spanYears: number): string {
  const start = Date.UTC(fromYear, 0, 1);
  const day = r.int(spanYears * 365);
  return new Date(start + day * 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function padTo(text: string, length: number): string {
  let out = text;
  while (out.length < length) out += ' lorem ipsum dolor sit amet';
  return out.slice(0, length);
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
