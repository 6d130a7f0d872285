// The Google Workspace source: reads users page by page from the Admin SDK Directory API
// (users.list with the connector's customer/domain and query), the manager as an e-mail
// reference from relations, custom schemas only when the mapping or the settings name them,
// group memberships from each group's member list, and never takes a failure or an
// unconfirmed empty page for the end of the directory.
import type { AttributeInfo, SourceConnector, SourceGroup, SourceQuery, SourceUser, TestResult, UserHit, UserPage } from '../../core/types.ts';
import { HttpClient, realSleep, type HttpRequest } from '../../core/http.ts';
import { IdsyncError } from '../../core/errors.ts';
import { resolveSecret } from '../../config/secrets.ts';
import type { ConnectorContext } from '../registry.ts';
import type { GoogleConfig } from './config.ts';
import { ALWAYS, STATIC_ATTRIBUTES, flatten, managerEmail, rawFieldsFor } from './catalogue.ts';
import { explainApiError, googleErrorMessage, reasonOf, SCOPES } from './errors.ts';
import { GoogleTokenProvider, parseKey, type ServiceAccountKey } from './token.ts';
import { checklist } from '../../core/checklist.ts';
import { completePage } from '../group-list.ts';

interface UsersPage {
  users?: Array<Record<string, unknown>>;
  nextPageToken?: string;
}
interface GroupsPage {
  groups?: Array<{ id: string; name: string; email: string }>;
  nextPageToken?: string;
}
interface MembersPage {
  members?: Array<{ id: string; type: string; email?: string }>;
  nextPageToken?: string;
}

/** Google's quota answers on 403: backed off exponentially (Google sends no Retry-After). */
const QUOTA_REASONS = new Set(['rateLimitExceeded', 'userRateLimitExceeded', 'quotaExceeded']);
const QUOTA_RETRIES = 8;
const GROUP_PAGE = 200;

export class GoogleSource implements SourceConnector {
  readonly kind = 'google';
  readonly api: HttpClient;
  readonly login: HttpClient;
  readonly tokens: GoogleTokenProvider;
  private readonly quotaDelayMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private keyCache?: ServiceAccountKey;
  /** Quota answers (403/429) waited out, for tests and run summaries. */
  readonly quota = { backoffs: 0 };

  constructor(
    private readonly cfg: GoogleConfig,
    private readonly ctx: ConnectorContext,
  ) {
    const retry = ctx.fastRetries ? { baseDelayMs: 1, maxDelayMs: 5 } : undefined;
    this.quotaDelayMs = ctx.fastRetries ? 2 : 1000;
    this.sleep = realSleep;
    this.login = new HttpClient({ service: 'Google sign-in', baseUrl: cfg.tokenUrl ?? 'https://oauth2.googleapis.com', ca: ctx.ca, errorMessage: googleErrorMessage, retry, recorder: ctx.recorder });
    const scopes = cfg.readGroups ? [SCOPES.users, SCOPES.groups] : [SCOPES.users];
    this.tokens = new GoogleTokenProvider(this.login, { key: () => this.key(), subject: cfg.subject, scopes, tokenUrl: cfg.tokenUrl });
    this.api = new HttpClient({
      service: 'Google Directory API',
      baseUrl: `${cfg.apiUrl.replace(/\/+$/, '')}/admin/directory/v1`,
      ca: ctx.ca,
      authHeaders: async () => ({ authorization: `Bearer ${await this.tokens.get()}` }),
      onUnauthorized: () => this.tokens.invalidate(),
      errorMessage: googleErrorMessage,
      retry,
      recorder: ctx.recorder,
    });
  }

  private key(): ServiceAccountKey {
    this.keyCache ??= parseKey(resolveSecret(this.cfg.serviceAccountKey, 'Google serviceAccountKey', this.ctx.storedSecret).reveal());
    return this.keyCache;
  }

  async close(): Promise<void> {
    await Promise.all([this.api.close(), this.login.close()]);
  }

