// Google Workspace emulator: Google's OAuth 2.0 token endpoint for service accounts with
// domain-wide delegation (auth.ts) and the Admin SDK Directory API v1 reads idsync uses —
// users.list, users.get, groups.list, members.list — with Google's paging, projections,
// query syntax (query.ts), error bodies (errors.ts), quota answers and the common faults.
// Served over TLS by default; `tls: false` for clients that take no extra CA.
import { randomUUID } from 'node:crypto';
import { Router, startEmulator, type EmulatorRequest, type EmulatorResponse, type RunningEmulator } from '../common/server.ts';
import { generateOrg } from '../org/index.ts';
import type { Org } from '../org/types.ts';
import { GoogleTokens, keyFile, newServiceAccount, SCOPES, type Grant, type ServiceAccount } from './auth.ts';
import { CUSTOMER_ID, GoogleDirectory, type GoogleGroup, type GoogleUser } from './directory.ts';
import { badRequest, googleError, googleErrorForStatus, invalidInput, QUOTA } from './errors.ts';
import { matches, parseQuery, QueryError } from './query.ts';
import { applyFields, FieldsError, parseFields } from './fields.ts';

export { GoogleDirectory, EMPLOYMENT_SCHEMA, CUSTOMER_ID, type GoogleUser, type GoogleGroup } from './directory.ts';
export { SCOPES, newServiceAccount, keyFile, type ServiceAccount } from './auth.ts';

export interface GoogleEmulatorOptions {
  org?: Org;
  users?: number;
  seed?: number;
  /** Default true. */
  tls?: boolean;
  host?: string;
  port?: number;
  /** More service accounts besides the default one (e.g. one without delegation). */
  serviceAccounts?: ServiceAccount[];
}

/**
 * Google's Directory API quota as a token bucket per emulator: beyond it a request gets the
 * answer Google gives when a per-user or per-project quota is used up.
 */
export interface QuotaLimit {
  capacity: number;
  perSecond: number;
  answer: 'rateLimitExceeded' | 'userRateLimitExceeded' | '429';
}

export interface GoogleEmulator extends RunningEmulator {
  directory: GoogleDirectory;
  tokens: GoogleTokens;
  /** The default service account: delegation granted for the two read-only scopes. */
  serviceAccount: ServiceAccount;
  /** Its JSON key file, with token_uri pointing at this emulator. */
  keyFile(account?: ServiceAccount): ReturnType<typeof keyFile>;
  /** The account's super administrator (the subject to act as). */
  admin: string;
  /** Root for the Directory API (`${rootUrl}admin/directory/v1/...`), with a trailing slash as googleapis expects. */
  rootUrl: string;
  setQuota(q: QuotaLimit | undefined): void;
  quotaRefusals: number;
}

const API = '/admin/directory/v1';
const USER_LIST_MAX = 500;
const GROUP_LIST_MAX = 200;

