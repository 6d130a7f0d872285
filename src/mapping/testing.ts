// Fixtures shared by the mapping tests: a target's capabilities, a rule builder, sample users.
import type { MappingRule, SourceUser, TargetCapabilities } from '../core/types.ts';
import type { MappingContext } from './api.ts';

export const JIRA_LIKE: TargetCapabilities = {
  kind: 'jira-dc',
  canCreateUsers: true,
  lifecycle: { disable: true, delete: false, anonymise: false, renameUsername: false, removeAccess: false },
  fields: [
    { name: 'user.username', type: 'string', label: 'Username', requiredOnCreate: true, maxLength: 255 },
    { name: 'user.displayName', type: 'string', label: 'Full name', requiredOnCreate: true },
    { name: 'user.email', type: 'string', label: 'Email', requiredOnCreate: true },
    { name: 'user.active', type: 'boolean', label: 'Active' },
    { name: 'groups', type: 'string[]', label: 'Groups' },
    { name: 'property.', type: 'json', label: 'User property', maxLength: 32768 },
  ],
  unsupported: [{ name: 'confluence.profile.', reason: 'Jira has no profile fields; use a user property (property.<key>) instead' }],
};

export const CONFLUENCE_LIKE: TargetCapabilities = {
  kind: 'confluence-dc',
  canCreateUsers: false,
  lifecycle: { disable: true, delete: false, anonymise: false, renameUsername: false, removeAccess: false },
  fields: [
    { name: 'user.displayName', type: 'string', label: 'Full name' },
    { name: 'user.email', type: 'string', label: 'Email' },
    { name: 'confluence.profile.', type: 'string', label: 'Profile field' },
  ],
  unsupported: [{ name: 'confluence.profile.department', reason: 'Confluence DC has no REST API for profile fields; map it to a user property' }],
};

export function rule(target: string, source: string, extra: Partial<MappingRule> = {}): MappingRule {
  return { target, source, flow: 'always', whenEmpty: 'keep', ...extra };
}

/** A sample Entra-style user; `attrs` overrides are merged on top. */
export function user(attrs: Record<string, unknown> = {}, groups?: string[]): SourceUser {
  return {
    id: 'a1b2c3d4-0000-4000-8000-000000000001',
    attrs: {
      userPrincipalName: 'alice@contoso.com',
      mail: 'Alice@Contoso.com',
      displayName: 'Alice Example',
      givenName: 'Alice',
      surname: 'Example',
      department: 'Finance',
      accountEnabled: true,
      ...attrs,
    },
    ...(groups ? { groups } : {}),
  };
}

/** A link store in a map: ids absent from it are "not known yet". */
export function links(entries: Record<string, string | null> = {}): MappingContext & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    targetUsernameOf(sourceId) {
      asked.push(sourceId);
      return Object.hasOwn(entries, sourceId) ? entries[sourceId] : undefined;
    },
  };
}
