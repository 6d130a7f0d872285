// What the Jira Data Center target can write. This is the single declaration the mapping
// validator, the UI pickers and the README's capability table read.
import type { TargetCapabilities } from '../../core/types.ts';

/** Jira's limit for an entity property value: the serialized JSON's size in bytes (UTF-8). */
export const PROPERTY_VALUE_MAX = 32_768;
/** Jira's limit for an entity property key. */
export const PROPERTY_KEY_MAX = 255;

export const jiraDcCapabilities: TargetCapabilities = {
  kind: 'jira-dc',
  canCreateUsers: true,
  // Jira DC deactivates (PUT /user `active`, which frees the licence seat), deletes (DELETE /user,
  // refused for a project lead) and renames keeping the user key. See docs/protocol-facts.md.
  lifecycle: {
    disable: true,
    delete: true,
    anonymise: true,
    renameUsername: true,
    removeAccess: false,
    reasons: {
      removeAccess: 'Jira Data Center deactivates accounts instead, which already frees the licence seat; use "disable".',
    },
  },
  fields: [
    {
      name: 'user.username',
      type: 'string',
      label: 'Username',
      description: 'Jira username (login name). Renaming keeps the user key, so links survive.',
      requiredOnCreate: true,
    },
    { name: 'user.displayName', type: 'string', label: 'Full name', requiredOnCreate: true },
    { name: 'user.email', type: 'string', label: 'Email address', requiredOnCreate: true },
    {
      name: 'user.active',
      type: 'boolean',
      label: 'Active',
      description: 'Inactive users cannot log in and do not count against the licence.',
    },
    {
      name: 'groups',
      type: 'string[]',
      label: 'Groups',
      description: 'Group memberships in the Jira internal directory. idsync removes only memberships it added.',
    },
    {
      name: 'property.',
      type: 'json',
      label: 'User property',
      description:
        'Jira user (entity) property, read by apps and scripts through /rest/api/2/user/properties. Not the "user properties" shown in the admin screens.',
      maxLength: PROPERTY_VALUE_MAX,
    },
  ],
  unsupported: [
    { name: 'confluence.profile.', reason: 'Confluence profile fields live in Confluence; add a Confluence target to write them.' },
    { name: 'crowd.attribute.', reason: 'Crowd attributes live in Crowd; add a Crowd target, or use a Jira user property (property.<key>).' },
    { name: 'atlassian.profile.', reason: 'Atlassian account profiles exist only in Cloud; Jira Data Center has no such fields. Use property.<key> instead.' },
  ],
};