export async function startGoogleEmulator(opts: GoogleEmulatorOptions = {}): Promise<GoogleEmulator> {
  const directory = new GoogleDirectory(opts.org ?? generateOrg({ users: opts.users ?? 300, seed: opts.seed ?? 1 }));
  const serviceAccount = newServiceAccount('idsync-reader');
  const accounts = [serviceAccount, ...(opts.serviceAccounts ?? [])];
  const tokens = new GoogleTokens(accounts, (email) => directory.user(email) !== undefined);
  let quota: QuotaLimit | undefined;
  let bucket = { tokens: 0, at: Date.now() };
  const state = { quotaRefusals: 0 };
  const setQuota = (q: QuotaLimit | undefined) => {
    quota = q;
    bucket = { tokens: q?.capacity ?? 0, at: Date.now() };
  };

  const overQuota = (): EmulatorResponse | undefined => {
    if (!quota) return undefined;
    const now = Date.now();
    bucket.tokens = Math.min(quota.capacity, bucket.tokens + ((now - bucket.at) / 1000) * quota.perSecond);
    bucket.at = now;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return undefined;
    }
    state.quotaRefusals++;
    // Google documents no Retry-After on quota errors: clients back off exponentially.
    return QUOTA[quota.answer]();
  };

  /** Bearer token, the scope, an administrator as the subject, then the quota. */
  const api = (scope: string, handler: (req: EmulatorRequest, grant: Grant) => EmulatorResponse) => (req: EmulatorRequest): EmulatorResponse => {
    const grant = tokens.grantOf(req);
    if (grant === 'missing') {
      return googleError(401, 'Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.', { reason: 'required', message: 'Login Required.', location: 'Authorization', locationType: 'header' });
    }
    if (!grant) {
      return googleError(401, 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.', { reason: 'authError', message: 'Invalid Credentials', location: 'Authorization', locationType: 'header' });
    }
    if (!grant.scopes.has(scope)) return googleError(403, 'Request had insufficient authentication scopes.', { reason: 'insufficientPermissions', message: 'Insufficient Permission' });
    const subject = directory.user(grant.subject);
    if (!subject?.isAdmin) return googleError(403, 'Not Authorized to access this resource/api', { reason: 'forbidden' });
    const refused = overQuota();
    if (refused) return refused;
    let res = handler(req, grant);
    const fields = req.query.get('fields');
    if (fields !== null && res.status === 200) {
      try {
        res = { ...res, body: applyFields(res.body, parseFields(fields)) };
      } catch (e) {
        if (!(e instanceof FieldsError)) throw e;
        res = googleError(400, e.message, { reason: 'invalidParameter', location: 'fields' });
      }
    }
    return { ...res, headers: { 'x-goog-request-id': randomUUID(), ...res.headers } };
  };

  const router = new Router()
    .on('POST', '/token', (req) => tokens.token(req))
    .on('GET', `${API}/users`, api(SCOPES.users, (req) => listUsers(directory, req)))
    .on('GET', `${API}/users/:userKey`, api(SCOPES.users, (req) => getUser(directory, req)))
    .on('GET', `${API}/groups`, api(SCOPES.groups, (req) => listGroups(directory, req)))
    .on('GET', `${API}/groups/:groupKey/members`, api(SCOPES.groups, (req) => listMembers(directory, req)));

  const control = new Router()
    .on('POST', '/org', (req) => {
      const b = (req.body ?? {}) as { users?: number; seed?: number; org?: Org };
      directory.replace(b.org ?? generateOrg({ users: b.users, seed: b.seed }));
      return { status: 200, body: { users: directory.users.length, groups: directory.groups.length } };
    })
    .on('GET', '/users/:key', (req) => {
      const u = directory.user(req.params.key!);
      return u ? { status: 200, body: u } : { status: 404, body: { error: 'no such user' } };
    })
    .on('PATCH', '/users/:key', (req) => {
      const u = directory.update(req.params.key!, (req.body ?? {}) as Record<string, unknown>);
      return u ? { status: 200, body: u } : { status: 404, body: { error: 'no such user' } };
    })
    .on('DELETE', '/users/:key', (req) => (directory.delete(req.params.key!) ? { status: 204 } : { status: 404, body: { error: 'no such user' } }))
    .on('POST', '/groups/:key/members', (req) => {
      const b = (req.body ?? {}) as { add?: string[]; remove?: string[] };
      if (!directory.group(req.params.key!)) return { status: 404, body: { error: 'no such group' } };
      for (const m of b.remove ?? []) directory.removeMember(req.params.key!, m);
      for (const m of b.add ?? []) if (!directory.addMember(req.params.key!, m)) return { status: 404, body: { error: `no such member ${m}` } };
      return { status: 204 };
    })
    .on('POST', '/quota', (req) => {
      const q = (req.body ?? {}) as Partial<QuotaLimit> & { off?: boolean };
      if (q.off) setQuota(undefined);
      else if (typeof q.capacity === 'number' && typeof q.perSecond === 'number' && ['rateLimitExceeded', 'userRateLimitExceeded', '429'].includes(String(q.answer))) setQuota(q as QuotaLimit);
      else return { status: 400, body: { error: 'give {capacity, perSecond, answer: rateLimitExceeded|userRateLimitExceeded|429} or {off: true}' } };
      return { status: 200, body: { quota: quota ?? null, refusals: state.quotaRefusals } };
    })
    .on('GET', '/quota', () => ({ status: 200, body: { quota: quota ?? null, refusals: state.quotaRefusals } }))
    .on('POST', '/delegation', (req) => {
      // Admin console: grant or withdraw the default service account's delegated scopes.
      const scopes = ((req.body ?? {}) as { scopes?: string[] | null }).scopes;
      serviceAccount.delegatedScopes = scopes === undefined ? [SCOPES.users, SCOPES.groups] : scopes;
      return { status: 200, body: { scopes: serviceAccount.delegatedScopes } };
    })
    .on('POST', '/tokens/expire', () => ({ status: 200, body: { expired: tokens.expireAll() } }));

  const running = await startEmulator({
    name: 'google',
    router,
    tls: opts.tls ?? true,
    host: opts.host,
    port: opts.port,
    errorBody: googleErrorForStatus,
    exempt: (path) => path === '/token',
    onReset: () => {
      setQuota(undefined);
      state.quotaRefusals = 0;
      serviceAccount.delegatedScopes = [SCOPES.users, SCOPES.groups];
    },
    control,
  });

  const emulator = Object.assign(running, {
    directory,
    tokens,
    serviceAccount,
    keyFile: (account = serviceAccount) => keyFile(account, `${running.url}/token`),
    admin: '',
    rootUrl: `${running.url}/`,
    setQuota,
    quotaRefusals: 0,
  });
  // Live values (Object.assign would copy a getter's value once).
  Object.defineProperties(emulator, {
    admin: { get: () => directory.users.find((u) => u.isAdmin)?.primaryEmail ?? '' },
    quotaRefusals: { get: () => state.quotaRefusals },
  });
  return emulator;
}

