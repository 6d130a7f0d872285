// The SCIM resource model (RFC 7643): what idsync keeps of a pushed User or Group, how a
// request body becomes that (with the idioms of Entra ID and Okta accepted: `active` as the
// string "False", the manager as a bare id), how it is answered, and how a User becomes the
// SourceUser that the mapping reads.
import type { SourceUser } from '../../core/types.ts';
import type { ScimJson, StoredResource } from './repo.ts';

export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const ENTERPRISE_SCHEMA = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';
export const LIST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const PATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

export type ScimType = 'uniqueness' | 'invalidFilter' | 'invalidValue' | 'invalidSyntax' | 'noTarget' | 'mutability' | 'tooMany' | 'invalidPath' | 'invalidVers';

/** A refusal answered as a SCIM error body (RFC 7644 §3.12). */
export class ScimError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly scimType?: ScimType,
  ) {
    super(message);
  }
}

export function errorBody(status: number, detail: string, scimType?: ScimType): ScimJson {
  return { schemas: [ERROR_SCHEMA], status: String(status), ...(scimType ? { scimType } : {}), detail };
}

/** Core User attributes that hold several values (RFC 7643 §4.1.2). */
export const MULTI_VALUED = new Set(['emails', 'phonenumbers', 'ims', 'photos', 'addresses', 'entitlements', 'roles', 'x509certificates', 'members', 'groups']);

/** Attributes a client never sets: idsync's own (id, meta) and the computed groups of a user. */
const READ_ONLY = new Set(['id', 'meta', 'groups']);

/** The canonical spelling of the core attribute names (SCIM names are case-insensitive). */
const CANONICAL = new Map(
  ['userName', 'name', 'displayName', 'nickName', 'profileUrl', 'title', 'userType', 'preferredLanguage', 'locale', 'timezone', 'active', 'password', 'emails', 'phoneNumbers', 'ims', 'photos', 'addresses', 'entitlements', 'roles', 'x509Certificates', 'externalId', 'members', 'schemas', 'formatted', 'familyName', 'givenName', 'middleName', 'honorificPrefix', 'honorificSuffix', 'value', 'display', 'type', 'primary', 'employeeNumber', 'costCenter', 'organization', 'division', 'department', 'manager', 'streetAddress', 'locality', 'region', 'postalCode', 'country']
    .map((n) => [n.toLowerCase(), n]),
);

export function canonicalName(name: string): string {
  return name.startsWith('urn:') ? name : (CANONICAL.get(name.toLowerCase()) ?? name);
}

/** The key of `obj` that is `name` ignoring case, or undefined. */
export function keyOf(obj: ScimJson, name: string): string | undefined {
  if (Object.hasOwn(obj, name)) return name;
  const lc = name.toLowerCase();
  return Object.keys(obj).find((k) => k.toLowerCase() === lc);
}

