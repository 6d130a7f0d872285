// Ready-made mapping rows the editor offers ("add a common rule"). Sources are written for
// Microsoft Entra ID attribute names; each row is validated in presets-catalog.test.ts.
import type { MappingRule, TargetCapabilities } from '../core/types.ts';
import { resolveTargetField } from './fields.ts';

export interface PresetRow {
  label: string;
  /** Why an admin would pick it, shown as the row's help text. */
  description: string;
  source: string;
  target: string;
  flow?: MappingRule['flow'];
  whenEmpty?: MappingRule['whenEmpty'];
  default?: MappingRule['default'];
}

export const PRESET_CATALOG: readonly PresetRow[] = [
  {
    label: 'Username from UPN (without domain, lower case)',
    description:
      'alice@contoso.com becomes alice; a guest\'s #EXT# UPN uses their real address. Set once at creation so a UPN change does not rename the account.',
    source: '$lower($stripDomain($guestToMail(userPrincipalName)))',
    target: 'user.username',
    flow: 'onCreate',
  },
  {
    label: 'Display name',
    description: 'The name shown everywhere in the product.',
    source: 'displayName',
    target: 'user.displayName',
  },
  {
    label: 'Display name from given name and surname',
    description: 'For directories where displayName holds something else (e.g. "Doe, Jane (IT)").',
    source: '$joinNonEmpty([givenName, surname], " ")',
    target: 'user.displayName',
  },
  {
    label: 'Email, with guests\' real address',
    description: 'mail when set; for B2B guests without mail, the address encoded in their #EXT# UPN.',
    source: '$firstNonEmpty(mail, $guestToMail(userPrincipalName))',
    target: 'user.email',
  },
  {
    label: 'Active when the account is enabled',
    description: 'Deactivates users that are disabled in Entra ID.',
    source: 'accountEnabled',
    target: 'user.active',
  },
  {
    label: 'Groups',
    description: 'The user\'s Entra ID group names; idsync only removes memberships it added itself.',
    source: 'groups',
    target: 'groups',
  },
  {
    label: 'Manager\'s email',
    description: 'Stored as a user property, e.g. for approval workflows.',
    source: 'manager.mail',
    target: 'property.managerEmail',
    whenEmpty: 'clear',
  },
  {
    label: 'Manager (username in this product)',
    description: 'The manager\'s own account here, resolved through idsync\'s links, also when created in the same run.',
    source: 'manager.targetUsername',
    target: 'property.manager',
    whenEmpty: 'clear',
  },
  {
    label: 'Cost center from extension attribute 3',
    description: 'On-premises extension attributes synced by Entra Connect.',
    source: 'onPremisesExtensionAttributes.extensionAttribute3',
    target: 'property.costCenter',
  },
  {
    label: 'Employee ID',
    description: 'HR identifier, useful for reports.',
    source: 'employeeId',
    target: 'property.employeeId',
  },
  {
    label: 'Department (Confluence profile)',
    description: 'Shown on the Confluence profile page.',
    source: 'department',
    target: 'confluence.profile.department',
  },
  {
    label: 'Job title (Confluence profile)',
    description: 'Shown as the position on the Confluence profile page.',
    source: 'jobTitle',
    target: 'confluence.profile.position',
  },
  {
    label: 'Office location (Confluence profile)',
    description: 'Shown as the location on the Confluence profile page.',
    source: 'officeLocation',
    target: 'confluence.profile.location',
  },
  {
    label: 'Phone (Confluence profile)',
    description: 'First business phone, else the mobile number.',
    source: '$firstNonEmpty(businessPhones[0], mobilePhone)',
    target: 'confluence.profile.phone',
  },
  {
    label: 'Department (Crowd attribute)',
    description: 'A Crowd user attribute that applications connected to Crowd can read.',
    source: 'department',
    target: 'crowd.attribute.department',
  },
  {
    label: 'Job title (Atlassian profile)',
    description: 'Managed accounts in Atlassian Cloud.',
    source: 'jobTitle',
    target: 'atlassian.profile.jobTitle',
  },
];

/** The catalog rows a given target can write, as complete mapping rules. */
export function presetsFor(capabilities: TargetCapabilities): Array<PresetRow & { rule: MappingRule }> {
  return PRESET_CATALOG.filter((row) => resolveTargetField(row.target, capabilities).kind === 'field').map((row) => ({
    ...row,
    rule: {
      target: row.target,
      source: row.source,
      flow: row.flow ?? 'always',
      whenEmpty: row.whenEmpty ?? 'keep',
      ...(row.default === undefined ? {} : { default: row.default }),
    },
  }));
}
