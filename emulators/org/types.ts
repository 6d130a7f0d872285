// Shape of a generated organisation. Users and groups carry Microsoft Graph v1.0 property
// names so the Graph emulator can serve them as they are; the few fields Graph does not have
// (managerId, members) are internal and never emitted unless the emulator maps them.

export interface OnPremisesExtensionAttributes {
  extensionAttribute1: string | null;
  extensionAttribute2: string | null;
  extensionAttribute3: string | null;
  extensionAttribute4: string | null;
  extensionAttribute5: string | null;
  extensionAttribute6: string | null;
  extensionAttribute7: string | null;
  extensionAttribute8: string | null;
  extensionAttribute9: string | null;
  extensionAttribute10: string | null;
  extensionAttribute11: string | null;
  extensionAttribute12: string | null;
  extensionAttribute13: string | null;
  extensionAttribute14: string | null;
  extensionAttribute15: string | null;
}

export type CustomSecurityAttributes = Record<string, Record<string, unknown>>;

export interface OrgUser {
  id: string;
  userPrincipalName: string;
  mail: string | null;
  mailNickname: string;
  displayName: string;
  givenName: string | null;
  surname: string | null;
  jobTitle: string | null;
  department: string | null;
  companyName: string | null;
  officeLocation: string | null;
  streetAddress: string | null;
  city: string | null;
  state: string | null;
  postalCode: string | null;
  country: string | null;
  usageLocation: string | null;
  businessPhones: string[];
  mobilePhone: string | null;
  faxNumber: string | null;
  preferredLanguage: string | null;
  employeeId: string | null;
  employeeType: string | null;
  employeeHireDate: string | null;
  employeeOrgData: { division: string | null; costCenter: string | null } | null;
  accountEnabled: boolean;
  userType: 'Member' | 'Guest';
  creationType: string | null;
  externalUserState: string | null;
  createdDateTime: string;
  otherMails: string[];
  proxyAddresses: string[];
  onPremisesSyncEnabled: boolean | null;
  onPremisesSamAccountName: string | null;
  onPremisesImmutableId: string | null;
  onPremisesExtensionAttributes: OnPremisesExtensionAttributes;
  customSecurityAttributes: CustomSecurityAttributes | null;
  /** Internal: the manager's object id (served through /manager and $expand=manager). */
  managerId: string | null;
  /** Directory extensions, `extension_<appId>_<name>`; absent when unset. */
  [extension: `extension_${string}`]: string | number | boolean | undefined;
}

export interface OrgGroup {
  id: string;
  displayName: string;
  description: string | null;
  mail: string | null;
  mailNickname: string;
  mailEnabled: boolean;
  securityEnabled: boolean;
  groupTypes: string[];
  createdDateTime: string;
  /** Internal: direct member object ids (users or groups). */
  members: string[];
}

/** Directory roles appear in memberOf next to groups (callers cast to filter them out). */
export interface OrgDirectoryRole {
  id: string;
  displayName: string;
  description: string;
  roleTemplateId: string;
  members: string[];
}

export interface OrgExtensionProperty {
  id: string;
  /** Full attribute name, `extension_<appIdWithoutDashes>_<name>`. */
  name: string;
  dataType: 'String' | 'Integer' | 'Boolean';
  targetObjects: string[];
  appDisplayName: string;
  isSyncedFromOnPremises: boolean;
}

export interface Org {
  seed: number;
  tenantId: string;
  /** Initial domain, e.g. contoso.onmicrosoft.com. */
  initialDomain: string;
  /** Verified vanity domain used for mail, e.g. contoso.com. */
  domain: string;
  /** appId (with dashes) of the app owning the directory extensions. */
  extensionAppId: string;
  extensionProperties: OrgExtensionProperty[];
  users: OrgUser[];
  groups: OrgGroup[];
  roles: OrgDirectoryRole[];
}