  /**
   * A Directory API GET. 429 is waited out by the HTTP client (Retry-After, else backoff); the
   * 403 quota answers are waited out here with exponential backoff; other 403s say what is missing.
   */
  private async get<T>(http: HttpClient, url: string, query: HttpRequest['query'], what: string, scope: string, accept: number[] = []): Promise<{ status: number; body: T }> {
    for (let attempt = 0; ; attempt++) {
      let res;
      try {
        res = await http.send<T>({ method: 'GET', url, query, accept: [403, ...accept] });
      } catch (e) {
        if (e instanceof IdsyncError && e.status === 429) this.quota.backoffs++;
        throw explainApiError(e, what, { subject: this.cfg.subject, scope, clientId: this.safeClientId() });
      }
      if (res.status !== 403) return res;
      const reason = reasonOf(res.body);
      if (reason && QUOTA_REASONS.has(reason) && attempt < QUOTA_RETRIES) {
        this.quota.backoffs++;
        const exp = this.quotaDelayMs * 2 ** attempt;
        await this.sleep(Math.round(exp / 2 + Math.random() * (exp / 2)));
        continue;
      }
      const message = `Google Directory API answered 403 for ${url}: ${googleErrorMessage(403, res.body) ?? 'forbidden'}`;
      const code = reason && QUOTA_REASONS.has(reason) ? 'RATE_LIMITED' : 'AUTH';
      throw explainApiError(new IdsyncError(code, message, { status: 403, hint: code === 'RATE_LIMITED' ? 'Google kept refusing for quota; run again later or raise the Admin SDK quota in the Cloud console' : undefined }), what, { subject: this.cfg.subject, scope, clientId: this.safeClientId() });
    }
  }

  private safeClientId(): string {
    try {
      return this.key().client_id;
    } catch {
      return '(unreadable key)';
    }
  }

  /** customer or domain, as users.list and groups.list want them. */
  private where(): Record<string, string> {
    return this.cfg.domain ? { domain: this.cfg.domain } : { customer: this.cfg.customer };
  }

  /** Projection for the attributes the mapping reads: custom schemas only when named (or all of them for a bare `customSchemas`). */
  private projection(attributes: readonly string[]): Record<string, string> {
    const named = new Set(this.cfg.customSchemas);
    let all = false;
    for (const a of attributes) {
      const [top, schema] = a.split('.');
      if (top !== 'customSchemas') continue;
      if (schema) named.add(schema);
      else all = true;
    }
    if (all) return { projection: 'full' };
    return named.size ? { projection: 'custom', customFieldMask: [...named].join(',') } : { projection: 'basic' };
  }

  // ------------------------------------------------------------------ listing

  async *listUsers(query: SourceQuery): AsyncIterable<UserPage> {
    const ended = new AbortController();
    const http = this.api.withSignal(query.signal ? AbortSignal.any([query.signal, ended.signal]) : ended.signal);
    try {
      const wantGroups = query.groups || this.cfg.requiredGroups.length > 0;
      if (query.groups && !this.cfg.readGroups) throw new IdsyncError('CONFIG', 'the mapping uses groups, but this Google Workspace source has readGroups switched off', { hint: 'switch readGroups on (and delegate the group scope), or remove the groups rules from the mapping' });
      const memberships = wantGroups ? await this.readMemberships(http) : undefined;
      const required = this.requiredMembers(memberships);
      const params: Record<string, string> = {
        ...this.where(),
        maxResults: String(this.cfg.pageSize),
        ...this.projection(query.attributes),
        viewType: 'admin_view',
        fields: `nextPageToken,users(${rawFieldsFor(query.attributes, query.manager).join(',')})`,
      };
      if (this.cfg.query) params.query = this.cfg.query;
      let pageToken: string | undefined;
      for (;;) {
        query.signal?.throwIfAborted();
        const ask = () => this.get<UsersPage>(http, '/users', { ...params, pageToken }, 'list users', SCOPES.users).then((r) => r.body ?? {});
        let page = await ask();
        // Google gives no count to check a listing against. A page without users (the whole
        // answer on the first page, or a last page that adds nothing) is asked for once more
        // before it is believed: a proxy or a hiccup answering "nothing" is not the end.
        if (!page.users?.length) page = await ask();
        if (page.users !== undefined && !Array.isArray(page.users)) throw new IdsyncError('TRANSIENT', 'Google returned a user page whose users is not a list', { hint: 'retry the run' });
        let users = (page.users ?? []).map((raw) => this.toSourceUser(raw, query));
        if (required) users = users.filter((u) => required.has(u.id));
        if (memberships && query.groups) for (const u of users) u.groups = memberships.byUser.get(u.id) ?? [];
        if (users.length) yield { users };
        if (!page.nextPageToken) break;
        pageToken = page.nextPageToken;
      }
      // With groups asked, every group of the domain (those users' names come from), for the engine's shadow of groups.
      yield completePage(query.groups ? memberships?.groups : undefined);
    } finally {
      ended.abort(new IdsyncError('INTERNAL', 'the user listing ended'));
    }
  }

