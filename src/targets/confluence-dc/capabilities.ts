// What the Confluence Data Center target can write: the single declaration read by mapping
// validation, the UI pickers and the README's capability table.
import type { TargetCapabilities, TargetField } from '../../core/types.ts';

/** The profile fields Confluence keeps through UserDetailsManager, in form order. */
export const PROFILE_FIELDS = ['phone', 'im', 'website', 'position', 'department', 'location'] as const;
export type ProfileField = (typeof PROFILE_FIELDS)[number];

const PROFILE_LABELS: Record<ProfileField, string> = {
  phone: 'Phone',
  im: 'IM',
  website: 'Website',
  position: 'Position',
  department: 'Department',
  location: 'Location',
};

const profileFields: TargetField[] = PROFILE_FIELDS.map((f) => ({
  name: `confluence.profile.${f}`,
  type: 'string',
  label: `Profile: ${PROFILE_LABELS[f]}`,
  description:
    "Shown on the user's Confluence profile. Written through the administrator's Edit User Details form (no REST resource exists); needs an administrator's password. See docs/confluence-profile-fields.md.",
}));

export const NO_USER_PROPERTIES =
  'Confluence Data Center has no REST resource for user properties (only content and space properties); use confluence.profile.* for profile data, or write the value to Jira or Crowd';

const baseFields: TargetField[] = [
  {
    name: 'user.username',
    type: 'string',
    label: 'Username',
    description: 'Lower-case, no whitespace, none of \\ , + < > \' ". Set on create; the REST API cannot rename, so links use the user key.',
    requiredOnCreate: true,
  },
  { name: 'user.displayName', type: 'string', label: 'Full name', requiredOnCreate: true },
  { name: 'user.email', type: 'string', label: 'Email address', requiredOnCreate: true },
  {
    name: 'user.active',
    type: 'boolean',
    label: 'Active',
    description: 'Disabled users cannot log in and free their licence seat; their content stays.',
  },
  {
    name: 'groups',
    type: 'string[]',
    label: 'Groups',
    description: 'Group memberships (Confluence stores group names lower-case). idsync removes only memberships it added.',
  },
];

const baseUnsupported: TargetCapabilities['unsupported'] = [
  { name: 'property.', reason: NO_USER_PROPERTIES },
  { name: 'crowd.attribute.', reason: 'Crowd attributes live in Crowd; add a Crowd target.' },
  { name: 'atlassian.profile.', reason: 'Atlassian account profiles exist only in Cloud.' },
];

/**
 * Confluence DC (admin user API, 8.4+) disables and enables, removes users (a long-running
 * task the target follows to its end), and renames through the Edit User form keeping the user
 * key. See docs/protocol-facts.md.
 */
const lifecycle: TargetCapabilities['lifecycle'] = {
  disable: true,
  delete: true,
  anonymise: true,
  renameUsername: true,
  removeAccess: false,
  reasons: {
    removeAccess: 'Confluence Data Center disables users instead, which frees the licence seat and keeps their content; use "disable".',
  },
};

/** Capabilities of the type; an instance narrows them when profile writing is not possible. */
export const confluenceDcCapabilities: TargetCapabilities = {
  kind: 'confluence-dc',
  canCreateUsers: true,
  lifecycle,
  fields: [...baseFields, ...profileFields],
  unsupported: baseUnsupported,
};

export function capabilitiesWithoutProfile(reason: string): TargetCapabilities {
  return {
    ...confluenceDcCapabilities,
    fields: baseFields,
    unsupported: [...baseUnsupported!, { name: 'confluence.profile.', reason }],
    // Renames go through the same Edit User form; anonymising still replaces name and e-mail.
    lifecycle: {
      ...lifecycle,
      renameUsername: false,
      reasons: { ...lifecycle.reasons, renameUsername: `Confluence's REST API has no rename and the Edit User form is not available: ${reason}` },
    },
  };
}
