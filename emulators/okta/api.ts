// The Okta management API routes the emulator serves: users (list with limit / after cursor,
// q, filter, search; one by id or login), groups and memberships both ways, and the default
// user schema. Lists answer with Okta's separate `Link` headers (rel="self", rel="next").
import type { EmulatorRequest, EmulatorResponse } from '../common/server.ts';
import type { OktaDirectory, OktaGroup, OktaUser } from './directory.ts';
import { E, oktaError } from './errors.ts';
import { assertFilterable, assertSearchable, ExpressionError, matches, parseExpression } from './expressions.ts';

export const USERS_MAX_LIMIT = 200;
const Q_DEFAULT_LIMIT = 10;
export const GROUPS_MAX_LIMIT = 10_000;
export const GROUP_USERS_MAX_LIMIT = 1_000;

const USER_TOP_LEVEL = new Set(['id', 'status', 'created', 'activated', 'statusChanged', 'lastLogin', 'lastUpdated', 'passwordChanged', 'type.id']);

/** A user as Okta serialises it. */
export function userJson(u: OktaUser, origin: string): Record<string, unknown> {
  return {
    id: u.id,
    status: u.status,
    created: u.created,
    activated: u.activated,
    statusChanged: u.statusChanged,
    lastLogin: u.lastLogin,
    lastUpdated: u.lastUpdated,
    passwordChanged: u.passwordChanged,
    type: u.type,
    profile: { ...u.profile },
    credentials: { provider: { type: 'OKTA', name: 'OKTA' } },
    _links: { self: { href: `${origin}/api/v1/users/${u.id}` } },
  };
}

export function groupJson(g: OktaGroup, origin: string): Record<string, unknown> {
  const { members: _members, ...rest } = g;
  return { ...rest, profile: { ...g.profile }, _links: { self: { href: `${origin}/api/v1/groups/${g.id}` }, users: { href: `${origin}/api/v1/groups/${g.id}/users` } } };
}

/** limit: Okta caps it at the endpoint's maximum; anything not a positive integer is refused. */
function limitOf(req: EmulatorRequest, fallback: number, max: number): number | EmulatorResponse {
  const raw = req.query.get('limit');
  if (raw === null) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < 1) return oktaError(400, 'E0000001', 'Api validation failed: limit', [`limit: ${raw} is not a positive integer`]);
  return Math.min(Number(raw), max);
}

/** One page after the `after` cursor (the last id of the previous page), with Okta's Link headers. */
function page<T extends { id: string }>(req: EmulatorRequest, all: T[], limit: number, render: (t: T) => unknown): EmulatorResponse {
  const after = req.query.get('after');
  const start = after ? all.findIndex((x) => x.id > after) : 0;
  const slice = start < 0 ? [] : all.slice(start, start + limit);
  const self = new URL(req.path, req.origin);
  for (const [k, v] of req.query) self.searchParams.append(k, v);
  const links = [`<${self.toString()}>; rel="self"`];
  const last = slice.at(-1);
  if (last && start + limit < all.length) {
    const next = new URL(self);
    next.searchParams.set('after', last.id);
    next.searchParams.set('limit', String(limit));
    links.push(`<${next.toString()}>; rel="next"`);
  }
  // Okta sends each link as a header of its own; node writes an array as repeated headers.
  return { status: 200, headers: { link: links as unknown as string }, body: slice.map(render) };
}

/**
 * How every list route answers: the limit checked first, then `select` (which may refuse the
 * request with an answer of its own; an expression Okta cannot evaluate is its E0000031), then
 * one page of what was selected.
 */
function listAnswer<T extends { id: string }>(
  req: EmulatorRequest,
  limits: { fallback: number; max: number },
  select: () => T[] | EmulatorResponse,
  render: (t: T) => unknown,
): EmulatorResponse {
  const limit = limitOf(req, limits.fallback, limits.max);
  if (typeof limit !== 'number') return limit;
  let selected: T[] | EmulatorResponse;
  try {
    selected = select();
  } catch (err) {
    if (err instanceof ExpressionError) return E.invalidSearch(err.message);
    throw err;
  }
  return Array.isArray(selected) ? page(req, selected, limit, render) : selected;
}