  /** Users of the required groups (by name), or undefined without required groups; an unknown group is a CONFIG error. */
  private requiredMembers(memberships: Memberships | undefined): Set<string> | undefined {
    const names = this.cfg.requiredGroups;
    if (!names.length || !memberships) return undefined;
    const ids = new Set<string>();
    for (const name of names) {
      const g = memberships.groups.find((x) => x.name.toLowerCase() === name.toLowerCase() || x.email.toLowerCase() === name.toLowerCase());
      if (!g) throw new IdsyncError('CONFIG', `required group '${name}' does not exist in Google Workspace`, { hint: 'check the group name (or e-mail) in requiredGroups' });
      for (const id of g.members) ids.add(id);
    }
    return ids;
  }

  /** Every group with its direct user members: one groups.list, then members.list per group. */
  private async readMemberships(http: HttpClient): Promise<Memberships> {
    const groups: Memberships['groups'] = [];
    // As for users: an answer without groups is asked for once more before it is believed.
    for (let attempt = 0; attempt < 2 && groups.length === 0; attempt++) {
      let pageToken: string | undefined;
      do {
        const res = await this.get<GroupsPage>(http, '/groups', { ...this.where(), maxResults: GROUP_PAGE, pageToken }, 'list groups', SCOPES.groups);
        if (res.body?.groups !== undefined && !Array.isArray(res.body.groups)) throw new IdsyncError('TRANSIENT', 'Google returned a group page whose groups is not a list', { hint: 'retry the run' });
        for (const g of res.body?.groups ?? []) groups.push({ id: g.id, name: g.name, email: g.email, members: [] });
        pageToken = res.body?.nextPageToken;
      } while (pageToken);
    }
    for (const g of groups) g.members = await this.groupMembers(http, g.id, g.name);
    const byUser = new Map<string, string[]>();
    for (const g of groups) for (const id of g.members) byUser.set(id, [...(byUser.get(id) ?? []), g.name]);
    return { groups, byUser };
  }

  private async groupMembers(http: HttpClient, groupId: string, name: string): Promise<string[]> {
    const ids: string[] = [];
    let pageToken: string | undefined;
    do {
      const res = await this.get<MembersPage>(http, `/groups/${encodeURIComponent(groupId)}/members`, { maxResults: GROUP_PAGE, pageToken }, `read the members of group '${name}'`, SCOPES.groups);
      for (const m of res.body?.members ?? []) if (m.type === 'USER') ids.push(m.id);
      pageToken = res.body?.nextPageToken;
    } while (pageToken);
    return ids;
  }

