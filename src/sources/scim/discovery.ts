// The discovery resources (RFC 7644 §4): ServiceProviderConfig, ResourceTypes and Schemas, as
// this endpoint supports them. Attribute definitions are kept short: name, type, multiValued,
// and the few characteristics clients act on (uniqueness, mutability, returned).
import { ENTERPRISE_SCHEMA, GROUP_SCHEMA, LIST_SCHEMA, USER_SCHEMA } from './model.ts';
import type { ScimJson } from './repo.ts';

export const MAX_RESULTS = 1000;

export function serviceProviderConfig(base: string): ScimJson {
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
    patch: { supported: true },
    bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: true, maxResults: MAX_RESULTS },
    changePassword: { supported: false },
    sort: { supported: false },
    etag: { supported: true },
    authenticationSchemes: [{ type: 'oauthbearertoken', name: 'Bearer token', description: 'A long-lived token created for this connector in idsync (shown once)', primary: true }],
    meta: { resourceType: 'ServiceProviderConfig', location: `${base}/ServiceProviderConfig` },
  };
}

export function resourceTypes(base: string): ScimJson[] {
  return [
    { schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'], id: 'User', name: 'User', endpoint: '/Users', schema: USER_SCHEMA, schemaExtensions: [{ schema: ENTERPRISE_SCHEMA, required: false }], meta: { resourceType: 'ResourceType', location: `${base}/ResourceTypes/User` } },
    { schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'], id: 'Group', name: 'Group', endpoint: '/Groups', schema: GROUP_SCHEMA, meta: { resourceType: 'ResourceType', location: `${base}/ResourceTypes/Group` } },
  ];
}

type Attr = ScimJson;
const str = (name: string, extra: Attr = {}): Attr => ({ name, type: 'string', multiValued: false, required: false, caseExact: false, mutability: 'readWrite', returned: 'default', uniqueness: 'none', ...extra });
const multi = (name: string, subs: Attr[]): Attr => ({ name, type: 'complex', multiValued: true, required: false, mutability: 'readWrite', returned: 'default', subAttributes: subs });
const valueSubs = [str('value'), str('display'), str('type'), { name: 'primary', type: 'boolean', multiValued: false, required: false, mutability: 'readWrite', returned: 'default' }];

export function schemas(base: string): ScimJson[] {
  const user = {
    id: USER_SCHEMA, name: 'User', description: 'User Account',
    attributes: [
      str('userName', { required: true, uniqueness: 'server' }),
      { name: 'name', type: 'complex', multiValued: false, required: false, mutability: 'readWrite', returned: 'default', subAttributes: ['formatted', 'familyName', 'givenName', 'middleName', 'honorificPrefix', 'honorificSuffix'].map((n) => str(n)) },
      ...['displayName', 'nickName', 'profileUrl', 'title', 'userType', 'preferredLanguage', 'locale', 'timezone', 'externalId'].map((n) => str(n)),
      { name: 'active', type: 'boolean', multiValued: false, required: false, mutability: 'readWrite', returned: 'default' },
      multi('emails', valueSubs), multi('phoneNumbers', valueSubs), multi('ims', valueSubs), multi('photos', valueSubs),
      multi('addresses', ['formatted', 'streetAddress', 'locality', 'region', 'postalCode', 'country', 'type'].map((n) => str(n))),
      { ...multi('groups', [str('value'), str('display'), str('$ref')]), mutability: 'readOnly' },
      multi('entitlements', valueSubs), multi('roles', valueSubs),
    ],
  };
  const enterprise = {
    id: ENTERPRISE_SCHEMA, name: 'EnterpriseUser', description: 'Enterprise User',
    attributes: [
      ...['employeeNumber', 'costCenter', 'organization', 'division', 'department'].map((n) => str(n)),
      { name: 'manager', type: 'complex', multiValued: false, required: false, mutability: 'readWrite', returned: 'default', subAttributes: [str('value'), str('$ref'), str('displayName', { mutability: 'readOnly' })] },
    ],
  };
  const group = {
    id: GROUP_SCHEMA, name: 'Group', description: 'Group',
    attributes: [str('displayName', { required: true, uniqueness: 'server' }), str('externalId'), multi('members', [str('value', { mutability: 'immutable' }), str('display'), str('$ref'), str('type')])],
  };
  return [user, enterprise, group].map((s) => ({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:Schema'], ...s, meta: { resourceType: 'Schema', location: `${base}/Schemas/${s.id}` } }));
}

export function listOf(resources: ScimJson[], total = resources.length, startIndex = 1): ScimJson {
  return { schemas: [LIST_SCHEMA], totalResults: total, startIndex, itemsPerPage: resources.length, Resources: resources };
}