/** The items a `search` expression keeps; `searchable` says which attributes it may name. */
function searched<T>(items: T[], search: string, searchable: (attribute: string) => boolean): T[] {
  const e = parseExpression(search);
  assertSearchable(e, searchable);
  return items.filter((x) => matches(e, x as unknown as Record<string, unknown>));
}

export function listUsers(dir: OktaDirectory) {
  return (req: EmulatorRequest): EmulatorResponse => {
    const q = req.query.get('q');
    const filter = req.query.get('filter');
    const search = req.query.get('search');
    if ([q, filter, search].filter((x) => x !== null).length > 1) return E.invalidSearch('use only one of q, filter and search');
    if (req.query.get('sortBy') !== null && search === null) return E.invalidSearch('sortBy needs the search parameter');
    if (req.query.get('sortBy') !== null) return E.invalidSearch('sortBy is not supported by this emulator');
    const select = (): OktaUser[] => {
      const users = dir.sortedUsers();
      if (q !== null) {
        // q: a prefix of firstName, lastName or email; never DEPROVISIONED users.
        const p = q.toLowerCase();
        return users.filter((u) => u.status !== 'DEPROVISIONED' && ['firstName', 'lastName', 'email'].some((k) => String(u.profile[k] ?? '').toLowerCase().startsWith(p)));
      }
      if (filter !== null) {
        const e = parseExpression(filter);
        assertFilterable(e);
        return users.filter((u) => matches(e, u as unknown as Record<string, unknown>));
      }
      if (search !== null) return searched(users, search, (a) => USER_TOP_LEVEL.has(a) || a.startsWith('profile.'));
      // A plain list returns every user that is not DEPROVISIONED.
      return users.filter((u) => u.status !== 'DEPROVISIONED');
    };
    return listAnswer(req, { fallback: q !== null ? Q_DEFAULT_LIMIT : USERS_MAX_LIMIT, max: USERS_MAX_LIMIT }, select, (u) => userJson(u, req.origin));
  };
}

export function getUser(dir: OktaDirectory) {
  return (req: EmulatorRequest): EmulatorResponse => {
    const u = dir.find(req.params.id!);
    return u ? { status: 200, body: userJson(u, req.origin) } : E.notFound(req.params.id!);
  };
}

export function userGroups(dir: OktaDirectory) {
  return (req: EmulatorRequest): EmulatorResponse => {
    const u = dir.find(req.params.id!);
    if (!u) return E.notFound(req.params.id!);
    return listAnswer(req, { fallback: GROUPS_MAX_LIMIT, max: GROUPS_MAX_LIMIT }, () => dir.groupsOf(u.id), (g) => groupJson(g, req.origin));
  };
}

const GROUP_SEARCHABLE = new Set(['id', 'type', 'created', 'lastUpdated', 'lastMembershipUpdated']);

export function listGroups(dir: OktaDirectory) {
  return (req: EmulatorRequest): EmulatorResponse => {
    const select = (): OktaGroup[] | EmulatorResponse => {
      let groups = dir.sortedGroups();
      const q = req.query.get('q');
      const search = req.query.get('search');
      if (q !== null && search !== null) return E.invalidSearch('use only one of q and search');
      if (req.query.get('filter') !== null) return E.invalidSearch('this emulator supports q and search on groups, not filter');
      if (q !== null) groups = groups.filter((g) => g.profile.name.toLowerCase().startsWith(q.toLowerCase()));
      if (search !== null) groups = searched(groups, search, (a) => GROUP_SEARCHABLE.has(a) || a.startsWith('profile.'));
      return groups;
    };
    return listAnswer(req, { fallback: GROUPS_MAX_LIMIT, max: GROUPS_MAX_LIMIT }, select, (g) => groupJson(g, req.origin));
  };
}

export function getGroup(dir: OktaDirectory) {
  return (req: EmulatorRequest): EmulatorResponse => {
    const g = dir.groups.get(req.params.id!);
    return g ? { status: 200, body: groupJson(g, req.origin) } : oktaError(404, 'E0000007', `Not found: Resource not found: ${req.params.id} (UserGroup)`);
  };
}