function isObject(v: unknown): v is ScimJson {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Turns a request body's attributes into the stored form: names in their canonical case, the
 * read-only ones dropped, URN-qualified attributes ("urn:…:User:department") moved into their
 * extension object, and the values Entra sends loosely made strict (active "False" → false,
 * manager "id" → {value: "id"}). Throws a ScimError naming the attribute when a value is wrong.
 */
export function normaliseAttributes(body: ScimJson, type: 'User' | 'Group'): ScimJson {
  const out: ScimJson = {};
  for (const [rawKey, value] of Object.entries(body)) {
    const key = canonicalName(rawKey);
    // A password (Okta may send one) is never kept: idsync writes no passwords.
    // `schemas` is computed from the attributes when answering (a client may list others, e.g. Entra's ADSCIM Group URN).
    if (READ_ONLY.has(key.toLowerCase()) || key === 'password' || key === 'schemas') continue;
    if (key.startsWith('urn:')) {
      const { schema, attr } = splitUrn(key);
      if (schema.toLowerCase() === USER_SCHEMA.toLowerCase() || schema.toLowerCase() === GROUP_SCHEMA.toLowerCase()) {
        if (attr) Object.assign(out, normaliseAttributes({ [attr]: value }, type));
        else if (isObject(value)) Object.assign(out, normaliseAttributes(value, type));
        continue;
      }
      const ext = (out[schema] ??= {}) as ScimJson;
      if (attr) ext[canonicalName(attr)] = value;
      else if (isObject(value)) for (const [k, v] of Object.entries(value)) ext[canonicalName(k)] = v;
      else throw new ScimError(400, `"${rawKey}" must be an object of the extension's attributes`, 'invalidValue');
      continue;
    }
    out[key] = isObject(value) ? canonicalKeys(value) : Array.isArray(value) ? value.map((v) => (isObject(v) ? canonicalKeys(v) : v)) : value;
  }
  return strictValues(out, type);
}

/** Splits "urn:…:User:department" into the schema and the attribute; a bare schema URN has none. */
export function splitUrn(name: string): { schema: string; attr?: string } {
  for (const known of [ENTERPRISE_SCHEMA, USER_SCHEMA, GROUP_SCHEMA]) {
    if (name.toLowerCase() === known.toLowerCase()) return { schema: known };
    if (name.toLowerCase().startsWith(`${known.toLowerCase()}:`)) return { schema: known, attr: name.slice(known.length + 1) };
  }
  // A provider's own extension: by convention its URN ends with the resource type ("…:2.0:User").
  const m = /^(urn:.*:(?:User|Group))(?::(.+))?$/i.exec(name);
  if (m) return { schema: m[1]!, ...(m[2] ? { attr: m[2] } : {}) };
  const i = name.lastIndexOf(':');
  return { schema: name.slice(0, i), attr: name.slice(i + 1) };
}

function canonicalKeys(obj: ScimJson): ScimJson {
  return Object.fromEntries(Object.entries(obj).map(([k, v]) => [canonicalName(k), v]));
}

/** Coerces the loose forms providers send, and refuses what cannot be meant. */
export function strictValues(res: ScimJson, type: 'User' | 'Group'): ScimJson {
  if (type === 'User') {
    if ('active' in res) res.active = booleanOf(res.active, 'active');
    // Entra's SDK example patches a bare `manager` path (no URN): it is the enterprise manager.
    if ('manager' in res) {
      const ext = (isObject(res[ENTERPRISE_SCHEMA]) ? res[ENTERPRISE_SCHEMA] : (res[ENTERPRISE_SCHEMA] = {})) as ScimJson;
      ext.manager = res.manager;
      delete res.manager;
    }
    const ent = res[ENTERPRISE_SCHEMA];
    if (isObject(ent) && 'manager' in ent) {
      // A one-element list ([{"$ref", "value"}], as in Entra's "update manager" example) is that element.
      const m = Array.isArray(ent.manager) && ent.manager.length <= 1 ? (ent.manager[0] ?? null) : ent.manager;
      // Entra sends the manager as the bare id of the manager's SCIM resource; "" or null clears it.
      if (m === null || m === '' || (isObject(m) && (m.value === null || m.value === ''))) delete ent.manager;
      else if (typeof m === 'string') ent.manager = { value: m };
      else if (isObject(m) && typeof m.value === 'string') ent.manager = canonicalKeys(m);
      else throw new ScimError(400, 'manager must be the id of the manager\'s User (a string) or {"value": id}', 'invalidValue');
    }
  }
  for (const [k, v] of Object.entries(res)) {
    if (MULTI_VALUED.has(k.toLowerCase()) && v !== null && !Array.isArray(v)) throw new ScimError(400, `${k} must be an array (it is multi-valued)`, 'invalidValue');
    if (Array.isArray(v)) for (const item of v) if (isObject(item) && 'primary' in item) item.primary = booleanOf(item.primary, `${k}.primary`);
  }
  return res;
}

function booleanOf(v: unknown, what: string): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string' && /^(true|false)$/i.test(v)) return v.toLowerCase() === 'true';
  throw new ScimError(400, `${what} must be true or false (got ${JSON.stringify(v)})`, 'invalidValue');
}