  private toSourceUser(raw: Record<string, unknown>, query: SourceQuery): SourceUser {
    if (typeof raw.id !== 'string' || typeof raw.primaryEmail !== 'string') throw new IdsyncError('TRANSIENT', 'Google returned a user without id or primaryEmail', { hint: 'retry the run' });
    const all = flatten(raw);
    const wanted = new Set([...ALWAYS, ...query.attributes.map((a) => a.split('.')[0]!)]);
    const attrs: Record<string, unknown> = {};
    for (const k of wanted) if (k !== 'manager' && k !== 'groups' && all[k] !== undefined) attrs[k] = all[k];
    const user: SourceUser = { id: raw.id, attrs, keys: { email: raw.primaryEmail.toLowerCase() } };
    if (query.manager) {
      const m = managerEmail(raw);
      user.manager = m ? { key: 'email', value: m } : null;
    }
    return user;
  }

  // ------------------------------------------------------------------ groups, one user, search

  async *listGroups(query: SourceQuery): AsyncIterable<SourceGroup[]> {
    if (!this.cfg.readGroups) throw new IdsyncError('CONFIG', 'readGroups is switched off for this Google Workspace source', { hint: 'switch readGroups on to read groups' });
    const m = await this.readMemberships(this.api.withSignal(query.signal));
    yield m.groups.map((g) => ({ id: g.id, name: g.name, members: g.members }));
  }

  async getUser(ref: string, query: SourceQuery): Promise<SourceUser | null> {
    const wanted = ref.trim();
    if (!wanted) return null;
    const res = await this.get<Record<string, unknown>>(this.api, `/users/${encodeURIComponent(wanted)}`, { ...this.projection(query.attributes), viewType: 'admin_view', fields: rawFieldsFor(query.attributes, query.manager).join(',') }, 'read a user', SCOPES.users, [400, 404]);
    if (res.status === 404 || res.status === 400 || !res.body) return null;
    const user = this.toSourceUser(res.body, query);
    if (this.cfg.query && !(await this.inQuery(user))) {
      user.outOfScope = `outside the connector's query: ${this.cfg.query}`;
      return user;
    }
    if (this.cfg.domain && !String(res.body.primaryEmail).toLowerCase().endsWith(`@${this.cfg.domain.toLowerCase()}`)) {
      user.outOfScope = `outside the connector's domain ${this.cfg.domain}`;
      return user;
    }
    if (query.groups || this.cfg.requiredGroups.length) {
      if (!this.cfg.readGroups) throw new IdsyncError('CONFIG', 'the mapping uses groups, but this Google Workspace source has readGroups switched off', { hint: 'switch readGroups on' });
      const groups: string[] = [];
      let pageToken: string | undefined;
      do {
        const r = await this.get<GroupsPage>(this.api, '/groups', { userKey: user.id, maxResults: GROUP_PAGE, pageToken }, "read a user's groups", SCOPES.groups, [404]);
        if (r.status === 404) return null; // deleted meanwhile
        for (const g of r.body?.groups ?? []) groups.push(g.name);
        pageToken = r.body?.nextPageToken;
      } while (pageToken);
      const required = this.cfg.requiredGroups.map((g) => g.toLowerCase());
      if (required.length && !groups.some((g) => required.includes(g.toLowerCase()))) {
        user.outOfScope = `not a member of the required groups: ${this.cfg.requiredGroups.join(', ')}`;
        return user;
      }
      if (query.groups) user.groups = groups;
    }
    return user;
  }

  /** Whether users.list with the connector's query returns this user. */
  private async inQuery(user: SourceUser): Promise<boolean> {
    const email = String(user.keys?.email ?? '');
    const res = await this.get<UsersPage>(this.api, '/users', { ...this.where(), maxResults: 10, query: `${this.cfg.query} email=${quote(email)}` }, 'check a user against the connector query', SCOPES.users);
    return (res.body?.users ?? []).some((u) => u.id === user.id);
  }

