// The attributes an Okta source offers to a mapping: the user's own fields, Okta's base
// profile, the derived `active` flag, and the manager and groups; custom profile attributes
// come from the user schema (or, without okta.schemas.read, from the users read).
import type { AttributeInfo } from '../../core/types.ts';

type T = AttributeInfo['type'];

const USER_FIELDS: Array<[string, T, string?]> = [
  ['id', 'string', 'Okta user id (immutable; idsync links users on it)'],
  ['status', 'string', 'ACTIVE, PASSWORD_EXPIRED, LOCKED_OUT, RECOVERY, PROVISIONED, STAGED or SUSPENDED (DEPROVISIONED users count as deleted)'],
  ['active', 'boolean', 'true unless the user is SUSPENDED or STAGED (not yet activated): map it to user.active'],
  ['created', 'datetime'],
  ['activated', 'datetime'],
  ['statusChanged', 'datetime'],
  ['lastLogin', 'datetime'],
  ['lastUpdated', 'datetime'],
  ['passwordChanged', 'datetime'],
  ['type.id', 'string', 'The user type id'],
];

const BASE_PROFILE: Array<[string, T, string?]> = [
  ['login', 'string', 'Okta username (usually an e-mail address)'],
  ['email', 'string', 'Primary e-mail'],
  ['secondEmail', 'string'],
  ['firstName', 'string'],
  ['lastName', 'string'],
  ['middleName', 'string'],
  ['honorificPrefix', 'string'],
  ['honorificSuffix', 'string'],
  ['displayName', 'string'],
  ['nickName', 'string'],
  ['title', 'string'],
  ['department', 'string'],
  ['division', 'string'],
  ['organization', 'string'],
  ['costCenter', 'string'],
  ['employeeNumber', 'string'],
  ['userType', 'string'],
  ['profileUrl', 'string'],
  ['mobilePhone', 'string'],
  ['primaryPhone', 'string'],
  ['streetAddress', 'string'],
  ['city', 'string'],
  ['state', 'string'],
  ['zipCode', 'string'],
  ['countryCode', 'string'],
  ['postalAddress', 'string'],
  ['preferredLanguage', 'string'],
  ['locale', 'string'],
  ['timezone', 'string'],
];

/** Base profile names: everything else in a profile is a custom attribute. */
export const BASE_PROFILE_NAMES = new Set([...BASE_PROFILE.map(([n]) => n), 'managerId', 'manager']);

/** Always kept on a user, whatever the mapping asks: identity, matching keys and the enabled flag. */
export const ALWAYS_KEPT = ['id', 'status', 'active', 'login', 'email', 'displayName', 'firstName', 'lastName'];

const entry = ([path, type, description]: [string, T, string?]): AttributeInfo => (description ? { path, type, description } : { path, type });

export const STATIC_ATTRIBUTES: AttributeInfo[] = [
  ...USER_FIELDS.map(entry),
  ...BASE_PROFILE.map(entry),
  { path: 'manager.id', type: 'string', description: "The manager's Okta id" },
  { path: 'manager.login', type: 'string' },
  { path: 'manager.email', type: 'string' },
  { path: 'manager.displayName', type: 'string' },
  { path: 'manager.targetUsername', type: 'string', description: "The manager's username in the target being written" },
  { path: 'groups', type: 'string[]', description: 'Names of the Okta groups the user belongs to (the types chosen in Group types)' },
];

/** A schema property's JSON-schema type as a catalogue type. */
export function typeOf(p: { type?: unknown; items?: { type?: unknown } }): T {
  switch (p.type) {
    case 'boolean':
      return 'boolean';
    case 'integer':
    case 'number':
      return 'number';
    case 'array':
      return 'string[]';
    case 'object':
      return 'object';
    default:
      return 'string';
  }
}

/** A value's catalogue type, for custom attributes discovered on users. */
export function typeOfValue(v: unknown): T {
  if (Array.isArray(v)) return 'string[]';
  if (typeof v === 'boolean') return 'boolean';
  if (typeof v === 'number') return 'number';
  if (v && typeof v === 'object') return 'object';
  return 'string';
}
