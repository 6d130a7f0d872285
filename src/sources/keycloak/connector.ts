// The Keycloak source: reads a realm's users through the admin REST API, paged with first/max
// and checked against /users/count, with `enabled`, the multi-valued `attributes` and the
// federation link; the manager from a configurable attribute, as a reference; groups with
// their paths, read per user or per group, whichever needs fewer requests (memberships.ts);
// sub-groups walked for group listings. Keycloak keeps no change feed for users, so there is no
// incremental read.
import type { AttributeInfo, ManagerRef, SourceConnector, SourceGroup, SourceQuery, SourceUser, TestResult, UserHit, UserPage } from '../../core/types.ts';
import { HttpClient } from '../../core/http.ts';
import { IdsyncError } from '../../core/errors.ts';
import { TokenCache, type IssuedToken } from '../../core/token-cache.ts';
import { resolveSecret } from '../../config/secrets.ts';
import type { ConnectorContext } from '../registry.ts';
import type { KeycloakConfig } from './config.ts';
import { checklist } from '../../core/checklist.ts';
import { completePage } from '../group-list.ts';
import { cheaperStrategy, countGroups, groupTree, groupsByUser, memberIds, type KcGroupJson, type MembershipStrategy } from './memberships.ts';

interface KcUserJson {
  id?: unknown;
  username?: string;
  email?: string;
  firstName?: string;
  lastName?: string;
  enabled?: boolean;
  attributes?: Record<string, string[]>;
  [k: string]: unknown;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ALWAYS = ['id', 'username', 'email', 'firstName', 'lastName', 'enabled'];
const FIELDS = ['id', 'username', 'email', 'firstName', 'lastName', 'enabled', 'emailVerified', 'createdTimestamp', 'federationLink'];

export const KEYCLOAK_ATTRIBUTES: AttributeInfo[] = [
  { path: 'id', type: 'string', description: 'Keycloak user id (immutable; idsync links users on it)' },
  { path: 'username', type: 'string' },
  { path: 'email', type: 'string' },
  { path: 'firstName', type: 'string' },
  { path: 'lastName', type: 'string' },
  { path: 'enabled', type: 'boolean', description: 'Map it to user.active' },
  { path: 'emailVerified', type: 'boolean' },
  { path: 'createdTimestamp', type: 'number', description: 'Epoch milliseconds' },
  { path: 'federationLink', type: 'string', description: 'Id of the user federation provider (LDAP, Kerberos) the user comes from; empty for local users' },
  { path: 'attributes', type: 'object', description: 'User attributes; each is a list of values, e.g. attributes.department[0]' },
  { path: 'manager.id', type: 'string' },
  { path: 'manager.username', type: 'string' },
  { path: 'manager.email', type: 'string' },
  { path: 'manager.targetUsername', type: 'string', description: "The manager's username in the target being written" },
  { path: 'groups', type: 'string[]', description: 'Names (or paths) of the groups the user is a direct member of' },
];

export class KeycloakSource implements SourceConnector {
  readonly kind = 'keycloak';
  readonly http: HttpClient;
  /** The token endpoint's client: without the admin API's bearer header (it would ask itself for a token). */
  readonly login: HttpClient;
  // Keycloak's default Access Token Lifespan is 5 minutes (realm settings, Tokens), the shared
  // cache's default renewal margin: with it every call would fetch a token. 30 s before expiry
  // leaves a request in flight time to finish; a 401 still drops the token (onUnauthorized).
  private readonly token = new TokenCache(() => this.issueToken(), { renewBeforeMs: 30_000 });
  /** How the last listing with groups read memberships (tests and the run's figures). */
  lastMembershipStrategy?: MembershipStrategy;

  constructor(
    private readonly cfg: KeycloakConfig,
    private readonly ctx: ConnectorContext,
  ) {
    const retry = ctx.fastRetries ? { baseDelayMs: 1, maxDelayMs: 5 } : undefined;
    const base = cfg.url.replace(/\/+$/, '');
    this.login = new HttpClient({ service: 'Keycloak sign-in', baseUrl: base, ca: ctx.ca, retry, recorder: ctx.recorder });
    this.http = new HttpClient({
      service: 'Keycloak',
      baseUrl: `${base}/admin/realms/${encodeURIComponent(cfg.realm)}`,
      ca: ctx.ca,
      authHeaders: async () => ({ authorization: `Bearer ${await this.accessToken()}` }),
      onUnauthorized: () => this.token.invalidate(),
      errorMessage: (_s, b) => (b && typeof b === 'object' ? [(b as { error?: string }).error, (b as { error_description?: string }).error_description].filter(Boolean).join(': ') || undefined : undefined),
      retry,
      recorder: ctx.recorder,
    });
  }

