// The OneLogin source: reads users through the v2 API page by page (`limit`, then `cursor`
// from each answer's After-Cursor header), checks the read against Total-Count, names the
// user's roles and/or OneLogin group in `groups`, the manager (manager_user_id) as an id
// reference, and paces every call against the account's hourly budget (pacer.ts).
//
// Status policy (one place: `isActive`): a user is active when its status lets it sign in or
// recover (1 Active, 3 Locked, 4 Password expired, 5 Awaiting password reset, 7 Password
// pending, 8 Security questions required) and its state is 1 Approved. 0 Unactivated and
// 2 Suspended, or a state of Unapproved, Rejected or Unlicensed, are listed inactive. OneLogin
// deletes users outright and lists no deleted ones: a deletion is seen by the next full read.
// No incremental read: `updated_since` cannot see deletions nor role changes (see README).
import type { AttributeInfo, ManagerRef, SourceConnector, SourceQuery, SourceUser, TestResult, UserHit, UserPage } from '../../core/types.ts';
import { HttpClient, realSleep, type HttpResponse } from '../../core/http.ts';
import { IdsyncError } from '../../core/errors.ts';
import { TokenCache, type IssuedToken } from '../../core/token-cache.ts';
import { resolveSecret } from '../../config/secrets.ts';
import type { ConnectorContext } from '../registry.ts';
import { apiBase, type OneLoginConfig } from './config.ts';
import { explainOneLoginError, oneLoginErrorMessage, SCOPE_HINT, tokenError } from './errors.ts';
import { HourlyPacer } from './pacer.ts';
import { checklist } from '../../core/checklist.ts';
import { completePage } from '../group-list.ts';

export interface OlUserJson {
  id?: unknown;
  username?: string | null;
  email?: string | null;
  firstname?: string | null;
  lastname?: string | null;
  status?: unknown;
  state?: unknown;
  manager_user_id?: unknown;
  role_ids?: unknown;
  group_id?: unknown;
  custom_attributes?: Record<string, unknown> | null;
  [k: string]: unknown;
}

export const STATUS_NAMES: Record<number, string> = { 0: 'Unactivated', 1: 'Active', 2: 'Suspended', 3: 'Locked', 4: 'Password expired', 5: 'Awaiting password reset', 7: 'Password pending', 8: 'Security questions required' };
export const STATE_NAMES: Record<number, string> = { 0: 'Unapproved', 1: 'Approved', 2: 'Rejected', 3: 'Unlicensed' };
const ACTIVE_STATUSES = new Set([1, 3, 4, 5, 7, 8]);

/** The one status policy (see the file's comment). */
export function isActive(status: unknown, state: unknown): boolean {
  return ACTIVE_STATUSES.has(Number(status)) && (state === undefined || state === null || Number(state) === 1);
}

const ALWAYS = ['id', 'username', 'email', 'firstname', 'lastname', 'displayName', 'active', 'status'];
const MAX_REFRESHES = 3;

export const ONELOGIN_ATTRIBUTES: AttributeInfo[] = [
  { path: 'id', type: 'string', description: 'OneLogin user id (immutable; idsync links users on it)' },
  { path: 'username', type: 'string' },
  { path: 'email', type: 'string' },
  { path: 'firstname', type: 'string' },
  { path: 'lastname', type: 'string' },
  { path: 'displayName', type: 'string', description: 'firstname and lastname' },
  { path: 'title', type: 'string' },
  { path: 'department', type: 'string' },
  { path: 'company', type: 'string' },
  { path: 'phone', type: 'string' },
  { path: 'active', type: 'boolean', description: 'Map it to user.active (status and state, see the README)' },
  { path: 'status', type: 'number', description: '0 Unactivated, 1 Active, 2 Suspended, 3 Locked, 4 Password expired, 5 Awaiting password reset, 7 Password pending, 8 Security questions required' },
  { path: 'statusName', type: 'string' },
  { path: 'state', type: 'number', description: '0 Unapproved, 1 Approved, 2 Rejected, 3 Unlicensed' },
  { path: 'stateName', type: 'string' },
  { path: 'custom_attributes', type: 'object', description: 'Custom user fields by shortname, e.g. custom_attributes.employee_id' },
  { path: 'created_at', type: 'string' },
  { path: 'updated_at', type: 'string' },
  { path: 'manager.id', type: 'string' },
  { path: 'manager.email', type: 'string' },
  { path: 'manager.username', type: 'string' },
  { path: 'manager.targetUsername', type: 'string', description: "The manager's username in the target being written" },
  { path: 'groups', type: 'string[]', description: 'Names of the user\'s roles and/or OneLogin group (setting "Groups from")' },
];