// ---------------------------------------------------------------- paging

/** Opaque page tokens bound to the listing they continue (Google refuses a token of another query). */
function pageToken(offset: number, bound: string): string {
  return Buffer.from(JSON.stringify({ o: offset, b: bound })).toString('base64url');
}

function readToken(token: string | null, bound: string): number | 'bad' {
  if (!token) return 0;
  try {
    const t = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { o?: unknown; b?: unknown };
    return typeof t.o === 'number' && Number.isInteger(t.o) && t.o >= 0 && t.b === bound ? t.o : 'bad';
  } catch {
    return 'bad';
  }
}

function maxResults(raw: string | null, max: number, fallback: number): number | EmulatorResponse {
  if (raw === null) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) return googleError(400, `Invalid value '${raw}'. Values must be within the range: [1, ${max}]`, { reason: 'invalidParameter', location: 'maxResults' });
  return n;
}

/** `customer` (my_customer or the id) or `domain`: one is required. */
function scopeOf(dir: GoogleDirectory, q: URLSearchParams): EmulatorResponse | undefined {
  const customer = q.get('customer');
  const domain = q.get('domain');
  if (!customer && !domain) return badRequest();
  if (customer && customer !== 'my_customer' && customer !== CUSTOMER_ID) return badRequest();
  if (domain && domain.toLowerCase() !== dir.domain) return googleError(403, 'Not Authorized to access this resource/api', { reason: 'forbidden' });
  return undefined;
}

// ---------------------------------------------------------------- users

type Projection = { schemas: 'none' | 'all' | Set<string> };