  /** Prefix search on given name, family name and e-mail (Google's `field:'text*'`), merged. */
  async searchUsers(text: string, limit: number): Promise<UserHit[]> {
    const wanted = text.trim();
    if (!wanted || limit < 1) return [];
    const hits = new Map<string, UserHit>();
    for (const field of ['givenName', 'familyName', 'email']) {
      const clause = `${field}:${quote(`${wanted}`, '*')}`;
      const res = await this.get<UsersPage>(this.api, '/users', { ...this.where(), maxResults: Math.min(limit, 500), query: this.cfg.query ? `${this.cfg.query} ${clause}` : clause }, 'search users', SCOPES.users);
      for (const u of res.body?.users ?? []) {
        if (hits.size >= limit) break;
        const name = (u.name ?? {}) as { fullName?: string };
        hits.set(String(u.id), { id: String(u.id), displayName: name.fullName ?? null, userPrincipalName: String(u.primaryEmail), mail: String(u.primaryEmail) });
      }
      if (hits.size >= limit) break;
    }
    return [...hits.values()].slice(0, limit);
  }

  // ------------------------------------------------------------------ catalogue and checks

  async attributes(): Promise<AttributeInfo[]> {
    const found = [...STATIC_ATTRIBUTES];
    try {
      // Custom schema fields as the users carry them (reading the schemas themselves needs
      // another scope, admin.directory.userschema.readonly, which idsync does not ask for).
      const res = await this.get<UsersPage>(this.api, '/users', { ...this.where(), maxResults: 100, projection: 'full' }, 'list users', SCOPES.users);
      const seen = new Set<string>();
      for (const u of res.body?.users ?? []) {
        for (const [schema, fields] of Object.entries((u.customSchemas ?? {}) as Record<string, Record<string, unknown>>)) {
          for (const [field, value] of Object.entries(fields ?? {})) {
            const path = `customSchemas.${schema}.${field}`;
            if (seen.has(path)) continue;
            seen.add(path);
            found.push({ path, type: Array.isArray(value) ? 'object' : typeof value === 'boolean' ? 'boolean' : 'string', description: `Custom attribute ${field} of schema ${schema}${Array.isArray(value) ? ' (multi-valued: [{type, value}])' : ''}` });
          }
        }
      }
    } catch {
      // Discovery is a convenience: typing the path works without it.
    }
    return found;
  }

  async test(): Promise<TestResult> {
    const { checks, run } = checklist();
    const keyOk = await run('service account key', async () => `service account ${this.key().client_email} (client ID ${this.key().client_id})`);
    const signedIn = keyOk && (await run('token', async () => {
      await this.tokens.get();
      return `signed in as ${this.key().client_email} acting for ${this.cfg.subject}`;
    }));
    if (signedIn) {
      await run('read users', async () => {
        const res = await this.get<UsersPage>(this.api, '/users', { ...this.where(), maxResults: 1, ...(this.cfg.query ? { query: this.cfg.query } : {}) }, 'list users', SCOPES.users);
        const u = res.body?.users?.[0];
        return u ? `can read users (first: ${String(u.primaryEmail)})` : 'can read users, but the query matched none';
      });
      if (this.cfg.readGroups) {
        await run('read groups', async () => {
          const res = await this.get<GroupsPage>(this.api, '/groups', { ...this.where(), maxResults: 1 }, 'list groups', SCOPES.groups);
          return res.body?.groups?.length ? 'can read groups' : 'can read groups (the account has none)';
        });
      }
      if (this.cfg.requiredGroups.length) {
        await run('required groups', async () => {
          this.requiredMembers(await this.readMemberships(this.api));
          return `found ${this.cfg.requiredGroups.join(', ')}`;
        });
      }
    }
    return { ok: checks.every((c) => c.ok), checks };
  }
}

interface Memberships {
  groups: Array<{ id: string; name: string; email: string; members: string[] }>;
  byUser: Map<string, string[]>;
}

/** A value in single quotes as Google's query syntax takes it (quotes and backslashes escaped); `suffix` goes inside, e.g. `*`. */
function quote(value: string, suffix = ''): string {
  return `'${value.replace(/[\\']/g, (c) => `\\${c}`)}${suffix}'`;
}