function sleepUnless(ms: number, signal?: AbortSignal): Promise<void> {
  if (!signal) return realSleep(ms);
  signal.throwIfAborted();
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal.reason instanceof Error ? signal.reason : new IdsyncError('INTERNAL', 'the OneLogin read was cancelled'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

export class OneLoginSource implements SourceConnector {
  readonly kind = 'onelogin';
  readonly http: HttpClient;
  private readonly login: HttpClient;
  readonly pacer: HourlyPacer;
  // OneLogin's tokens last 10 hours (expires_in 36000): the shared five-minute renewal margin
  // suits them; one request however many pages ask at once.
  private readonly token = new TokenCache(() => this.issueToken());
  private readonly requiredGroups: string[];
  /** What the run was told while it waited (also given to the context's notice). */
  readonly notices: string[] = [];

  constructor(
    private readonly cfg: OneLoginConfig,
    private readonly ctx: ConnectorContext,
  ) {
    const retry = ctx.fastRetries ? { baseDelayMs: 1, maxDelayMs: 5 } : undefined;
    const baseUrl = apiBase(cfg);
    this.login = new HttpClient({ service: 'OneLogin sign-in', baseUrl, ca: ctx.ca, errorMessage: oneLoginErrorMessage, retry, recorder: ctx.recorder });
    this.http = new HttpClient({
      service: 'OneLogin',
      baseUrl,
      ca: ctx.ca,
      authHeaders: async () => ({ authorization: `Bearer ${await this.accessToken()}` }),
      onUnauthorized: () => this.token.invalidate(),
      errorMessage: oneLoginErrorMessage,
      retry,
      recorder: ctx.recorder,
    });
    this.pacer = new HourlyPacer(cfg.keepApiCallsPerHour, sleepUnless, (m) => {
      this.notices.push(m);
      ctx.notice?.(m);
    });
    this.requiredGroups = cfg.requiredGroups ?? [];
  }

  async close(): Promise<void> {
    await Promise.all([this.http.close(), this.login.close()]);
  }

  /** OAuth 2.0 client credentials: Basic client_id:client_secret, a JSON body (OneLogin's documented form). */
  private accessToken(): Promise<string> {
    return this.token.get();
  }

  private async issueToken(): Promise<IssuedToken> {
    const secret = resolveSecret(this.cfg.clientSecret, 'OneLogin clientSecret', this.ctx.storedSecret).reveal();
    const basic = Buffer.from(`${this.cfg.clientId}:${secret}`).toString('base64');
    const res = await this.login.send<{ access_token?: string; expires_in?: number }>({
      method: 'POST',
      url: '/auth/oauth2/v2/token',
      headers: { authorization: `Basic ${basic}` },
      body: { grant_type: 'client_credentials' },
      accept: [400, 401, 403, 404],
      retryUnsafe: true,
    });
    if (res.status >= 400) throw tokenError(res.status, res.body, this.cfg.clientId);
    if (typeof res.body?.access_token !== 'string') throw new IdsyncError('TRANSIENT', 'OneLogin answered the token request without an access token', { hint: 'retry; check the API URL is OneLogin\'s' });
    return { token: res.body.access_token, expiresIn: res.body.expires_in, fallbackS: 36_000 };
  }

  /** One paced GET: waits at the floor, learns the budget from the answer, waits out a 429. */
  private async get<T>(url: string, query: Record<string, string | number | undefined> = {}, accept: number[] = [], signal?: AbortSignal): Promise<HttpResponse<T>> {
    for (let attempt = 0; ; attempt++) {
      await this.pacer.ready(signal);
      const res = await this.http.send<T>({ method: 'GET', url, query, accept: [429, ...accept], signal });
      this.pacer.observe(res.headers);
      if (res.status !== 429) return res;
      if (attempt >= MAX_REFRESHES) {
        throw new IdsyncError('RATE_LIMITED', 'OneLogin kept answering 429: the account\'s hourly API limit is spent', { status: 429, hint: 'another integration uses the same account budget: raise "keep at least N API calls per hour" or run later' });
      }
      await this.pacer.tooMany(res.headers, signal);
    }
  }

  private explain(what: string) {
    return (e: unknown) => {
      throw explainOneLoginError(e, what);
    };
  }

  // ------------------------------------------------------------------ names of roles and groups

  private async roleNames(signal?: AbortSignal): Promise<Map<number, string>> {
    const names = new Map<number, string>();
    let cursor: string | undefined;
    do {
      const res = await this.get<Array<{ id: number; name: string }>>('/api/2/roles', { limit: 1000, cursor }, [], signal).catch(this.explain('list roles'));
      if (!Array.isArray(res.body)) throw new IdsyncError('TRANSIENT', 'OneLogin answered the role list without a list', { hint: 'retry the run' });
      for (const r of res.body) names.set(Number(r.id), String(r.name));
      cursor = one(res.headers['after-cursor']) || undefined;
    } while (cursor);
    return names;
  }

  private async groupNames(signal?: AbortSignal): Promise<Map<number, string>> {
    const names = new Map<number, string>();
    let url: string | undefined = '/api/1/groups';
    while (url) {
      const res: HttpResponse<{ data?: Array<{ id: number; name: string }>; pagination?: { next_link?: string | null } }> = await this.get<{ data?: Array<{ id: number; name: string }>; pagination?: { next_link?: string | null } }>(url, {}, [], signal).catch(this.explain('list groups'));
      if (!Array.isArray(res.body?.data)) throw new IdsyncError('TRANSIENT', 'OneLogin answered the group list without data', { hint: 'retry the run' });
      for (const g of res.body.data) names.set(Number(g.id), String(g.name));
      url = res.body.pagination?.next_link ?? undefined;
    }
    return names;
  }

  /**
   * Reads the names `groups` is made of, as configured: a user's names, and every role and group
   * they are taken from (the read's UserPage.groupList). Roles keep OneLogin's id; a group's id
   * is `group:<id>`, since a role and a group may have the same number.
   */
  private async groupLookup(signal?: AbortSignal): Promise<{ of: (u: OlUserJson) => string[]; all: Array<{ id: string; name: string }> }> {
    const src = this.cfg.groupSource;
    const roles = src !== 'groups' ? await this.roleNames(signal) : undefined;
    const groups = src !== 'roles' ? await this.groupNames(signal) : undefined;
    const all = [...[...(roles ?? [])].map(([id, name]) => ({ id: String(id), name })), ...[...(groups ?? [])].map(([id, name]) => ({ id: `group:${id}`, name }))];
    const of = (u: OlUserJson) => {
      const out: string[] = [];
      if (roles && Array.isArray(u.role_ids)) for (const id of u.role_ids) if (roles.has(Number(id))) out.push(roles.get(Number(id))!);
      if (groups && u.group_id !== null && u.group_id !== undefined && groups.has(Number(u.group_id))) out.push(groups.get(Number(u.group_id))!);
      return out;
    };
    return { of, all };
  }

  // ------------------------------------------------------------------ users

  async *listUsers(query: SourceQuery): AsyncIterable<UserPage> {
    query.signal?.throwIfAborted();
    const needGroups = query.groups || this.requiredGroups.length > 0;
    const lookup = needGroups ? await this.groupLookup(query.signal) : undefined;
    const groupsOf = lookup?.of;
    // Managers listed before their reports get their attributes from the listing; one listed
    // later (or outside the required groups) is read once by id, so its report's manager.*
    // attributes are whole on the first run. Few calls of the hourly budget: one per such manager.
    const seen = new Map<string, Record<string, unknown> | null>();
    let cursor: string | undefined;
    let read = 0;
    let total: number | undefined;
    do {
      query.signal?.throwIfAborted();
      const res = await this.get<OlUserJson[]>('/api/2/users', { limit: this.cfg.pageSize, cursor }, [], query.signal).catch(this.explain('list users'));
      if (!Array.isArray(res.body)) throw new IdsyncError('TRANSIENT', 'OneLogin answered a user page without a list of users', { hint: 'retry the run' });
      const count = Number(one(res.headers['total-count']));
      if (Number.isFinite(count)) total = count;
      const next = one(res.headers['after-cursor']) || undefined;
      if (next && res.body.length === 0) throw new IdsyncError('TRANSIENT', 'OneLogin answered an empty user page that is not the last', { hint: 'retry the run' });
      read += res.body.length;
      const users: SourceUser[] = [];
      for (const raw of res.body) {
        const user = this.toSourceUser(raw, query);
        seen.set(user.id, this.toSourceUser(raw, null).attrs);
        if (groupsOf) {
          const groups = groupsOf(raw);
          if (this.requiredGroups.length && !groups.some((g) => this.requiredGroups.some((r) => r.toLowerCase() === g.toLowerCase()))) continue;
          if (query.groups) user.groups = groups;
        }
        users.push(user);
      }
      if (query.manager) await this.attachManagers(users, seen, query.signal);
      if (users.length) yield { users };
      cursor = next;
    } while (cursor);
    // The paging ended; Total-Count says whether it returned everyone (a short page does not pass).
    if (total !== undefined && total !== read) {
      throw new IdsyncError('TRANSIENT', `OneLogin's paging ended after ${read} of the ${total} users it counts`, { hint: 'users were added or removed during the read, or a page was cut short: run again' });
    }
    yield completePage(query.groups ? lookup?.all : undefined);
  }

  /** Sets each manager reference's attributes: from users read, else read by id (each once). */
  private async attachManagers(users: SourceUser[], known: Map<string, Record<string, unknown> | null>, signal?: AbortSignal): Promise<void> {
    for (const u of users) {
      const ref = u.manager;
      if (!ref || !('id' in ref)) continue;
      if (!known.has(ref.id)) {
        const res = await this.get<OlUserJson>(`/api/2/users/${encodeURIComponent(ref.id)}`, {}, [404], signal).catch(this.explain('read a manager'));
        known.set(ref.id, res.status === 200 ? this.toSourceUser(res.body, null).attrs : null);
      }
      const attrs = known.get(ref.id);
      if (attrs) ref.attrs = attrs;
    }
  }

  /** OneLogin JSON → SourceUser (only the asked attributes when `query` is given). */
  toSourceUser(raw: OlUserJson, query: SourceQuery | null): SourceUser {
    if (raw.id === undefined || raw.id === null) throw new IdsyncError('TRANSIENT', 'OneLogin returned a user without an id', { hint: 'retry the run' });
    const { manager_user_id, role_ids: _r, group_id: _g, ...rest } = raw;
    const all: Record<string, unknown> = { ...rest, id: String(raw.id) };
    all.displayName = [raw.firstname, raw.lastname].filter(Boolean).join(' ') || null;
    all.active = isActive(raw.status, raw.state);
    all.statusName = STATUS_NAMES[Number(raw.status)] ?? null;
    all.stateName = STATE_NAMES[Number(raw.state)] ?? null;
    all.custom_attributes = raw.custom_attributes ?? {};
    let attrs = all;
    if (query) {
      const asked = new Set(query.attributes.map((a) => a.split('.')[0]!));
      attrs = Object.fromEntries(Object.entries(all).filter(([k]) => asked.has(k) || ALWAYS.includes(k)));
    }
    const user: SourceUser = { id: String(raw.id), attrs };
    if (!query || query.manager) user.manager = this.managerRef(manager_user_id);
    return user;
  }

  private managerRef(v: unknown): ManagerRef | null {
    if (v === null || v === undefined || v === '' || Number(v) === 0) return null;
    return { id: String(v) };
  }

  async getUser(ref: string, query: SourceQuery): Promise<SourceUser | null> {
    const wanted = ref.trim();
    if (!wanted) return null;
    let raw: OlUserJson | undefined;
    if (/^\d+$/.test(wanted)) {
      const res = await this.get<OlUserJson>(`/api/2/users/${wanted}`, {}, [404]).catch(this.explain('read a user'));
      raw = res.status === 200 ? res.body : undefined;
    } else {
      // An exact match: OneLogin filters take `*` as a wildcard, so a reference holding one names nobody.
      if (wanted.includes('*')) return null;
      // An address is tried as the e-mail first, then as the username (often the same address).
      for (const field of wanted.includes('@') ? ['email', 'username'] : ['username']) {
        const res = await this.get<OlUserJson[]>('/api/2/users', { [field]: wanted, limit: 2 }).catch(this.explain('look a user up'));
        raw = (Array.isArray(res.body) ? res.body : []).find((u) => String(u[field] ?? '').toLowerCase() === wanted.toLowerCase());
        if (raw) break;
      }
    }
    if (!raw) return null;
    const user = this.toSourceUser(raw, query);
    if (query.manager) await this.attachManagers([user], new Map());
    if (query.groups || this.requiredGroups.length) {
      const groups = (await this.groupLookup()).of(raw);
      if (this.requiredGroups.length && !groups.some((g) => this.requiredGroups.some((r) => r.toLowerCase() === g.toLowerCase()))) {
        user.outOfScope = `not in the required ${this.cfg.groupSource === 'groups' ? 'groups' : 'roles'}: ${this.requiredGroups.join(', ')}`;
      }
      if (query.groups) user.groups = groups;
    }
    return user;
  }

  /** The start of a first or last name, username or e-mail, by OneLogin's `*` wildcard filters. */
  async searchUsers(text: string, limit: number): Promise<UserHit[]> {
    const wanted = text.trim().replace(/\*/g, '');
    if (!wanted) return [];
    const hits = new Map<string, UserHit>();
    for (const field of ['firstname', 'lastname', 'username', 'email']) {
      if (hits.size >= limit) break;
      const res = await this.get<OlUserJson[]>('/api/2/users', { [field]: `${wanted}*`, limit: Math.max(1, Math.min(limit, 1000)) }).catch(this.explain('search users'));
      for (const u of Array.isArray(res.body) ? res.body : []) {
        const id = String(u.id);
        if (!hits.has(id)) hits.set(id, { id, displayName: [u.firstname, u.lastname].filter(Boolean).join(' ') || null, userPrincipalName: u.username ?? null, mail: u.email ?? null });
      }
    }
    return [...hits.values()].slice(0, limit);
  }

  async attributes(): Promise<AttributeInfo[]> {
    const found = [...ONELOGIN_ATTRIBUTES];
    try {
      const res = await this.get<OlUserJson[]>('/api/2/users', { limit: 100 });
      const names = new Set<string>();
      for (const u of Array.isArray(res.body) ? res.body : []) for (const k of Object.keys(u.custom_attributes ?? {})) names.add(k);
      for (const k of [...names].sort()) found.push({ path: `custom_attributes.${k}`, type: 'string', description: 'Custom user field (found on users)' });
    } catch {
      // test() says why; typing the attribute path still works.
    }
    return found;
  }

  async test(): Promise<TestResult> {
    const { checks, run } = checklist();
    const signedIn = await run('token', async () => {
      await this.accessToken();
      return `signed in with API credential ${this.cfg.clientId} at ${apiBase(this.cfg)}`;
    });
    if (!signedIn) return { ok: false, checks };
    const usersOk = await run('read users', async () => {
      const res = await this.get<OlUserJson[]>('/api/2/users', { limit: 1 }).catch((e) => {
        const x = explainOneLoginError(e, 'list users');
        throw x instanceof IdsyncError && x.code === 'AUTH' ? new IdsyncError('AUTH', x.message, { status: x.status, hint: SCOPE_HINT }) : x;
      });
      const first = Array.isArray(res.body) ? res.body[0] : undefined;
      const left = one(res.headers['x-ratelimit-remaining']);
      return `${first ? `can read users (first: ${String(first.username ?? first.email)})` : 'can read users, but OneLogin returned none'}${left ? `; ${left} API calls left this hour` : ''}`;
    });
    if (usersOk && this.cfg.groupSource !== 'groups') await run('read roles', async () => `can read roles (${(await this.roleNames()).size})`);
    if (usersOk && this.cfg.groupSource !== 'roles') await run('read groups', async () => `can read groups (${(await this.groupNames()).size})`);
    return { ok: checks.every((c) => c.ok), checks };
  }
}