function projectionOf(q: URLSearchParams): Projection | EmulatorResponse {
  const projection = q.get('projection') ?? 'basic';
  const mask = q.get('customFieldMask');
  const viewType = q.get('viewType') ?? 'admin_view';
  if (!['admin_view', 'domain_public'].includes(viewType)) return googleError(400, `Invalid value '${viewType}' for viewType`, { reason: 'invalidParameter', location: 'viewType' });
  if (!['basic', 'full', 'custom'].includes(projection)) return googleError(400, `Invalid value '${projection}' for projection`, { reason: 'invalidParameter', location: 'projection' });
  // "customFieldMask: this should only be set when projection=custom"; custom without it names no schema.
  if (mask !== null && projection !== 'custom') return invalidInput('Invalid Input: custom field mask requires projection=custom');
  if (projection === 'custom' && !mask) return invalidInput('Invalid Input: projection=custom requires customFieldMask');
  if (projection === 'basic') return { schemas: 'none' };
  if (projection === 'full') return { schemas: 'all' };
  return { schemas: new Set(mask!.split(',').map((s) => s.trim()).filter(Boolean)) };
}

function serialize(u: GoogleUser, p: Projection, publicView: boolean): Record<string, unknown> {
  const { customSchemas, ...rest } = u;
  const out: Record<string, unknown> = { ...rest };
  if (publicView) {
    // domain_public: what any user of the domain may see (no admin-only fields).
    for (const k of ['isAdmin', 'isDelegatedAdmin', 'suspended', 'archived', 'orgUnitPath', 'customerId', 'creationTime']) delete out[k];
  }
  if (customSchemas && p.schemas !== 'none') {
    const chosen = p.schemas === 'all' ? customSchemas : Object.fromEntries(Object.entries(customSchemas).filter(([k]) => (p.schemas as Set<string>).has(k)));
    if (Object.keys(chosen).length) out.customSchemas = chosen;
  }
  return out;
}

function listUsers(dir: GoogleDirectory, req: EmulatorRequest): EmulatorResponse {
  const q = req.query;
  const scoped = scopeOf(dir, q);
  if (scoped) return scoped;
  const size = maxResults(q.get('maxResults'), USER_LIST_MAX, 100);
  if (typeof size !== 'number') return size;
  const projection = projectionOf(q);
  if ('status' in projection) return projection;
  const orderBy = q.get('orderBy');
  if (orderBy !== null && !['email', 'familyName', 'givenName'].includes(orderBy)) return googleError(400, `Invalid value '${orderBy}' for orderBy`, { reason: 'invalidParameter', location: 'orderBy' });
  const sortOrder = q.get('sortOrder');
  if (sortOrder !== null && !['ASCENDING', 'DESCENDING'].includes(sortOrder.toUpperCase())) return googleError(400, `Invalid value '${sortOrder}' for sortOrder`, { reason: 'invalidParameter', location: 'sortOrder' });
  let clauses;
  try {
    clauses = parseQuery(q.get('query') ?? '');
  } catch (e) {
    if (e instanceof QueryError) return invalidInput();
    throw e;
  }
  let users = dir.users.filter((u) => matches(u, clauses));
  if (orderBy) {
    const key = (u: GoogleUser) => (orderBy === 'email' ? u.primaryEmail : orderBy === 'givenName' ? u.name.givenName : u.name.familyName).toLowerCase();
    users = [...users].sort((a, b) => key(a).localeCompare(key(b)) * (sortOrder?.toUpperCase() === 'DESCENDING' ? -1 : 1));
  }
  const bound = ['customer', 'domain', 'query', 'orderBy', 'sortOrder', 'showDeleted'].map((k) => q.get(k) ?? '').join('\u0001');
  const offset = readToken(q.get('pageToken'), bound);
  if (offset === 'bad') return invalidInput('Invalid Input: pageToken');
  const page = users.slice(offset, offset + size);
  const publicView = q.get('viewType') === 'domain_public';
  const body: Record<string, unknown> = { kind: 'admin#directory#users', etag: `"users-${offset}"` };
  if (page.length) body.users = page.map((u) => serialize(u, projection, publicView));
  if (offset + size < users.length) body.nextPageToken = pageToken(offset + size, bound);
  return { status: 200, body };
}

