// Confluence Cloud REST v1 resources idsync uses, under /wiki/rest/api: users by account id,
// user search by CQL, user properties, groups by id and group lookup by name.
import type { EmulatorRequest, EmulatorResponse, Handler, Router } from '../common/server.ts';
import type { CloudAccount, ConfluenceCloudStore } from './store.ts';

const API = '/wiki/rest/api';
/** Property keys: the pattern the v1 spec declares for `{key}`. */
const KEY_PATTERN = /^[-_a-zA-Z0-9]+$/;
export const PROPERTY_KEY_MAX = 255;
/** Entity properties hold at most 32 KB of JSON (Confluence entity-property limit). */
export const PROPERTY_VALUE_MAX = 32_768;

/** Cloud's error body: `{"statusCode","data":{authorized,valid,errors:[{message:{translation,args}}],successful},"message"}`. */
export function cloudErrorBody(status: number, message: string): unknown {
  return {
    statusCode: status,
    data: { authorized: status !== 401 && status !== 403, valid: status !== 400, errors: [{ message: { translation: message, args: [] } }], successful: false },
    message,
  };
}

const err = (status: number, message: string): EmulatorResponse => ({ status, body: cloudErrorBody(status, message) });

/** Cloud rate-limit headers on a 429 (Retry-After is added by the common limiter). */
export function cloudRateLimitHeaders(retryAfterSeconds: number): Record<string, string> {
  return {
    'x-ratelimit-limit': '100',
    'x-ratelimit-remaining': '0',
    'x-ratelimit-reset': new Date(Date.now() + retryAfterSeconds * 1000).toISOString().slice(0, 16) + 'Z',
    'x-ratelimit-nearlimit': 'true',
  };
}

function userJson(req: EmulatorRequest, a: CloudAccount, forSearch = false): Record<string, unknown> {
  return {
    type: 'known',
    accountId: a.accountId,
    accountType: a.accountType,
    // Hidden by the owner's profile visibility: empty on /user, null in search results.
    email: a.emailVisible ? a.email : forSearch ? null : '',
    publicName: a.publicName,
    profilePicture: { path: `/wiki/aa-avatar/${a.accountId}`, width: 48, height: 48, isDefault: false },
    displayName: a.displayName,
    timeZone: a.timeZone,
    isExternalCollaborator: false,
    _expandable: { operations: '', personalSpace: '' },
    _links: { self: `${req.origin}${API}/user?accountId=${encodeURIComponent(a.accountId)}` },
  };
}

function groupJson(req: EmulatorRequest, g: { id: string; name: string }): Record<string, unknown> {
  return { type: 'group', name: g.name, id: g.id, _links: { self: `${req.origin}${API}/group/by-id?id=${g.id}` } };
}

function paging(req: EmulatorRequest, def: number, max: number): { start: number; limit: number } | EmulatorResponse {
  const start = Number(req.query.get('start') ?? 0);
  const limit = Number(req.query.get('limit') ?? def);
  if (!Number.isInteger(start) || start < 0 || !Number.isInteger(limit) || limit < 0) return err(400, 'start and limit must be non-negative integers');
  return { start, limit: Math.min(limit, max) };
}

function page(req: EmulatorRequest, all: unknown[], start: number, limit: number, extra: Record<string, unknown> = {}): EmulatorResponse {
  const results = all.slice(start, start + limit);
  const links: Record<string, string> = { base: `${req.origin}/wiki`, context: '/wiki', self: `${req.origin}${req.path}` };
  if (start + results.length < all.length) {
    const q = new URLSearchParams(req.query);
    q.set('start', String(start + results.length));
    q.set('limit', String(limit));
    links.next = `${req.path.slice('/wiki'.length)}?${q.toString()}`;
  }
  return { status: 200, body: { results, start, limit, size: results.length, ...extra, _links: links } };
}

/** The user-search CQL subset Confluence documents: type=user, user=, user.accountid=, user IN (...), user.fullname~. */
function matchCql(cql: string, store: ConfluenceCloudStore): CloudAccount[] | string {
  const all = () => store.sortedIds().map((id) => store.get(id)!);
  const q = cql.trim();
  if (/^type\s*=\s*"?user"?$/i.test(q)) return all();
  let m = /^user(?:\.accountid)?\s*=\s*"([^"]*)"$/i.exec(q);
  if (m) return all().filter((a) => a.accountId === m![1]);
  m = /^user\s+in\s*\(([^)]*)\)$/i.exec(q);
  if (m) {
    const ids = new Set([...m[1]!.matchAll(/"([^"]*)"/g)].map((x) => x[1]));
    return all().filter((a) => ids.has(a.accountId));
  }
  m = /^user\.fullname\s*~\s*"?([^"]*)"?$/i.exec(q);
  if (m) {
    const needle = m[1]!.toLowerCase();
    return all().filter((a) => a.displayName.toLowerCase().split(/\s+/).some((w) => w.startsWith(needle)) || a.displayName.toLowerCase().startsWith(needle));
  }
  return `Could not parse cql : ${cql}`;
}

