// Settings of a Keycloak source: a confidential client with the client-credentials grant whose
// service account has the realm-management role view-users. The secret is a reference.
import { z } from 'zod';
import { sourceBaseSchema } from '../../config/schema.ts';
import { secretRefSchema } from '../../config/secrets.ts';

export const keycloakConfigSchema = sourceBaseSchema
  .extend({
    type: z.literal('keycloak'),
    url: z.url().meta({ title: 'Keycloak URL', description: 'e.g. https://sso.example.com (add /auth for Keycloak 16 and older)' }),
    realm: z.string().min(1, 'realm is required').meta({ title: 'Realm', description: 'The realm whose users are synced (not master, unless they live there)' }),
    clientId: z.string().min(1, 'clientId is required').meta({ title: 'Client ID', description: 'A confidential client with Client authentication on and Service accounts roles enabled' }),
    clientSecret: secretRefSchema.meta({ title: 'Client secret', description: "The client's Credentials tab; its service account needs the realm-management role view-users" }),
    /** Keycloak's `search` (prefix of username, e-mail, first or last name) narrowing the listing. */
    search: z.string().min(1).optional().meta({ title: 'Search', description: 'Only users whose username, e-mail, first or last name starts with this (Keycloak search)' }),
    /** Keycloak's `q`: custom attributes, `key:value key2:value2`. */
    attributeQuery: z.string().regex(/^\S+:\S+( \S+:\S+)*$/, 'write key:value pairs separated by spaces').optional().meta({ title: 'Attribute query', description: 'Only users with these attribute values, e.g. department:Engineering' }),
    manager: z
      .object({ attribute: z.string().min(1).default('manager'), refersTo: z.enum(['username', 'email', 'id']).default('username') })
      .strict()
      .default({ attribute: 'manager', refersTo: 'username' })
      .meta({ title: 'Manager', description: "The user attribute naming the manager, and what it holds: the manager's username, e-mail or Keycloak id" }),
    /** How `groups` names a group: its name, or its full path (/parent/child). */
    groupNames: z.enum(['name', 'path']).default('name').meta({ title: 'Group names', description: 'name: the group name; path: the full path of a sub-group, e.g. /engineering/frontend' }),
    pageSize: z.number().int().min(1).max(1000).default(100),
    /** How a listing reads group memberships (see src/sources/keycloak/memberships.ts); auto takes the one needing fewer requests. */
    membershipStrategy: z.enum(['auto', 'perUser', 'perGroup']).default('auto').meta({ title: 'Group membership reads', description: 'perUser: /users/{id}/groups for every user; perGroup: every group\'s member list; auto: whichever needs fewer requests' }),
  })
  .strict();

export type KeycloakConfig = z.output<typeof keycloakConfigSchema>;
