// LDAP directories as a source: Active Directory and OpenLDAP (and others through the
// settings), read with ldapts: paged searches, the manager as a DN, nested groups, incremental
// reads by uSNChanged / entryCSN. See README.md in this folder.
import type { SourceDefinition } from '../registry.ts';
import { ldapConfigSchema, type LdapConfig } from './config.ts';
import { LdapSource } from './connector.ts';

export { LdapSource } from './connector.ts';
export { ldapConfigSchema, type LdapConfig } from './config.ts';

export const definition: SourceDefinition<LdapConfig> = {
  type: 'ldap',
  label: 'LDAP / Active Directory',
  configSchema: ldapConfigSchema,
  // The CA is public (a certificate), not a secret: inline PEM or a reference.
  secretFields: ['bindPassword'],
  // The attributes depend on the directory: the schema is read by attributes() (catalogue.ts).
  knownAttributes: [
    { path: 'dn', type: 'string', description: "The entry's distinguished name" },
    { path: 'accountEnabled', type: 'boolean', description: 'false when the account is disabled; map it to user.active' },
    { path: 'mail', type: 'string' },
    { path: 'displayName', type: 'string' },
    { path: 'cn', type: 'string' },
    { path: 'uid', type: 'string', description: 'OpenLDAP username' },
    { path: 'sAMAccountName', type: 'string', description: 'Active Directory username' },
    { path: 'userPrincipalName', type: 'string', description: 'Active Directory sign-in name' },
    { path: 'givenName', type: 'string' },
    { path: 'sn', type: 'string' },
    { path: 'title', type: 'string' },
    { path: 'department', type: 'string' },
    { path: 'manager.dn', type: 'string', description: "The manager's DN" },
    { path: 'manager.targetUsername', type: 'string', description: "The manager's username in the target being written" },
    { path: 'groups', type: 'string[]', description: 'Names (cn) of the groups the user is a member of' },
  ],
  changeFeed: true,
  create: (config, ctx) => new LdapSource(config, ctx),
};