export function groupUsers(dir: OktaDirectory) {
  return (req: EmulatorRequest): EmulatorResponse => {
    const g = dir.groups.get(req.params.id!);
    if (!g) return oktaError(404, 'E0000007', `Not found: Resource not found: ${req.params.id} (UserGroup)`);
    const members = () => g.members.map((id) => dir.users.get(id)).filter((u): u is OktaUser => !!u).sort((a, b) => (a.id < b.id ? -1 : 1));
    return listAnswer(req, { fallback: GROUP_USERS_MAX_LIMIT, max: GROUP_USERS_MAX_LIMIT }, members, (u) => userJson(u, req.origin));
  };
}

const BASE_PROPERTIES: Record<string, { title: string; type: string; format?: string; items?: { type: string } }> = {
  login: { title: 'Username', type: 'string' },
  firstName: { title: 'First name', type: 'string' },
  lastName: { title: 'Last name', type: 'string' },
  middleName: { title: 'Middle name', type: 'string' },
  honorificPrefix: { title: 'Honorific prefix', type: 'string' },
  honorificSuffix: { title: 'Honorific suffix', type: 'string' },
  email: { title: 'Primary email', type: 'string', format: 'email' },
  title: { title: 'Title', type: 'string' },
  displayName: { title: 'Display name', type: 'string' },
  nickName: { title: 'Nickname', type: 'string' },
  profileUrl: { title: 'Profile Url', type: 'string', format: 'uri' },
  secondEmail: { title: 'Secondary email', type: 'string', format: 'email' },
  mobilePhone: { title: 'Mobile phone', type: 'string' },
  primaryPhone: { title: 'Primary phone', type: 'string' },
  streetAddress: { title: 'Street address', type: 'string' },
  city: { title: 'City', type: 'string' },
  state: { title: 'State', type: 'string' },
  zipCode: { title: 'Zip code', type: 'string' },
  countryCode: { title: 'Country code', type: 'string', format: 'country-code' },
  postalAddress: { title: 'Postal Address', type: 'string' },
  preferredLanguage: { title: 'Preferred language', type: 'string', format: 'language-code' },
  locale: { title: 'Locale', type: 'string', format: 'locale' },
  timezone: { title: 'Time zone', type: 'string', format: 'timezone' },
  userType: { title: 'User type', type: 'string' },
  employeeNumber: { title: 'Employee number', type: 'string' },
  costCenter: { title: 'Cost center', type: 'string' },
  organization: { title: 'Organization', type: 'string' },
  division: { title: 'Division', type: 'string' },
  department: { title: 'Department', type: 'string' },
  managerId: { title: 'ManagerId', type: 'string' },
  manager: { title: 'Manager', type: 'string' },
};

/** GET /api/v1/meta/schemas/user/default: base and custom profile attributes. */
export function userSchema(dir: OktaDirectory) {
  return (req: EmulatorRequest): EmulatorResponse => {
    const custom = Object.fromEntries(
      dir.custom.map((c) => [c.name, { title: c.title, type: c.type, ...(c.items ? { items: c.items } : {}), mutability: 'READ_WRITE', scope: 'NONE', permissions: [{ principal: 'SELF', action: 'READ_WRITE' }], master: { type: 'PROFILE_MASTER' } }]),
    );
    const base = Object.fromEntries(Object.entries(BASE_PROPERTIES).map(([k, v]) => [k, { ...v, mutability: 'READ_WRITE', scope: 'NONE', permissions: [{ principal: 'SELF', action: 'READ_WRITE' }], master: { type: 'PROFILE_MASTER' } }]));
    return {
      status: 200,
      body: {
        id: `${req.origin}/meta/schemas/user/oscdefaultuserschema`,
        $schema: 'http://json-schema.org/draft-04/schema#',
        name: 'user',
        title: 'User',
        description: 'Okta user profile template',
        lastUpdated: '2024-01-01T00:00:00.000Z',
        created: '2024-01-01T00:00:00.000Z',
        definitions: {
          custom: { id: '#custom', type: 'object', properties: custom, required: [] },
          base: { id: '#base', type: 'object', properties: base, required: ['login', 'firstName', 'lastName', 'email'] },
        },
        type: 'object',
        properties: { profile: { allOf: [{ $ref: '#/definitions/custom' }, { $ref: '#/definitions/base' }] } },
        _links: { self: { rel: 'self', href: `${req.origin}/api/v1/meta/schemas/user/default`, method: 'GET' } },
      },
    };
  };
}