export function registerCloudRoutes(router: Router, store: ConfluenceCloudStore): void {
  const caller = (req: EmulatorRequest): CloudAccount | undefined => {
    const h = String(req.headers.authorization ?? '');
    if (!h.startsWith('Basic ')) return undefined;
    const decoded = Buffer.from(h.slice(6), 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    const a = store.getByEmail(decoded.slice(0, i));
    return a && a.active && a.apiTokens.includes(decoded.slice(i + 1)) ? a : undefined;
  };
  const authed =
    (handler: (req: EmulatorRequest, me: CloudAccount) => EmulatorResponse, siteAdmin = false): Handler =>
    (req) => {
      const me = caller(req);
      if (!me) return err(401, 'Authentication failed: use Basic auth with your Atlassian account email and an API token');
      if (siteAdmin && !me.siteAdmin) return err(403, 'User must be a site admin');
      return handler(req, me);
    };
  const account = (id: string | null): CloudAccount | EmulatorResponse => {
    if (!id) return err(400, 'accountId is required');
    return store.get(id) ?? err(404, `No user with accountId ${id}`);
  };
  const isErr = (x: unknown): x is EmulatorResponse => typeof (x as EmulatorResponse).status === 'number';

  router
    .on('GET', `${API}/user/current`, authed((req, me) => ({ status: 200, body: userJson(req, me) })))
    .on(
      'GET',
      `${API}/user`,
      authed((req) => {
        const a = account(req.query.get('accountId'));
        return isErr(a) ? a : { status: 200, body: userJson(req, a) };
      }),
    )
    .on(
      'GET',
      `${API}/search/user`,
      authed((req) => {
        const cql = req.query.get('cql');
        if (!cql) return err(400, 'cql is required');
        const found = matchCql(cql, store);
        if (typeof found === 'string') return err(400, found);
        const p = paging(req, 25, 1000);
        if ('status' in p) return p;
        const results = found.map((a) => ({ user: userJson(req, a, true), title: a.displayName, excerpt: '', url: `/people/${a.accountId}`, entityType: 'user', score: 0 }));
        return page(req, results, p.start, p.limit, { totalSize: found.length, cqlQuery: cql, searchDuration: 3 });
      }),
    )
    .on(
      'GET',
      `${API}/user/memberof`,
      authed((req) => {
        const a = account(req.query.get('accountId'));
        if (isErr(a)) return a;
        const p = paging(req, 200, 200);
        if ('status' in p) return p;
        return page(req, store.groupsOf(a.accountId).map((g) => groupJson(req, g)), p.start, p.limit);
      }),
    )
    // ---------------------------------------------------------------- user properties
    .on(
      'GET',
      `${API}/user/:accountId/property`,
      authed((req) => {
        const a = account(req.params.accountId!);
        if (isErr(a)) return a;
        const p = paging(req, 5, 25);
        if ('status' in p) return p;
        return page(req, store.propertyKeys(a.accountId).map((key) => ({ key })), p.start, p.limit);
      }),
    )
    .on('GET', `${API}/user/:accountId/property/:key`, authed((req) => propertyGet(req)))
    .on('POST', `${API}/user/:accountId/property/:key`, authed((req) => propertyWrite(req, 'create')))
    .on('PUT', `${API}/user/:accountId/property/:key`, authed((req) => propertyWrite(req, 'update')))
    .on(
      'DELETE',
      `${API}/user/:accountId/property/:key`,
      authed((req) => {
        const bad = keyProblem(req.params.key!);
        if (bad) return err(400, bad);
        const a = account(req.params.accountId!);
        if (isErr(a)) return a;
        return store.deleteProperty(a.accountId, req.params.key!) ? { status: 204 } : err(404, `No property ${req.params.key} for this user`);
      }),
    )
    // ---------------------------------------------------------------- groups
    .on(
      'GET',
      `${API}/group/by-name`,
      authed((req) => {
        const id = store.groupIdByName(req.query.get('name') ?? '');
        return id ? { status: 200, body: groupJson(req, store.group(id)!) } : err(404, `No group named ${req.query.get('name')}`);
      }),
    )
    .on(
      'GET',
      `${API}/group/by-id`,
      authed((req) => {
        const g = store.group(req.query.get('id') ?? '');
        return g ? { status: 200, body: groupJson(req, g) } : err(404, `No group with id ${req.query.get('id')}`);
      }),
    )
    .on(
      'GET',
      `${API}/group/picker`,
      authed((req) => {
        const p = paging(req, 200, 200);
        if ('status' in p) return p;
        return page(req, store.searchGroups(req.query.get('query') ?? '').map((g) => groupJson(req, g)), p.start, p.limit);
      }),
    )
    .on(
      'POST',
      `${API}/group`,
      authed((req) => {
        const name = (req.body as { name?: unknown })?.name;
        if (typeof name !== 'string' || !name.trim()) return err(400, 'Group name is required');
        if (store.groupIdByName(name)) return err(409, `A group named ${name} already exists`);
        return { status: 201, body: groupJson(req, store.createGroup(name)) };
      }, true),
    )
    .on(
      'GET',
      `${API}/group/:groupId/membersByGroupId`,
      authed((req) => {
        const members = store.membersOf(req.params.groupId!);
        if (!members) return err(404, `No group with id ${req.params.groupId}`);
        const p = paging(req, 200, 200);
        if ('status' in p) return p;
        return page(req, members.map((id) => userJson(req, store.get(id)!)), p.start, p.limit);
      }),
    )
    .on(
      'POST',
      `${API}/group/userByGroupId`,
      authed((req) => {
        const groupId = req.query.get('groupId');
        const accountId = (req.body as { accountId?: unknown })?.accountId;
        if (!groupId || typeof accountId !== 'string') return err(400, 'groupId and a body {"accountId"} are required');
        if (!store.group(groupId)) return err(404, `No group with id ${groupId}`);
        if (!store.get(accountId)) return err(400, `accountId ${accountId} is not a valid user`);
        store.addMember(groupId, accountId);
        return { status: 201 };
      }, true),
    )
    .on(
      'DELETE',
      `${API}/group/userByGroupId`,
      authed((req) => {
        const groupId = req.query.get('groupId');
        const accountId = req.query.get('accountId');
        if (!groupId || !accountId) return err(400, 'groupId and accountId are required');
        if (!store.group(groupId)) return err(404, `No group with id ${groupId}`);
        store.removeMember(groupId, accountId);
        return { status: 204 };
      }, true),
    );

  function keyProblem(key: string): string | undefined {
    if (key.length > PROPERTY_KEY_MAX) return `The key is too long (${key.length} characters; at most ${PROPERTY_KEY_MAX})`;
    if (!KEY_PATTERN.test(key)) return `The key ${key} may contain only letters, digits, - and _`;
    return undefined;
  }

  function propertyGet(req: EmulatorRequest): EmulatorResponse {
    const bad = keyProblem(req.params.key!);
    if (bad) return err(400, bad);
    const a = account(req.params.accountId!);
    if (isErr(a)) return a;
    const p = store.getProperty(a.accountId, req.params.key!);
    if (!p) return err(404, `No property ${req.params.key} for this user`);
    return { status: 200, body: { id: p.id, key: p.key, value: JSON.parse(p.json), createdDate: p.createdDate, lastModifiedDate: p.lastModifiedDate, _links: { self: `${req.origin}${req.path}` } } };
  }

  function propertyWrite(req: EmulatorRequest, mode: 'create' | 'update'): EmulatorResponse {
    const bad = keyProblem(req.params.key!);
    if (bad) return err(400, bad);
    const a = account(req.params.accountId!);
    if (isErr(a)) return a;
    const value = (req.body as { value?: unknown } | undefined)?.value;
    if (value === undefined || value === null) return err(400, 'The value is empty');
    if (typeof value !== 'object' || Array.isArray(value)) return err(400, 'The value must be a JSON object');
    const json = JSON.stringify(value);
    if (json.length > PROPERTY_VALUE_MAX) return err(400, `The value is too long (${json.length} characters; at most ${PROPERTY_VALUE_MAX})`);
    const exists = store.getProperty(a.accountId, req.params.key!) !== undefined;
    if (mode === 'create' && exists) return err(409, `The key ${req.params.key} already exists for this user`);
    if (mode === 'update' && !exists) return err(404, `No property ${req.params.key} for this user`);
    store.setProperty(a.accountId, req.params.key!, json);
    return { status: mode === 'create' ? 201 : 204 };
  }
}