  async close(): Promise<void> {
    await Promise.all([this.http.close(), this.login.close()]);
  }

  private accessToken(): Promise<string> {
    return this.token.get();
  }

  private async issueToken(): Promise<IssuedToken> {
    const url = `${this.cfg.url.replace(/\/+$/, '')}/realms/${encodeURIComponent(this.cfg.realm)}/protocol/openid-connect/token`;
    const secret = resolveSecret(this.cfg.clientSecret, 'Keycloak clientSecret', this.ctx.storedSecret).reveal();
    const res = await this.login.send<{ access_token?: string; expires_in?: number; error?: string; error_description?: string }>({
      method: 'POST',
      url,
      form: { grant_type: 'client_credentials', client_id: this.cfg.clientId, client_secret: secret },
      accept: [400, 401, 404],
      retryUnsafe: true,
    });
    if (res.status === 404) throw new IdsyncError('CONFIG', `Keycloak has no realm '${this.cfg.realm}' at ${this.cfg.url}`, { status: 404, hint: 'check url (Keycloak 16 and older need /auth at the end) and realm' });
    if (res.status >= 400 || typeof res.body?.access_token !== 'string') {
      const detail = res.body?.error_description ?? res.body?.error ?? `HTTP ${res.status}`;
      throw new IdsyncError('AUTH', `Keycloak refused the client credentials of '${this.cfg.clientId}' (${detail})`, {
        status: res.status,
        hint: "check clientId and the secret on the client's Credentials tab; the client needs Client authentication and Service accounts roles enabled",
      });
    }
    return { token: res.body.access_token, expiresIn: res.body.expires_in, fallbackS: 300 };
  }

  private explain(what: string) {
    return (e: unknown): never => {
      if (e instanceof IdsyncError && e.status === 403) {
        throw new IdsyncError('AUTH', `Keycloak refused to ${what}: the client's service account lacks the role view-users (${e.message})`, {
          status: 403,
          hint: "in the client's Service accounts roles tab, assign the realm-management client role view-users",
          cause: e,
        });
      }
      throw e;
    };
  }

  private scope(): Record<string, string> {
    const q: Record<string, string> = {};
    if (this.cfg.search) q.search = this.cfg.search;
    if (this.cfg.attributeQuery) q.q = this.cfg.attributeQuery;
    return q;
  }

  async *listUsers(query: SourceQuery): AsyncIterable<UserPage> {
    const http = this.http.withSignal(query.signal);
    query.signal?.throwIfAborted();
    const counted = await http.get<number>('/users/count', this.scope()).catch(this.explain('count users'));
    const plan = await this.membershipPlan(http, typeof counted.body === 'number' ? counted.body : Infinity, query);
    const required = plan.required;
    const max = this.cfg.pageSize;
    const managers = this.managerIndex();
    let read = 0;
    for (let first = 0; ; first += max) {
      query.signal?.throwIfAborted();
      const res = await http.get<KcUserJson[]>('/users', { ...this.scope(), first, max, briefRepresentation: 'false' }).catch(this.explain('list users'));
      if (!Array.isArray(res.body)) throw new IdsyncError('TRANSIENT', 'Keycloak answered a user page with something other than a list', { hint: 'retry the run' });
      read += res.body.length;
      let users = res.body.map((raw) => this.toSourceUser(raw, query));
      if (query.manager) {
        for (const raw of res.body) managers.note(raw, this.toSourceUser(raw, null).attrs);
        await managers.resolve(http, users);
      }
      if (required) users = users.filter((u) => required.has(u.id));
      if (plan.byUser) for (const u of users) u.groups = [...(plan.byUser.get(u.id) ?? [])];
      else if (query.groups) users = await this.withGroups(http, users);
      if (users.length) yield { users };
      if (res.body.length < max) break;
    }
    // Offset paging ends at the first short page: Keycloak's own count says whether it was the end.
    if (typeof counted.body === 'number' && read < counted.body) {
      throw new IdsyncError('TRANSIENT', `Keycloak listed ${read} users but counts ${counted.body}: the listing ended early`, { hint: 'retry the run; users marked missing are not touched until a complete read' });
    }
    yield completePage(query.groups ? await this.groupList(http, plan.tree) : undefined);
  }

