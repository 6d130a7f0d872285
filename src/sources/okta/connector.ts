// The Okta source: reads users page by page from the Okta management API (Link paging, the
// admin's search or filter expression passed to Okta), the whole profile with custom
// attributes, the manager as a reference, group memberships on demand, paced by Okta's
// rate-limit headers, and never takes a failure for the end of the directory.
//
// Status policy (one place: `lifecycleOf`): DEPROVISIONED users are deactivated, on their way
// to deletion: they are treated as deleted (left out of listings, null from getUser, removed
// as soft-deleted by changes()). SUSPENDED and STAGED users are listed with `active: false`;
// every other status (ACTIVE, PASSWORD_EXPIRED, LOCKED_OUT, RECOVERY, PROVISIONED) is active.
import type { AttributeInfo, ChangePage, ManagerRef, SourceConnector, SourceGroup, SourceQuery, SourceUser, TestResult, UserHit, UserPage } from '../../core/types.ts';
import { HttpClient, realSleep } from '../../core/http.ts';
import { IdsyncError } from '../../core/errors.ts';
import { resolveSecret } from '../../config/secrets.ts';
import type { ConnectorContext } from '../registry.ts';
import type { OktaConfig } from './config.ts';
import { ALWAYS_KEPT, BASE_PROFILE_NAMES, STATIC_ATTRIBUTES, typeOf, typeOfValue } from './catalogue.ts';
import { explainOktaError, oktaErrorMessage, type CredentialKind } from './errors.ts';
import { OktaApi } from './okta-api.ts';
import { RatePacer } from './pacer.ts';
import { OktaTokenProvider } from './token.ts';
import { cheaper, updatedSince, groupMemberIds, groupsOfUser, listGroupsOfTypes, membershipsByGroup, type ListedGroup } from './groups.ts';
import { completePage, groupNameChanges } from '../group-list.ts';
import { decodeCheckpoint, digestOf, encodeCheckpoint, OVERLAP_MS } from './checkpoint.ts';
import { ManagerAttrs } from './managers.ts';
import { checklist } from '../../core/checklist.ts';

export interface OktaUserJson {
  id?: unknown;
  status?: unknown;
  lastUpdated?: unknown;
  profile?: Record<string, unknown>;
  [k: string]: unknown;
}

const USERS = 'okta.users.read';
const GROUPS = 'okta.groups.read';
const TOP_LEVEL = ['id', 'status', 'created', 'activated', 'statusChanged', 'lastLogin', 'lastUpdated', 'passwordChanged', 'type'];
const INACTIVE = new Set(['SUSPENDED', 'STAGED']);

/** The one status policy: deleted (DEPROVISIONED), or listed and active or not. */
export function lifecycleOf(status: unknown): 'deleted' | 'active' | 'inactive' {
  if (status === 'DEPROVISIONED') return 'deleted';
  return INACTIVE.has(String(status)) ? 'inactive' : 'active';
}

