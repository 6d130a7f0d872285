// The user attributes Entra ID offers to a mapping, as known without asking the tenant.
// Directory extensions and custom security attributes are discovered at runtime.
import type { AttributeInfo } from '../../core/types.ts';

type T = AttributeInfo['type'];

const SCALARS: Array<[string, T, string?]> = [
  ['id', 'string', 'Object id (immutable; idsync links users on it)'],
  ['userPrincipalName', 'string', 'Sign-in name; guests look like name_domain#EXT#@tenant'],
  ['mail', 'string', 'Primary SMTP address; empty for users without a mailbox'],
  ['displayName', 'string'],
  ['givenName', 'string'],
  ['surname', 'string'],
  ['mailNickname', 'string'],
  ['accountEnabled', 'boolean'],
  ['userType', 'string', 'Member or Guest'],
  ['jobTitle', 'string'],
  ['department', 'string'],
  ['companyName', 'string'],
  ['officeLocation', 'string'],
  ['streetAddress', 'string'],
  ['city', 'string'],
  ['state', 'string'],
  ['postalCode', 'string'],
  ['country', 'string'],
  ['usageLocation', 'string'],
  ['businessPhones', 'string[]'],
  ['mobilePhone', 'string'],
  ['faxNumber', 'string'],
  ['preferredLanguage', 'string'],
  ['employeeId', 'string'],
  ['employeeType', 'string'],
  ['employeeHireDate', 'datetime'],
  ['employeeOrgData', 'object'],
  ['employeeOrgData.division', 'string'],
  ['employeeOrgData.costCenter', 'string'],
  ['createdDateTime', 'datetime'],
  ['creationType', 'string'],
  ['externalUserState', 'string', 'Guests: PendingAcceptance or Accepted'],
  ['otherMails', 'string[]'],
  ['proxyAddresses', 'string[]'],
  ['imAddresses', 'string[]'],
  ['ageGroup', 'string'],
  ['showInAddressList', 'boolean'],
  ['onPremisesSyncEnabled', 'boolean'],
  ['onPremisesSamAccountName', 'string'],
  ['onPremisesImmutableId', 'string'],
  ['onPremisesUserPrincipalName', 'string'],
  ['onPremisesDomainName', 'string'],
  ['onPremisesDistinguishedName', 'string'],
  ['onPremisesExtensionAttributes', 'object'],
];

export const STATIC_ATTRIBUTES: AttributeInfo[] = [
  ...SCALARS.map(([path, type, description]) => (description ? { path, type, description } : { path, type })),
  ...Array.from({ length: 15 }, (_, i) => ({
    path: `onPremisesExtensionAttributes.extensionAttribute${i + 1}`,
    type: 'string' as const,
    description: i === 2 ? 'Often used for the cost centre' : undefined,
  })).map((a) => (a.description ? a : { path: a.path, type: a.type })),
  { path: 'manager.id', type: 'string', description: "The manager's object id" },
  { path: 'manager.mail', type: 'string' },
  { path: 'manager.userPrincipalName', type: 'string' },
  { path: 'manager.displayName', type: 'string' },
  { path: 'manager.targetUsername', type: 'string', description: "The manager's username in the target being written" },
  { path: 'groups', type: 'string[]', description: 'Display names of the groups the user belongs to' },
];

/** Properties Graph only returns on a single-user GET (a list with them selected answers 501). */
export const SINGLE_USER_ONLY = new Set([
  'aboutMe', 'birthday', 'hireDate', 'interests', 'mySite', 'pastProjects', 'preferredName', 'responsibilities', 'schools', 'skills', 'mailboxSettings',
]);

/** Always read: identity, matching keys and the enabled flag. */
export const ALWAYS_SELECTED = ['id', 'userPrincipalName', 'mail', 'displayName', 'accountEnabled'];

export const MANAGER_FIELDS = ['id', 'mail', 'userPrincipalName', 'displayName'];