  /**
   * Every group of the realm, sub-groups included, under the name users' `groups` carry, for
   * the engine's shadow of groups: the tree the plan read, or read now. Checked against
   * /groups/count, which counts every group: a tree that comes out short (an early empty page)
   * gives no list, so the shadow's groups stay as they are rather than being taken for gone.
   */
  private async groupList(http: HttpClient, read: KcGroupJson[] | undefined): Promise<Array<{ id: string; name: string }> | undefined> {
    const tree = read ?? (await groupTree(http).catch(this.explain('list groups')));
    const count = await countGroups(http).catch(this.explain('count groups'));
    if (tree.length < count) return undefined;
    return tree.map((g) => ({ id: g.id, name: this.groupName(g) }));
  }

  /**
   * Before the first user page: the required groups' members, and, when groups are asked and
   * reading them per group is cheaper (or configured), every user's groups from the member lists.
   */
  private async membershipPlan(http: HttpClient, usersInScope: number, query: SourceQuery): Promise<{ required?: Set<string>; byUser?: Map<string, string[]>; tree?: KcGroupJson[] }> {
    const wantsRequired = this.cfg.requiredGroups.length > 0;
    // The tree is read at most once per listing, whoever needs it first.
    let treeRead: Promise<KcGroupJson[]> | undefined;
    const tree = () => (treeRead ??= groupTree(http).catch(this.explain('list groups')));
    if (!query.groups) return wantsRequired ? { required: await this.requiredMembers(http, await tree()) } : {};
    let strategy: MembershipStrategy;
    let required: Set<string> | undefined;
    if (this.cfg.membershipStrategy !== 'auto') strategy = this.cfg.membershipStrategy;
    else {
      // Per user reads only the users a required group lets through.
      if (wantsRequired) required = await this.requiredMembers(http, await tree());
      strategy = cheaperStrategy(Math.min(usersInScope, required?.size ?? Infinity), await countGroups(http).catch(this.explain('count groups')));
    }
    this.lastMembershipStrategy = strategy;
    if (strategy === 'perUser') {
      if (wantsRequired) required ??= await this.requiredMembers(http, await tree());
      return required ? { required } : {};
    }
    const groups = await tree();
    const { byUser, membersOf } = await groupsByUser(http, groups, (g) => this.groupName(g), query.signal).catch(this.explain('read group members'));
    if (!wantsRequired) return { byUser, tree: groups };
    required = new Set<string>();
    for (const g of this.requiredGroupsIn(groups)) for (const id of membersOf.get(g.id) ?? []) required.add(id);
    return { required, byUser, tree: groups };
  }

  private groupName(g: KcGroupJson): string {
    return this.cfg.groupNames === 'path' ? (g.path ?? `/${g.name}`) : g.name;
  }

  /** The configured required groups (by name or path) among the realm's; one that is not there is a CONFIG error. */
  private requiredGroupsIn(groups: KcGroupJson[]): KcGroupJson[] {
    return this.cfg.requiredGroups.map((name) => {
      const g = groups.find((x) => x.name.toLowerCase() === name.toLowerCase() || x.path?.toLowerCase() === name.toLowerCase());
      if (!g) throw new IdsyncError('CONFIG', `required group '${name}' does not exist in realm ${this.cfg.realm}`, { hint: 'check requiredGroups (a group name, or its path such as /parent/child)' });
      return g;
    });
  }

  private async withGroups(http: HttpClient, users: SourceUser[]): Promise<SourceUser[]> {
    const out: SourceUser[] = [];
    for (const u of users) {
      const groups = await this.groupsOf(http, u.id);
      if (groups === null) continue;
      u.groups = groups;
      out.push(u);
    }
    return out;
  }

  private async groupsOf(http: HttpClient, id: string): Promise<string[] | null> {
    const res = await http.get<KcGroupJson[]>(`/users/${encodeURIComponent(id)}/groups`, { max: 10_000 }, [404]).catch(this.explain('read group memberships'));
    if (res.status === 404) return null;
    return (res.body ?? []).map((g) => this.groupName(g));
  }