/** A string literal of Okta's expression language. */
export function oktaString(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

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
      reject(signal.reason instanceof Error ? signal.reason : new IdsyncError('INTERNAL', 'the Okta read was cancelled'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export class OktaSource implements SourceConnector {
  readonly kind = 'okta';
  readonly http: HttpClient;
  readonly api: OktaApi;
  readonly pacer: RatePacer;
  readonly tokens?: OktaTokenProvider;
  private readonly credentialKind: CredentialKind;
  private readonly requiredGroups: string[];
  /** How the last listing read memberships (tests). */
  lastMembershipStrategy: 'perUser' | 'perGroup' | undefined;

  constructor(
    private readonly cfg: OktaConfig,
    ctx: ConnectorContext,
  ) {
    const retry = ctx.fastRetries ? { baseDelayMs: 1, maxDelayMs: 5 } : undefined;
    const baseUrl = cfg.orgUrl.replace(/\/+$/, '');
    this.credentialKind = cfg.apiToken ? 'apiToken' : 'oauth';
    if (cfg.oauth) {
      const oauth = cfg.oauth;
      const login = new HttpClient({ service: 'Okta sign-in', baseUrl, ca: ctx.ca, errorMessage: oktaErrorMessage, retry, recorder: ctx.recorder });
      this.tokens = new OktaTokenProvider(login, { clientId: oauth.clientId, scopes: oauth.scopes, keyId: oauth.keyId, privateKey: () => resolveSecret(oauth.privateKey, 'Okta oauth.privateKey', ctx.storedSecret) });
    }
    const apiToken = cfg.apiToken;
    this.http = new HttpClient({
      service: 'Okta',
      baseUrl,
      ca: ctx.ca,
      authHeaders: async () =>
        apiToken ? { authorization: `SSWS ${resolveSecret(apiToken, 'Okta apiToken', ctx.storedSecret).reveal()}` } : { authorization: `Bearer ${await this.tokens!.get()}` },
      onUnauthorized: this.tokens ? () => this.tokens!.invalidate() : undefined,
      errorMessage: oktaErrorMessage,
      retry,
      recorder: ctx.recorder,
    });
    this.pacer = new RatePacer(cfg.rateLimitReservePercent / 100, sleepUnless);
    this.api = new OktaApi(this.http, this.pacer, sleepUnless);
    this.requiredGroups = cfg.requiredGroups ?? [];
  }

  async close(): Promise<void> {
    await this.http.close();
  }

  private explain(what: string, scope = USERS) {
    return (e: unknown) => {
      throw explainOktaError(e, what, scope, this.credentialKind);
    };
  }

  /** The listing's scope as Okta query parameters: the admin's search or filter, as written. */
  private scopeQuery(): Record<string, string> {
    if (this.cfg.search) return { search: this.cfg.search };
    if (this.cfg.filter) return { filter: this.cfg.filter };
    return {};
  }

  // ------------------------------------------------------------------ listing

  async *listUsers(query: SourceQuery): AsyncIterable<UserPage> {
    const api = this.api.withSignal(query.signal);
    query.signal?.throwIfAborted();
    const pages = api.pages<OktaUserJson>('/api/v1/users', { ...this.scopeQuery(), limit: this.cfg.pageSize })[Symbol.asyncIterator]();
    const first = await pages.next().catch(this.explain('list users'));
    // Memberships: decided once the first page shows how many users there are at least.
    const firstCount = first.done ? 0 : first.value.length;
    const plan = query.groups || this.requiredGroups.length ? await this.planMemberships(api, query.groups, firstCount) : undefined;
    const managers = query.manager ? this.managerAttrs() : undefined;
    let result = first;
    while (!result.done) {
      query.signal?.throwIfAborted();
      let users = this.readUsers(result.value, query, managers);
      if (plan) users = await this.applyMemberships(api, users, plan, query.groups);
      if (managers) await managers.attach(api, users).catch(this.explain('read managers'));
      if (users.length) yield { users };
      result = await pages.next().catch(this.explain('list users'));
    }
    // With groups asked, the groups of the configured types (those users' names come from), for
    // the engine's shadow of groups: listed by the plan already, or now (a page of 10,000 groups).
    const groups = query.groups ? (plan?.strategy === 'perGroup' ? plan.groups : await listGroupsOfTypes(api, this.cfg.groupTypes).catch(this.explain('list groups', GROUPS))) : undefined;
    // Okta has no count to check against: the listing ended because the last page had no
    // rel="next", confirmed by asking for it again (OktaApi.pages).
    yield completePage(groups);
  }

  /** How this listing reads memberships, and the required groups' members when groups are not asked. */
  private async planMemberships(api: OktaApi, groupsAsked: boolean, usersAtLeast: number): Promise<MembershipPlan> {
    const types = this.cfg.groupTypes;
    let required: Set<string> | undefined;
    if (this.requiredGroups.length && !groupsAsked) required = await this.requiredMembers(api);
    if (!groupsAsked) return { strategy: 'none', required };
    let strategy = this.cfg.membershipStrategy;
    let groups: ListedGroup[] | undefined;
    if (strategy !== 'perUser') {
      groups = await listGroupsOfTypes(api, types).catch(this.explain('list groups', GROUPS));
      if (strategy === 'auto') strategy = cheaper(groups.length, usersAtLeast === this.cfg.pageSize ? usersAtLeast + 1 : usersAtLeast);
    }
    this.lastMembershipStrategy = strategy as 'perUser' | 'perGroup';
    if (strategy === 'perGroup') {
      const byUser = await membershipsByGroup(api, groups!).catch(this.explain('read group members', GROUPS));
      return { strategy: 'perGroup', byUser, groups: groups! };
    }
    return { strategy: 'perUser' };
  }

  private async applyMemberships(api: OktaApi, users: SourceUser[], plan: MembershipPlan, groupsAsked: boolean): Promise<SourceUser[]> {
    const required = this.requiredGroups.map((g) => g.toLowerCase());
    const out: SourceUser[] = [];
    for (const u of users) {
      if (plan.strategy === 'none') {
        if (plan.required && !plan.required.has(u.id)) continue;
        out.push(u);
        continue;
      }
      let groups: string[] | null;
      if (plan.strategy === 'perGroup') groups = plan.byUser.get(u.id) ?? [];
      else groups = await groupsOfUser(api, u.id, this.cfg.groupTypes).catch(this.explain('read group memberships'));
      if (groups === null) continue; // deleted between the user page and its groups
      if (required.length && !groups.some((g) => required.includes(g.toLowerCase())) && !(await this.inRequiredOutsideTypes(api, u.id))) continue;
      if (groupsAsked) u.groups = groups;
      out.push(u);
    }
    return out;
  }

  /** Required groups of a type left out of `groups` (e.g. BUILT_IN Everyone) are checked by their members. */
  private requiredOutside?: Promise<Set<string>>;
  private async inRequiredOutsideTypes(api: OktaApi, userId: string): Promise<boolean> {
    this.requiredOutside ??= this.requiredMembers(api, true);
    return (await this.requiredOutside).has(userId);
  }

  /** Ids of the members of the required groups (only those outside the configured types, when `outsideTypes`). */
  private async requiredMembers(api: OktaApi, outsideTypes = false): Promise<Set<string>> {
    const all = await listGroupsOfTypes(api, ['OKTA_GROUP', 'APP_GROUP', 'BUILT_IN']).catch(this.explain('list groups', GROUPS));
    const ids = new Set<string>();
    for (const name of this.requiredGroups) {
      const g = all.find((x) => x.name.toLowerCase() === name.toLowerCase());
      if (!g) throw new IdsyncError('CONFIG', `required group '${name}' does not exist in Okta`, { hint: 'check the group name in requiredGroups (Directory > Groups)' });
      if (outsideTypes && this.cfg.groupTypes.includes(g.type as never)) continue;
      for (const id of await groupMemberIds(api, g.id).catch(this.explain(`read the members of group '${name}'`, GROUPS))) ids.add(id);
    }
    return ids;
  }

  /** A page's users in scope as SourceUsers; remembered (full attributes) for the managers' views. */
  private readUsers(page: OktaUserJson[], query: SourceQuery, managers: ManagerAttrs | undefined): SourceUser[] {
    const read = page.filter((raw) => lifecycleOf(raw.status) !== 'deleted').map((raw) => ({ user: this.toSourceUser(raw, query), all: this.toSourceUser(raw, null).attrs }));
    managers?.note(read);
    return read.map((r) => r.user);
  }

  /** Reads a manager the listing has not met: by id or login directly, by e-mail through a search. */
  private managerAttrs(): ManagerAttrs {
    return new ManagerAttrs(async (api, ref) => {
      let raw: OktaUserJson | undefined;
      if ('id' in ref || ref.key === 'username') {
        const res = await api.get<OktaUserJson>(`/api/v1/users/${encodeURIComponent('id' in ref ? ref.id : ref.value)}`, undefined, [404]);
        raw = res.status === 200 ? res.body : undefined;
      } else {
        const res = await api.get<OktaUserJson[]>('/api/v1/users', { search: `profile.email eq ${oktaString(ref.value)}`, limit: 2 });
        raw = Array.isArray(res.body) ? res.body[0] : undefined;
      }
      return raw && lifecycleOf(raw.status) !== 'deleted' ? this.toSourceUser(raw, null).attrs : null;
    });
  }

  /** Okta JSON → SourceUser: the profile flattened beside the user's own fields, the manager as a reference. */
  toSourceUser(raw: OktaUserJson, query: SourceQuery | null): SourceUser {
    if (typeof raw.id !== 'string') throw new IdsyncError('TRANSIENT', 'Okta returned a user without an id', { hint: 'retry the run' });
    const profile = raw.profile && typeof raw.profile === 'object' ? raw.profile : {};
    const managerAttr = this.cfg.manager.attribute;
    const all: Record<string, unknown> = {};
    for (const k of TOP_LEVEL) if (k in raw) all[k] = raw[k];
    all.active = lifecycleOf(raw.status) === 'active';
    for (const [k, v] of Object.entries(profile)) {
      if (k === managerAttr || k === 'manager' || k in all) continue;
      all[k] = v;
    }
    let attrs = all;
    if (query) {
      const asked = new Set(query.attributes.map((a) => a.split('.')[0]!));
      attrs = Object.fromEntries(Object.entries(all).filter(([k]) => asked.has(k) || ALWAYS_KEPT.includes(k)));
    }
    const user: SourceUser = { id: raw.id, attrs };
    const keys: SourceUser['keys'] = {};
    if (typeof profile.login === 'string') keys.username = profile.login;
    if (typeof profile.email === 'string') keys.email = profile.email;
    if (this.cfg.manager.refersTo !== 'id') user.keys = keys;
    if (!query || query.manager) user.manager = this.managerRef(profile[managerAttr]);
    return user;
  }

  private managerRef(value: unknown): ManagerRef | null {
    if (typeof value !== 'string' || value.trim() === '') return null;
    const v = value.trim();
    switch (this.cfg.manager.refersTo) {
      case 'id':
        return { id: v };
      case 'login':
        return { key: 'username', value: v };
      case 'email':
        return { key: 'email', value: v };
    }
  }

  // ------------------------------------------------------------------ incremental

  private checkpointDigest(query: SourceQuery): string {
    const { search, filter, groupTypes, manager, requiredGroups } = this.cfg;
    return digestOf({ a: [...query.attributes].sort(), g: query.groups, m: query.manager, search, filter, groupTypes, manager, requiredGroups });
  }

  /**
   * Users updated since the checkpoint (see checkpoint.ts). Deactivated (DEPROVISIONED) users
   * come back as soft-deleted removals. Okta lists no deleted users and does not move a user's
   * lastUpdated when its group memberships change: deletions that skipped deactivation, users
   * leaving the search expression and membership changes are noticed by the next full read.
   */
  async *changes(checkpoint: string | null, query: SourceQuery): AsyncIterable<ChangePage> {
    const digest = this.checkpointDigest(query);
    const api = this.api.withSignal(query.signal);
    if (checkpoint === null) {
      let startedAt: number | undefined;
      const seen: Record<string, string> = {};
      const pages: SourceUser[][] = [];
      for await (const page of this.listUsers(query)) {
        startedAt ??= this.api.serverTime ?? Date.now();
        if (page.users.length) pages.push(page.users);
        if (page.complete) {
          const at = new Date((startedAt ?? Date.now()) - OVERLAP_MS).toISOString();
          for (const u of pages.flat()) if (typeof u.attrs.lastUpdated === 'string' && u.attrs.lastUpdated >= at) seen[u.id] = u.attrs.lastUpdated;
          for (const users of pages.slice(0, -1)) yield { users, removed: [] };
          yield { users: pages.at(-1) ?? [], removed: [], complete: true, checkpoint: encodeCheckpoint({ at, seen, digest }), ...(page.groupList ? { groupList: page.groupList } : {}) };
        }
      }
      return;
    }
    const previous = decodeCheckpoint(checkpoint, digest);
    const since = `lastUpdated ge ${oktaString(previous.at)}`;
    const params: Record<string, string | number> = { limit: this.cfg.pageSize };
    if (this.cfg.search) params.search = `(${this.cfg.search}) and ${since}`;
    else if (this.cfg.filter) params.filter = `(${this.cfg.filter}) and ${since}`;
    else params.filter = since;
    let startedAt: number | undefined;
    const changed: SourceUser[] = [];
    const removed: ChangePage['removed'] = [];
    const versions: Record<string, string> = {};
    try {
      for await (const page of api.pages<OktaUserJson>('/api/v1/users', params)) {
        startedAt ??= api.serverTime ?? Date.now();
        for (const raw of page) {
          if (typeof raw.id !== 'string') continue;
          const version = String(raw.lastUpdated ?? '');
          versions[raw.id] = version;
          if (previous.seen[raw.id] === version) continue; // delivered by the previous round
          if (lifecycleOf(raw.status) === 'deleted') removed.push({ id: raw.id, reason: 'soft-deleted' });
          else changed.push(this.toSourceUser(raw, query));
        }
      }
    } catch (e) {
      this.explain('read changed users')(e);
    }
    let users = changed;
    if (query.manager && users.length) await this.managerAttrs().attach(api, users).catch(this.explain('read managers'));
    if ((query.groups || this.requiredGroups.length) && users.length) {
      const plan: MembershipPlan = query.groups ? { strategy: 'perUser' } : { strategy: 'none', required: await this.requiredMembers(api) };
      users = await this.applyMemberships(api, users, plan, query.groups);
    }
    // One listing of the groups of groupTypes (as a full read lists them: paged to its end, the
    // last page asked again, so an early-looking end is not taken for it) serves twice:
    // - a group's lastUpdated moves when its profile (its name) changes, not its members: the
    //   groups updated since the checkpoint go to the engine under their current names, so a
    //   renamed group's members follow (a name the engine holds already is no change);
    // - its ids are the round's census (ChangePage.groupCensus): a deleted group is no longer
    //   listed, and the engine takes it from its members in this run. Okta lists no deleted
    //   group and the System Log (group.lifecycle.delete) has no completeness to check, so the
    //   census, not the log, tells. The same requests as the `search=lastUpdated ge` it replaces.
    const listing = query.groups ? await listGroupsOfTypes(api, this.cfg.groupTypes).catch(this.explain('list groups', GROUPS)) : [];
    const groups = updatedSince(listing, previous.at);
    const at = new Date(Math.max(Date.parse(previous.at), (startedAt ?? Date.now()) - OVERLAP_MS)).toISOString();
    const seen: Record<string, string> = {};
    for (const [id, v] of Object.entries({ ...previous.seen, ...versions })) if (v >= at) seen[id] = v;
    yield { users, removed, checkpoint: encodeCheckpoint({ at, seen, digest }), ...(groups.length ? { groups: groupNameChanges(groups) } : {}), ...(query.groups ? { groupCensus: listing.map((g) => g.id) } : {}) };
  }

  // ------------------------------------------------------------------ groups

  async *listGroups(query: SourceQuery): AsyncIterable<SourceGroup[]> {
    const api = this.api.withSignal(query.signal);
    const groups = await listGroupsOfTypes(api, this.cfg.groupTypes).catch(this.explain('list groups', GROUPS));
    for (const g of groups) {
      query.signal?.throwIfAborted();
      const members = await groupMemberIds(api, g.id).catch(this.explain(`read the members of group '${g.name}'`, GROUPS));
      yield [{ id: g.id, name: g.name, members }];
    }
  }

  // ------------------------------------------------------------------ one user

  async getUser(ref: string, query: SourceQuery): Promise<SourceUser | null> {
    const wanted = ref.trim();
    if (!wanted) return null;
    const res = await this.api.get<OktaUserJson>(`/api/v1/users/${encodeURIComponent(wanted)}`, undefined, [404]).catch(this.explain('read a user'));
    let raw: OktaUserJson | undefined = res.status === 200 ? res.body : undefined;
    if (!raw && wanted.includes('@')) {
      // An e-mail address that is not the login.
      const found = await this.api.get<OktaUserJson[]>('/api/v1/users', { search: `profile.email eq ${oktaString(wanted)}`, limit: 10 }).catch(this.explain('search a user by e-mail'));
      raw = (Array.isArray(found.body) ? found.body : []).find((u) => lifecycleOf(u.status) !== 'deleted');
    }
    if (!raw || lifecycleOf(raw.status) === 'deleted') return null;
    const user = this.toSourceUser(raw, query);
    if (query.manager) await this.managerAttrs().attach(this.api, [user]).catch(this.explain('read the manager'));
    const scope = this.cfg.search ?? this.cfg.filter;
    if (scope && !(await this.inScope(user.id))) {
      user.outOfScope = `outside the connector's ${this.cfg.search ? 'search' : 'filter'} expression: ${scope}`;
      return user;
    }
    if (query.groups || this.requiredGroups.length) {
      const groups = await groupsOfUser(this.api, user.id, this.cfg.groupTypes).catch(this.explain('read group memberships'));
      if (groups === null) return null;
      if (this.requiredGroups.length) {
        const required = this.requiredGroups.map((g) => g.toLowerCase());
        if (!groups.some((g) => required.includes(g.toLowerCase())) && !(await this.requiredMembers(this.api, true)).has(user.id)) {
          user.outOfScope = `not a member of the required groups: ${this.requiredGroups.join(', ')}`;
        }
      }
      if (query.groups) user.groups = groups;
    }
    return user;
  }

  /** Whether Okta lists this user under the connector's expression (asked of Okta, by the listing's own rule). */
  private async inScope(id: string): Promise<boolean> {
    const q = this.cfg.search ? { search: `(${this.cfg.search}) and id eq ${oktaString(id)}` } : { filter: `(${this.cfg.filter}) and id eq ${oktaString(id)}` };
    const res = await this.api.get<OktaUserJson[]>('/api/v1/users', { ...q, limit: 1 }).catch(this.explain('check a user against the connector expression'));
    return Array.isArray(res.body) && res.body.some((u) => u.id === id);
  }

  async searchUsers(text: string, limit: number): Promise<UserHit[]> {
    const wanted = text.trim();
    if (!wanted) return [];
    const literal = oktaString(wanted);
    const prefix = ['displayName', 'firstName', 'lastName', 'login', 'email'].map((p) => `profile.${p} sw ${literal}`).join(' or ');
    const search = this.cfg.search ? `(${this.cfg.search}) and (${prefix})` : prefix;
    const res = await this.api.get<OktaUserJson[]>('/api/v1/users', { search, limit: Math.max(1, Math.min(limit, 200)) }).catch(this.explain('search users'));
    return (Array.isArray(res.body) ? res.body : [])
      .filter((u) => typeof u.id === 'string' && lifecycleOf(u.status) !== 'deleted')
      .slice(0, limit)
      .map((u) => {
        const p = u.profile ?? {};
        const s = (v: unknown) => (typeof v === 'string' ? v : null);
        return { id: u.id as string, displayName: s(p.displayName) ?? ([s(p.firstName), s(p.lastName)].filter(Boolean).join(' ') || null), userPrincipalName: s(p.login), mail: s(p.email) };
      });
  }

  // ------------------------------------------------------------------ catalogue and checks

  async attributes(): Promise<AttributeInfo[]> {
    const found = [...STATIC_ATTRIBUTES];
    const known = new Set(found.map((a) => a.path));
    const add = (a: AttributeInfo) => {
      if (known.has(a.path)) return;
      known.add(a.path);
      found.push(a);
    };
    try {
      const res = await this.api.get<{ definitions?: { custom?: { properties?: Record<string, { title?: string; type?: string; items?: { type?: string } }> } } }>('/api/v1/meta/schemas/user/default');
      for (const [name, p] of Object.entries(res.body?.definitions?.custom?.properties ?? {})) {
        add({ path: name, type: typeOf(p), description: p.title && p.title !== name ? `Custom attribute: ${p.title}` : 'Custom attribute' });
      }
    } catch {
      // Without okta.schemas.read (or an admin role that may read schemas), custom attributes
      // are taken from the users themselves: the first page shows those that have values.
      try {
        const res = await this.api.get<OktaUserJson[]>('/api/v1/users', { limit: 200 });
        for (const u of Array.isArray(res.body) ? res.body : []) {
          for (const [name, v] of Object.entries(u.profile ?? {})) {
            if (!BASE_PROFILE_NAMES.has(name) && v !== null && v !== undefined) add({ path: name, type: typeOfValue(v), description: 'Custom attribute (found on users)' });
          }
        }
      } catch {
        // Reading users fails too: test() says why; typing the attribute name still works.
      }
    }
    return found;
  }

  async test(): Promise<TestResult> {
    const { checks, run } = checklist();
    if (this.tokens) {
      const signedIn = await run('token', async () => {
        await this.tokens!.get();
        return `signed in as service app ${this.cfg.oauth!.clientId} with scopes ${this.cfg.oauth!.scopes.join(' ')}`;
      });
      if (!signedIn) return { ok: false, checks };
    }
    const usersOk = await run('read users', async () => {
      const res = await this.api.get<OktaUserJson[]>('/api/v1/users', { ...this.scopeQuery(), limit: 1 }).catch(this.explain('list users'));
      const first = Array.isArray(res.body) ? res.body[0] : undefined;
      return first ? `can read users (first: ${String(first.profile?.login)})` : 'can read users, but Okta returned none for this connector';
    });
    if (usersOk) {
      await run('read groups', async () => {
        await this.api.get('/api/v1/groups', { limit: 1 }).catch(this.explain('list groups', GROUPS));
        return 'can read groups and memberships';
      });
      await run('user schema', async () => {
        try {
          await this.api.get('/api/v1/meta/schemas/user/default');
          return 'can read the user schema: custom attributes are listed in the mapping editor';
        } catch {
          return 'cannot read the user schema (okta.schemas.read not granted): custom attributes are taken from the users read';
        }
      });
      for (const name of this.requiredGroups) {
        await run(`required group ${name}`, async () => {
          const res = await this.api.get<Array<{ profile?: { name?: string } }>>('/api/v1/groups', { q: name, limit: 200 }).catch(this.explain('look up groups', GROUPS));
          if (!(Array.isArray(res.body) ? res.body : []).some((g) => g.profile?.name?.toLowerCase() === name.toLowerCase())) {
            throw new IdsyncError('CONFIG', `required group '${name}' does not exist in Okta`, { hint: 'check the group name in requiredGroups (Directory > Groups)' });
          }
          return `group '${name}' found`;
        });
      }
    }
    return { ok: checks.every((c) => c.ok), checks };
  }
}

type MembershipPlan =
  | { strategy: 'none'; required?: Set<string> }
  | { strategy: 'perUser' }
  | { strategy: 'perGroup'; byUser: Map<string, string[]>; groups: ListedGroup[] };