/** The userName of a User body (required), or the displayName of a Group (required). */
export function nameOf(res: ScimJson, type: 'User' | 'Group'): string {
  const attr = type === 'User' ? 'userName' : 'displayName';
  const v = res[attr];
  if (typeof v !== 'string' || v.trim() === '') throw new ScimError(400, `${attr} is required and must be a non-empty string`, 'invalidValue');
  if (v.length > 512) throw new ScimError(400, `${attr} is longer than 512 characters`, 'invalidValue');
  return v;
}

export function externalIdOf(res: ScimJson): string | null {
  const v = res.externalId;
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw new ScimError(400, 'externalId must be a string', 'invalidValue');
  return v;
}

export function schemasOf(res: ScimJson, type: 'User' | 'Group'): string[] {
  const base = type === 'User' ? USER_SCHEMA : GROUP_SCHEMA;
  return [base, ...Object.keys(res).filter((k) => k.startsWith('urn:'))];
}

export function etagOf(version: number): string {
  return `W/"${version}"`;
}

/** The resource as answered: stored attributes, id, schemas and meta (and members or groups). */
export function present(r: StoredResource, baseUrl: string, extra: ScimJson = {}): ScimJson {
  const res = r.resource ?? {};
  const type = r.type;
  return {
    schemas: schemasOf(res, type),
    id: r.id,
    ...res,
    ...extra,
    meta: { resourceType: type, created: r.createdAt, lastModified: r.updatedAt, version: etagOf(r.version), location: `${baseUrl}/${type}s/${r.id}` },
  };
}

/** A provider extension's URN as a mapping path segment (`urn:…:CustomExt:2.0:User` → `urn_..._CustomExt_2_0_User`). */
export function extensionKey(urn: string): string {
  return urn.replace(/[^A-Za-z0-9_]/g, '_');
}

/**
 * The user as the mapping reads it: the SCIM attributes under their names (`userName`,
 * `name.givenName`, `emails`, `active`), the enterprise ones under `enterprise.*`, a provider's
 * extension under `ext.<its URN with _ for : and .>.*`, and `mail` (the primary, else work,
 * else first e-mail address) and `userPrincipalName` (= userName) for labels and pickers.
 */
export function sourceUserOf(r: StoredResource, groups: string[] | undefined): SourceUser {
  const res = r.resource ?? {};
  const attrs: Record<string, unknown> = {};
  const ext: Record<string, unknown> = {};
  let manager: SourceUser['manager'] = null;
  for (const [k, v] of Object.entries(res)) {
    if (k === ENTERPRISE_SCHEMA && isObject(v)) {
      const { manager: m, ...rest } = v;
      attrs.enterprise = rest;
      if (isObject(m) && typeof m.value === 'string') manager = { id: m.value };
    } else if (k.startsWith('urn:')) ext[extensionKey(k)] = v;
    else if (k !== 'password' && k !== 'schemas') attrs[k] = v;
  }
  if (Object.keys(ext).length > 0) attrs.ext = ext;
  attrs.active = res.active !== false;
  attrs.userPrincipalName = res.userName;
  const mail = emailOf(res.emails);
  if (mail) attrs.mail = mail;
  return { id: r.id, attrs, groups: groups ?? [], manager };
}

function emailOf(emails: unknown): string | undefined {
  if (!Array.isArray(emails)) return undefined;
  const list = emails.filter((e): e is ScimJson => isObject(e) && typeof e.value === 'string');
  const pick = list.find((e) => e.primary === true) ?? list.find((e) => String(e.type).toLowerCase() === 'work') ?? list[0];
  return pick?.value as string | undefined;
}