  private async members(http: HttpClient, groupId: string): Promise<string[]> {
    const ids = await memberIds(http, groupId).catch(this.explain('read group members'));
    if (ids === null) throw new IdsyncError('TRANSIENT', `Keycloak group ${groupId} was deleted while it was read`, { hint: 'retry the run' });
    return ids;
  }

  private async requiredMembers(http: HttpClient, tree?: KcGroupJson[]): Promise<Set<string>> {
    const ids = new Set<string>();
    for (const g of this.requiredGroupsIn(tree ?? (await groupTree(http).catch(this.explain('list groups'))))) for (const id of await this.members(http, g.id)) ids.add(id);
    return ids;
  }

  toSourceUser(raw: KcUserJson, query: SourceQuery | null): SourceUser {
    if (typeof raw.id !== 'string') throw new IdsyncError('TRANSIENT', 'Keycloak returned a user without an id', { hint: 'retry the run' });
    const all: Record<string, unknown> = {};
    for (const k of FIELDS) if (raw[k] !== undefined) all[k] = raw[k];
    const attributes = { ...(raw.attributes ?? {}) };
    const managerValue = attributes[this.cfg.manager.attribute]?.[0];
    delete attributes[this.cfg.manager.attribute];
    all.attributes = attributes;
    let attrs = all;
    if (query) {
      const asked = new Set(query.attributes.map((a) => a.split('.')[0]!));
      attrs = Object.fromEntries(Object.entries(all).filter(([k]) => asked.has(k) || ALWAYS.includes(k)));
    }
    const user: SourceUser = { id: raw.id, attrs, keys: { ...(raw.username ? { username: raw.username } : {}), ...(raw.email ? { email: raw.email } : {}) } };
    if (!query || query.manager) user.manager = this.managerRef(managerValue);
    return user;
  }

  /**
   * The manager attribute names a username or e-mail; the engine's shadow resolves that only
   * for users it already holds. The listing remembers the users it read, looks up a manager
   * it has not met (once), and hands the engine the manager's id and attributes.
   */
  private managerIndex() {
    const known = new Map<string, { id: string; attrs: Record<string, unknown> } | null>();
    const keyOf = (ref: ManagerRef) => ('id' in ref ? `id:${ref.id}` : `${ref.key}:${ref.value.toLowerCase()}`);
    return {
      note: (raw: KcUserJson, attrs: Record<string, unknown>) => {
        if (typeof raw.id !== 'string') return;
        const entry = { id: raw.id, attrs };
        known.set(`id:${raw.id}`, entry);
        if (raw.username) known.set(`username:${raw.username.toLowerCase()}`, entry);
        if (raw.email) known.set(`email:${raw.email.toLowerCase()}`, entry);
      },
      resolve: async (http: HttpClient, users: SourceUser[]) => {
        for (const u of users) {
          const ref = u.manager;
          if (!ref) continue;
          const k = keyOf(ref);
          if (!known.has(k)) {
            let found: KcUserJson | undefined;
            if ('id' in ref) found = (await http.get<KcUserJson>(`/users/${encodeURIComponent(ref.id)}`, undefined, [404]).catch(this.explain('read a manager'))).body;
            else {
              const field = ref.key === 'email' ? 'email' : 'username';
              const res = await http.get<KcUserJson[]>('/users', { [field]: ref.value, exact: 'true', briefRepresentation: 'false' }).catch(this.explain('look a manager up'));
              found = (res.body ?? []).find((x) => String(x[field] ?? '').toLowerCase() === ref.value.toLowerCase());
            }
            known.set(k, found && typeof found.id === 'string' ? { id: found.id, attrs: this.toSourceUser(found, null).attrs } : null);
          }
          const m = known.get(k);
          // Unknown to Keycloak: the reference stays as written (the engine may still know it).
          if (m) u.manager = { id: m.id, attrs: m.attrs };
        }
      },
    };
  }

  private managerRef(v: string | undefined): ManagerRef | null {
    if (!v || !v.trim()) return null;
    const value = v.trim();
    if (this.cfg.manager.refersTo === 'id') return { id: value };
    return { key: this.cfg.manager.refersTo === 'email' ? 'email' : 'username', value };
  }

