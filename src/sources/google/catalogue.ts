// The user attributes a Google Workspace source offers to a mapping. The Directory API's user
// is nested (name, organizations, phones, relations…); the source keeps those as returned and
// adds flat names for what a mapping usually wants (the primary organization's title,
// department and cost centre, the work and mobile phone, the organization's employee id).
// Custom schemas are `customSchemas.<Schema>.<field>`, discovered at run time.
import type { AttributeInfo } from '../../core/types.ts';

type T = AttributeInfo['type'];

const ATTRS: Array<[string, T, string?]> = [
  ['id', 'string', "Google's immutable user id (idsync links users on it)"],
  ['primaryEmail', 'string', 'The sign-in address'],
  ['fullName', 'string', 'name.fullName: given and family name'],
  ['givenName', 'string', 'name.givenName'],
  ['familyName', 'string', 'name.familyName'],
  ['active', 'boolean', 'Neither suspended nor archived'],
  ['suspended', 'boolean'],
  ['archived', 'boolean'],
  ['isAdmin', 'boolean', 'Super administrator'],
  ['orgUnitPath', 'string', 'Organizational unit, e.g. /Sales/EMEA'],
  ['title', 'string', "The primary organization's job title"],
  ['department', 'string', "The primary organization's department"],
  ['costCenter', 'string', "The primary organization's cost centre"],
  ['organization', 'string', "The primary organization's name"],
  ['employeeId', 'string', 'externalIds of type organization'],
  ['workPhone', 'string', 'The first phone of type work'],
  ['mobilePhone', 'string', 'The first phone of type mobile'],
  ['aliases', 'string[]', 'Alias e-mail addresses'],
  ['creationTime', 'datetime'],
  ['lastLoginTime', 'datetime'],
  ['name', 'object', 'As returned: givenName, familyName, fullName'],
  ['emails', 'object', 'As returned: [{address, type, primary}]'],
  ['phones', 'object', 'As returned: [{value, type, primary}]'],
  ['organizations', 'object', 'As returned: [{title, department, costCenter, name, primary}]'],
  ['externalIds', 'object', 'As returned: [{type, value}]'],
  ['locations', 'object', 'As returned: [{type, area, buildingId, floorName, deskCode}]'],
  ['customSchemas', 'object', 'Custom attributes by schema (Admin console > Users > Manage custom attributes)'],
];

export const STATIC_ATTRIBUTES: AttributeInfo[] = [
  ...ATTRS.map(([path, type, description]) => (description ? { path, type, description } : { path, type })),
  { path: 'manager.id', type: 'string', description: "The manager's Google id (relations of type manager, by e-mail)" },
  { path: 'manager.primaryEmail', type: 'string' },
  { path: 'manager.fullName', type: 'string' },
  { path: 'manager.targetUsername', type: 'string', description: "The manager's username in the target being written" },
  { path: 'groups', type: 'string[]', description: 'Names of the groups the user is a direct member of' },
];

/** Always in a user's attributes, whatever the mapping reads: identity, matching keys, the enabled flags. */
export const ALWAYS = ['id', 'primaryEmail', 'fullName', 'active', 'suspended', 'archived'];

/** Google user JSON → the attributes above (before picking what the mapping reads). */
export function flatten(raw: Record<string, unknown>): Record<string, unknown> {
  const name = (raw.name ?? {}) as { givenName?: string; familyName?: string; fullName?: string };
  const orgs = Array.isArray(raw.organizations) ? (raw.organizations as Array<Record<string, unknown>>) : [];
  const org = orgs.find((o) => o.primary) ?? orgs[0];
  const phones = Array.isArray(raw.phones) ? (raw.phones as Array<{ type?: string; value?: string }>) : [];
  const ids = Array.isArray(raw.externalIds) ? (raw.externalIds as Array<{ type?: string; value?: string }>) : [];
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) if (k !== 'kind' && k !== 'etag' && k !== 'relations') out[k] = v;
  out.fullName = name.fullName ?? [name.givenName, name.familyName].filter(Boolean).join(' ');
  out.givenName = name.givenName ?? null;
  out.familyName = name.familyName ?? null;
  out.suspended = raw.suspended === true;
  out.archived = raw.archived === true;
  out.active = !out.suspended && !out.archived;
  out.title = org?.title ?? null;
  out.department = org?.department ?? null;
  out.costCenter = org?.costCenter ?? null;
  out.organization = org?.name ?? null;
  out.employeeId = ids.find((x) => x.type === 'organization')?.value ?? null;
  out.workPhone = phones.find((p) => p.type === 'work')?.value ?? null;
  out.mobilePhone = phones.find((p) => p.type === 'mobile')?.value ?? null;
  return out;
}

/** The manager's e-mail from relations (type manager), or null. */
export function managerEmail(raw: Record<string, unknown>): string | null {
  const rel = Array.isArray(raw.relations) ? (raw.relations as Array<{ type?: string; value?: string }>) : [];
  const v = rel.find((r) => r.type === 'manager')?.value;
  return typeof v === 'string' && v.includes('@') ? v.toLowerCase() : null;
}

/** The Directory API's user fields (what `fields` may select). */
const RAW_FIELDS = new Set([
  'id', 'primaryEmail', 'name', 'isAdmin', 'isDelegatedAdmin', 'suspended', 'suspensionReason', 'archived', 'orgUnitPath', 'customerId',
  'creationTime', 'lastLoginTime', 'deletionTime', 'agreedToTerms', 'changePasswordAtNextLogin', 'emails', 'aliases', 'nonEditableAliases',
  'phones', 'organizations', 'relations', 'externalIds', 'addresses', 'ims', 'locations', 'languages', 'keywords', 'gender', 'websites',
  'notes', 'customSchemas', 'thumbnailPhotoUrl', 'includeInGlobalAddressList', 'isMailboxSetup', 'isEnrolledIn2Sv', 'isEnforcedIn2Sv', 'recoveryEmail', 'recoveryPhone',
]);
/** Flat names → the user fields they are read from. */
const FROM: Record<string, string[]> = {
  fullName: ['name'], givenName: ['name'], familyName: ['name'], active: ['suspended', 'archived'],
  title: ['organizations'], department: ['organizations'], costCenter: ['organizations'], organization: ['organizations'],
  employeeId: ['externalIds'], workPhone: ['phones'], mobilePhone: ['phones'],
};

/**
 * The user fields to ask Google for (its `fields` partial response): the fixed ones, those the
 * mapping reads, and `relations` only when the manager is wanted.
 */
export function rawFieldsFor(attributes: readonly string[], manager: boolean): string[] {
  const out = new Set<string>();
  for (const top of [...ALWAYS, ...attributes.map((a) => a.split('.')[0]!)]) {
    for (const f of FROM[top] ?? [top]) if (RAW_FIELDS.has(f)) out.add(f);
  }
  if (manager) out.add('relations');
  return [...out];
}
