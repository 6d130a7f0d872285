// The mapping a new connector starts with, per source type: the attribute names differ by
// provider (Entra's userPrincipalName is Okta's login, Google's primaryEmail, Keycloak's
// username…), so the admin UI pre-fills the ones of the source type picked instead of Entra's for
// all. One table for the built-in sources; a plugin's SourceDefinition may bring its own.
import type { MappingRule } from '../core/types.ts';
import type { SourceDefinition } from './registry.ts';

/** target field -> source expression, for the three fields every target needs. */
type Defaults = Array<[MappingRule['target'], string]>;

const BUILT_IN: Record<string, Defaults> = {
  entra: [['user.username', 'userPrincipalName'], ['user.displayName', 'displayName'], ['user.email', 'mail']],
  okta: [['user.username', 'login'], ['user.displayName', 'displayName'], ['user.email', 'email']],
  google: [['user.username', 'primaryEmail'], ['user.displayName', 'fullName'], ['user.email', 'primaryEmail']],
  keycloak: [['user.username', 'username'], ['user.displayName', '$join([firstName, lastName], " ")'], ['user.email', 'email']],
  // OpenLDAP's login; Active Directory's is sAMAccountName (the mapping editor offers both).
  ldap: [['user.username', 'uid'], ['user.displayName', 'displayName'], ['user.email', 'mail']],
  scim: [['user.username', 'userName'], ['user.displayName', 'displayName'], ['user.email', 'mail']],
};

/** The rules a new connector of this source type starts with (empty for a type without defaults). */
export function defaultMappingOf(def: Pick<SourceDefinition, 'type' | 'defaultMapping'>): MappingRule[] {
  if (def.defaultMapping) return def.defaultMapping;
  return (BUILT_IN[def.type] ?? []).map(([target, source]) => ({ target, source, flow: 'always', whenEmpty: 'keep' }));
}