  async *listGroups(query: SourceQuery): AsyncIterable<SourceGroup[]> {
    const http = this.http.withSignal(query.signal);
    for (const g of await groupTree(http).catch(this.explain('list groups'))) {
      // A group deleted since the tree was read is no longer a group.
      const members = await memberIds(http, g.id).catch(this.explain('read group members'));
      if (members) yield [{ id: g.id, name: this.groupName(g), members }];
    }
  }

  async getUser(ref: string, query: SourceQuery): Promise<SourceUser | null> {
    const wanted = ref.trim();
    if (!wanted) return null;
    let raw: KcUserJson | undefined;
    if (UUID.test(wanted)) {
      const res = await this.http.get<KcUserJson>(`/users/${encodeURIComponent(wanted)}`, undefined, [404]).catch(this.explain('read a user'));
      raw = res.status === 200 ? res.body : undefined;
    }
    for (const field of ['username', 'email'] as const) {
      if (raw) break;
      const res = await this.http.get<KcUserJson[]>('/users', { [field]: wanted, exact: 'true', briefRepresentation: 'false' }).catch(this.explain('look a user up'));
      raw = (res.body ?? []).find((u) => String(u[field] ?? '').toLowerCase() === wanted.toLowerCase());
    }
    if (!raw) return null;
    const user = this.toSourceUser(raw, query);
    if (query.manager) await this.managerIndex().resolve(this.http, [user]);
    if (this.cfg.search || this.cfg.attributeQuery) {
      const res = await this.http.get<KcUserJson[]>('/users', { ...this.scope(), username: String(raw.username ?? ''), exact: 'true', briefRepresentation: 'true' }).catch(this.explain('check a user against the connector scope'));
      if (!(res.body ?? []).some((u) => u.id === user.id)) {
        user.outOfScope = `outside the connector's ${[this.cfg.search && `search "${this.cfg.search}"`, this.cfg.attributeQuery && `attribute query ${this.cfg.attributeQuery}`].filter(Boolean).join(' and ')}`;
        return user;
      }
    }
    if (query.groups || this.cfg.requiredGroups.length) {
      const groups = await this.groupsOf(this.http, user.id);
      if (groups === null) return null;
      if (this.cfg.requiredGroups.length && !(await this.requiredMembers(this.http)).has(user.id)) user.outOfScope = `not a member of the required groups: ${this.cfg.requiredGroups.join(', ')}`;
      if (query.groups) user.groups = groups;
    }
    return user;
  }

  async searchUsers(text: string, limit: number): Promise<UserHit[]> {
    const wanted = text.trim();
    if (!wanted) return [];
    const res = await this.http.get<KcUserJson[]>('/users', { search: wanted, max: Math.max(1, limit), briefRepresentation: 'true' }).catch(this.explain('search users'));
    return (res.body ?? []).slice(0, limit).map((u) => ({
      id: String(u.id),
      displayName: [u.firstName, u.lastName].filter(Boolean).join(' ') || null,
      userPrincipalName: u.username ?? null,
      mail: u.email ?? null,
    }));
  }

  async attributes(): Promise<AttributeInfo[]> {
    const found = [...KEYCLOAK_ATTRIBUTES];
    try {
      const res = await this.http.get<KcUserJson[]>('/users', { max: 200, briefRepresentation: 'false' });
      const names = new Set<string>();
      for (const u of res.body ?? []) for (const k of Object.keys(u.attributes ?? {})) if (k !== this.cfg.manager.attribute) names.add(k);
      for (const k of [...names].sort()) found.push({ path: `attributes.${k}`, type: 'string[]', description: 'User attribute (found on users)' });
    } catch {
      // test() says why; typing the attribute path still works.
    }
    return found;
  }

  async test(): Promise<TestResult> {
    const { checks, run } = checklist();
    if (await run('token', async () => (await this.accessToken(), `signed in as client ${this.cfg.clientId} in realm ${this.cfg.realm}`))) {
      if (await run('read users', async () => `can read users (${(await this.http.get<number>('/users/count', this.scope()).catch(this.explain('count users'))).body} in scope)`)) {
        await run('read groups', async () => `can read groups (${(await groupTree(this.http).catch(this.explain('list groups'))).length})`);
      }
    }
    return { ok: checks.every((c) => c.ok), checks };
  }
}