function getUser(dir: GoogleDirectory, req: EmulatorRequest): EmulatorResponse {
  const projection = projectionOf(req.query);
  if ('status' in projection) return projection;
  const u = dir.user(req.params.userKey!);
  if (!u) return googleError(404, 'Resource Not Found: userKey', { reason: 'notFound' });
  return { status: 200, body: serialize(u, projection, req.query.get('viewType') === 'domain_public') };
}

// ---------------------------------------------------------------- groups

function groupJson(g: GoogleGroup) {
  const { members, ...rest } = g;
  return { ...rest, directMembersCount: String(members.length) };
}

function listGroups(dir: GoogleDirectory, req: EmulatorRequest): EmulatorResponse {
  const q = req.query;
  const userKey = q.get('userKey');
  if (!userKey) {
    const scoped = scopeOf(dir, q);
    if (scoped) return scoped;
  }
  const size = maxResults(q.get('maxResults'), GROUP_LIST_MAX, GROUP_LIST_MAX);
  if (typeof size !== 'number') return size;
  let groups = dir.groups;
  if (userKey) {
    const u = dir.user(userKey);
    if (!u) return googleError(404, 'Resource Not Found: userKey', { reason: 'notFound' });
    groups = groups.filter((g) => g.members.includes(u.id));
  }
  const bound = `groups\u0001${q.get('customer') ?? ''}\u0001${q.get('domain') ?? ''}\u0001${userKey ?? ''}`;
  const offset = readToken(q.get('pageToken'), bound);
  if (offset === 'bad') return invalidInput('Invalid Input: pageToken');
  const page = groups.slice(offset, offset + size);
  const body: Record<string, unknown> = { kind: 'admin#directory#groups', etag: `"groups-${offset}"` };
  if (page.length) body.groups = page.map(groupJson);
  if (offset + size < groups.length) body.nextPageToken = pageToken(offset + size, bound);
  return { status: 200, body };
}

function listMembers(dir: GoogleDirectory, req: EmulatorRequest): EmulatorResponse {
  const q = req.query;
  const g = dir.group(req.params.groupKey!);
  if (!g) return googleError(404, 'Resource Not Found: groupKey', { reason: 'notFound' });
  const size = maxResults(q.get('maxResults'), GROUP_LIST_MAX, GROUP_LIST_MAX);
  if (typeof size !== 'number') return size;
  const roles = q.get('roles');
  if (roles !== null && roles.split(',').some((r) => !['OWNER', 'MANAGER', 'MEMBER'].includes(r.trim().toUpperCase()))) return invalidInput();
  // includeDerivedMembership: members through nested groups too (users only, each once).
  let ids = g.members;
  if (q.get('includeDerivedMembership') === 'true') {
    const seen = new Set<string>();
    const walk = (group: GoogleGroup, path: Set<string>) => {
      for (const m of group.members) {
        const nested = dir.group(m);
        if (nested && !path.has(nested.id)) walk(nested, new Set([...path, nested.id]));
        else if (!nested) seen.add(m);
      }
    };
    walk(g, new Set([g.id]));
    ids = [...seen];
  }
  if (roles !== null && !roles.toUpperCase().includes('MEMBER')) ids = [];
  const bound = `members\u0001${g.id}\u0001${q.get('includeDerivedMembership') ?? ''}\u0001${roles ?? ''}`;
  const offset = readToken(q.get('pageToken'), bound);
  if (offset === 'bad') return invalidInput('Invalid Input: pageToken');
  const page = ids.slice(offset, offset + size).map((id) => {
    const u = dir.user(id);
    const nested = u ? undefined : dir.group(id);
    return { kind: 'admin#directory#member', etag: `"m-${id}"`, id, email: u?.primaryEmail ?? nested?.email ?? '', role: 'MEMBER', type: u ? 'USER' : 'GROUP', status: 'ACTIVE' };
  });
  const body: Record<string, unknown> = { kind: 'admin#directory#members', etag: `"members-${offset}"` };
  if (page.length) body.members = page;
  if (offset + size < ids.length) body.nextPageToken = pageToken(offset + size, bound);
  return { status: 200, body };
}
