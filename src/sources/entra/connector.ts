// The Entra ID source: reads users page by page from Microsoft Graph with exactly the
// properties the mapping needs, the manager as a reference and group memberships on demand,
// and never mistakes a failure for the end of the directory.
import type { AttributeInfo, ChangePage, ManagerRef, SourceConnector, SourceGroup, SourceQuery, SourceUser, TestResult, UserHit, UserPage } from '../../core/types.ts';
import { HttpClient } from '../../core/http.ts';
import { IdsyncError } from '../../core/errors.ts';
import { resolveSecret } from '../../config/secrets.ts';
import type { ConnectorContext } from '../registry.ts';
import type { EntraConfig } from './config.ts';
import { MANAGER_FIELDS, STATIC_ATTRIBUTES } from './catalogue.ts';
import { explainGraphError, microsoftErrorMessage } from './errors.ts';
import { MembershipReader, type Memberships } from './memberships.ts';
import { listGroups, readGroupsByUser, userMembers, type GroupListing, type GroupsByUser, type ListedGroup } from './groups.ts';
import { cheaperStrategy, countUsers, groupsWherePerUserWins, type MembershipStrategy } from './strategy.ts';
import { assertListable, odataString, selectFor } from './query.ts';
import { needsAdvancedQuery, withAdvanced } from './advanced-query.ts';
import { ManagerReader, managerRef } from './manager-reader.ts';
import { assertCompleteRead, odataCount } from './completeness.ts';
import { TokenProvider, type Credential } from './token.ts';
import { EntraDelta, groupsWithMembers, type DeltaSettings } from './delta.ts';
import { checklist } from '../../core/checklist.ts';
import { completePage } from '../group-list.ts';

interface GraphPage {
  value?: Array<Record<string, unknown>>;
  '@odata.nextLink'?: string;
}

/** How one listing reads memberships: the per-user reader, or every member list already read. */
type MembershipPlan = (
  | { strategy: 'perUser'; reader: MembershipReader; requiredOutside?: Set<string> }
  | { strategy: 'perGroup'; byUser: GroupsByUser; requiredOutside?: Set<string> }
) & {
  /** The groups users' `groups` can name (the groupFilter's), when the plan listed them all. */
  listed?: readonly ListedGroup[];
};

/** Marks a promise as observed (it is awaited later, or abandoned when the consumer stops early). */
function handled<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

const USERS_PERMISSION = 'User.Read.All';
/** What a user search matches by prefix: Graph filters these with startswith without advanced queries. */
const SEARCHED_PROPERTIES = ['displayName', 'givenName', 'surname', 'userPrincipalName', 'mail'];
const GROUPS_PERMISSION = 'GroupMember.Read.All';

/** User pages downloaded ahead of the engine (each ~100-999 users). */
const READ_AHEAD = 3;

export class EntraSource implements SourceConnector {
  readonly kind = 'entra';
  readonly graph: HttpClient;
  readonly login: HttpClient;
  readonly tokens: TokenProvider;
  private readonly requiredGroups: string[];
  private readonly baseDelayMs: number;
  /** How the last listing read group memberships (undefined until a listing needed them). */
  lastMembershipStrategy: MembershipStrategy | undefined;

  constructor(
    private readonly cfg: EntraConfig,
    ctx: ConnectorContext,
  ) {
    const retry = ctx.fastRetries ? { baseDelayMs: 1, maxDelayMs: 5 } : undefined;
    this.login = new HttpClient({ service: 'Microsoft Entra ID sign-in', baseUrl: cfg.authorityHost, ca: ctx.ca, errorMessage: microsoftErrorMessage, retry, recorder: ctx.recorder });
    this.tokens = new TokenProvider(this.login, {
      tenantId: cfg.tenantId,
      clientId: cfg.clientId,
      resource: cfg.graphUrl,
      credential: () => this.credential(ctx),
    });
    this.graph = new HttpClient({
      service: 'Microsoft Graph',
      baseUrl: `${cfg.graphUrl.replace(/\/+$/, '')}/v1.0`,
      ca: ctx.ca,
      authHeaders: async () => ({ authorization: `Bearer ${await this.tokens.get()}` }),
      onUnauthorized: () => this.tokens.invalidate(),
      errorMessage: microsoftErrorMessage,
      retry,
      recorder: ctx.recorder,
    });
    this.baseDelayMs = ctx.fastRetries ? 1 : 500;
    this.requiredGroups = cfg.requiredGroups ?? [];
  }

  private credential(ctx: ConnectorContext): Credential {
    if (this.cfg.clientSecret) return { kind: 'secret', secret: resolveSecret(this.cfg.clientSecret, 'Entra ID clientSecret', ctx.storedSecret) };
    const c = this.cfg.certificate!;
    const certificatePem = c.certificate === undefined ? undefined : typeof c.certificate === 'string' ? c.certificate : resolveSecret(c.certificate, 'Entra ID certificate', ctx.storedSecret).reveal();
    return { kind: 'certificate', privateKey: resolveSecret(c.privateKey, 'Entra ID certificate.privateKey', ctx.storedSecret), certificatePem, thumbprintHex: c.thumbprint };
  }

  async close(): Promise<void> {
    await Promise.all([this.graph.close(), this.login.close()]);
  }

  // ------------------------------------------------------------------ listing

  async *listUsers(query: SourceQuery): AsyncIterable<UserPage> {
    // Every request of this listing (pages read ahead, memberships, managers) stops when the
    // listing ends: failed, left early by the consumer, or cancelled through query.signal.
    const ended = new AbortController();
    const graph = this.graph.withSignal(query.signal ? AbortSignal.any([query.signal, ended.signal]) : ended.signal);
    const select = selectFor(query.attributes);
    assertListable(select);
    const advanced = needsAdvancedQuery('user', this.cfg.filter);
    const base: Record<string, string> = { $select: select.join(','), $top: String(this.cfg.pageSize) };
    // Graph caps $expand=manager pages at 100 whatever $top says; that is expected. It refuses
    // $expand in an advanced query: then managers are read per user, in batches.
    const managers = query.manager && advanced ? new ManagerReader(graph, { baseDelayMs: this.baseDelayMs }) : undefined;
    if (query.manager && !managers) base.$expand = `manager($select=${MANAGER_FIELDS.join(',')})`;
    if (this.cfg.filter) base.$filter = this.cfg.filter;
    const { query: params, headers } = withAdvanced(advanced, base);

    // Both are prepared while the first user page downloads, and awaited before it is yielded.
    // Without a groups rule, required groups are checked against their member lists, which
    // costs a few requests per group instead of one per user.
    const requiredIds = this.requiredGroups.length > 0 && !query.groups ? handled(this.requiredGroupMembers(this.requiredGroups, graph)) : undefined;
    // What Graph counts, to tell the end of the list from a page answered empty (completeness.ts):
    // an advanced listing has it on its first page, any other one asks /users/$count alongside.
    const counted = advanced ? undefined : handled(countableUsers(graph, this.cfg.filter));
    let firstPageCount: number | undefined;
    let read = 0;
    const plan = query.groups ? handled(this.planMemberships(graph, counted)) : undefined;

    const fetchPage = (url: string) =>
      graph
        .send<GraphPage>({ method: 'GET', url, headers })
        .catch((e) => {
          throw explainGraphError(e, 'list users', USERS_PERMISSION);
        })
        .then((res) => {
          if (!Array.isArray(res.body?.value)) throw new IdsyncError('TRANSIENT', 'Microsoft Graph returned a user page without a value list', { hint: 'retry the run' });
          return res.body;
        });

    const complete = async (page: GraphPage): Promise<SourceUser[]> => {
      if (read === 0) firstPageCount ??= odataCount(page);
      read += page.value!.length;
      let users = page.value!.map((raw) => toSourceUser(raw, query.manager && !managers));
      if (requiredIds) {
        const ids = await requiredIds;
        users = users.filter((u) => ids.has(u.id));
      }
      if (managers && users.length) await this.attachManagers(users, managers);
      if (plan && users.length) users = await this.applyMemberships(users, await plan);
      return users;
    };
    // A page is "prepared" from the moment its download starts until its users are complete
    // (memberships read, when per user). Each page names the next, so the next download starts
    // the moment a page arrives, not when the engine asks for it: the chain of pages runs at
    // the speed of Graph while the engine works. At most READ_AHEAD pages are held.
    type Prepared = { page: Promise<GraphPage>; users: Promise<SourceUser[]> };
    const queue: Prepared[] = [];
    let parked: string | undefined; // the next page's URL, while the read-ahead is full
    const launch = (url: string) => {
      const page = handled(fetchPage(url));
      queue.push({ page, users: handled(page.then(complete)) });
      page.then(
        (p) => {
          const next = p['@odata.nextLink'];
          if (!next) return;
          if (queue.length < READ_AHEAD) launch(next);
          else parked = next;
        },
        () => undefined, // the consumer sees the failure when it reaches this page
      );
    };

    launch(graph.resolve('/users', params));
    let groupList: Array<{ id: string; name: string }> | undefined;
    try {
      while (queue.length > 0) {
        query.signal?.throwIfAborted();
        const users = await queue[0]!.users;
        queue.shift();
        if (parked && queue.length < READ_AHEAD) {
          const next = parked;
          parked = undefined;
          launch(next);
        }
        if (users.length) yield { users };
      }
      // With memberships, the groups users' names come from, for the engine's shadow of groups
      // (read before the listing's requests are ended below).
      if (plan) groupList = await this.groupList(await plan, graph);
    } finally {
      parked = undefined;
      ended.abort(new IdsyncError('INTERNAL', 'the user listing ended'));
    }
    assertCompleteRead('users', read, advanced ? firstPageCount : await counted);
    // Graph's own count says every user in scope was returned (completeness.ts).
    yield completePage(groupList);
  }

  /**
   * The groups of the listing's scope (the groupFilter's, else every group), id and name: those
   * the plan listed in full already, else listed now (a few requests of 999 groups, against one
   * per user for the memberships themselves).
   */
  private async groupList(plan: MembershipPlan, graph: HttpClient): Promise<Array<{ id: string; name: string }>> {
    let listed = plan.listed;
    if (!listed) {
      try {
        listed = (await listGroups(graph, this.cfg.groupFilter)).groups;
      } catch (e) {
        throw explainGraphError(e, 'list groups', GROUPS_PERMISSION);
      }
    }
    return listed.map((g) => ({ id: g.id, name: g.displayName }));
  }

  /** Sets `manager` of users listed without `$expand=manager`. */
  private async attachManagers(users: SourceUser[], reader: ManagerReader): Promise<void> {
    let found: Map<string, ManagerRef | null>;
    try {
      found = await reader.forUsers(users.map((u) => u.id));
    } catch (e) {
      throw explainGraphError(e, 'read managers', USERS_PERMISSION);
    }
    for (const u of users) u.manager = found.get(u.id) ?? null;
  }

  /**
   * Decides how this listing reads group memberships (see strategy.ts) and, per group, reads
   * them all. With a groupFilter the matching groups are listed in either case, so both ways
   * give users the same `groups`.
   */
  private async planMemberships(graph: HttpClient, counted: Promise<number | undefined> | undefined): Promise<MembershipPlan> {
    const setting = this.cfg.membershipStrategy;
    const filter = this.cfg.groupFilter;
    let strategy: MembershipStrategy;
    let listing: GroupListing | undefined;
    try {
      if (setting === 'auto') {
        const users = (await counted) ?? (await this.estimateUsers(graph));
        // Without a groupFilter, listing can stop as soon as it is clear per user is cheaper.
        const enough = filter ? Infinity : groupsWherePerUserWins(users);
        listing = enough === 0 ? { groups: [], complete: false } : await listGroups(graph, filter, enough);
        strategy = listing.complete ? cheaperStrategy(users, listing.groups.length) : 'perUser';
      } else {
        strategy = setting;
        if (setting === 'perGroup' || filter) listing = await listGroups(graph, filter);
      }
    } catch (e) {
      throw explainGraphError(e, 'list groups', GROUPS_PERMISSION);
    }
    this.lastMembershipStrategy = strategy;
    const listed = listing?.complete ? listing.groups : undefined;
    const outside = listed ? await this.requiredOutside(listed, graph) : undefined;
    if (strategy === 'perUser') {
      const onlyGroupIds = filter ? new Set(listed!.map((g) => g.id)) : undefined;
      return { strategy, reader: this.membershipReader(onlyGroupIds, graph), requiredOutside: outside, listed };
    }
    try {
      const byUser = await readGroupsByUser(graph, listed!, this.cfg.transitiveGroups);
      return { strategy, byUser, requiredOutside: outside, listed };
    } catch (e) {
      throw explainGraphError(e, 'read group members', GROUPS_PERMISSION);
    }
  }

  /**
   * Members of required groups the group listing does not include (left out by groupFilter,
   * or not existing: then this fails with a CONFIG error naming the group).
   */
  private async requiredOutside(listed: readonly ListedGroup[], graph: HttpClient): Promise<Set<string> | undefined> {
    const names = new Set(listed.map((g) => g.displayName.toLowerCase()));
    const missing = this.requiredGroups.filter((r) => !names.has(r.toLowerCase()));
    return missing.length ? this.requiredGroupMembers(missing, graph) : undefined;
  }

  /** Users the listing will return, for choosing a strategy; the configured user filter narrows it when Graph can count with it. */
  private async estimateUsers(graph: HttpClient): Promise<number> {
    try {
      return await countUsers(graph, this.cfg.filter);
    } catch (e) {
      // Not every $filter can be counted; the whole directory is an upper bound.
      if (this.cfg.filter && e instanceof IdsyncError && e.code === 'BAD_REQUEST') return countUsers(graph, undefined);
      throw e;
    }
  }

  private membershipReader(onlyGroupIds?: ReadonlySet<string>, graph = this.graph): MembershipReader {
    return new MembershipReader(graph, { transitive: this.cfg.transitiveGroups, baseDelayMs: this.baseDelayMs, onlyGroupIds });
  }

  /** Sets `groups`, drops users that vanished meanwhile and, with required groups, non-members. */
  private async applyMemberships(users: SourceUser[], plan: MembershipPlan): Promise<SourceUser[]> {
    let memberships: Memberships | undefined;
    if (plan.strategy === 'perUser') {
      try {
        memberships = await plan.reader.forUsers(users.map((u) => u.id));
      } catch (e) {
        throw explainGraphError(e, 'read group memberships', GROUPS_PERMISSION);
      }
    }
    const byUser = plan.strategy === 'perGroup' ? plan.byUser : undefined;
    const required = this.requiredGroups.map((g) => g.toLowerCase());
    const out: SourceUser[] = [];
    for (const u of users) {
      // Per group: absent from every member list is in no (listed) group; asked of the index directly, no Map per page.
      const groups = byUser ? (byUser.get(u.id) ?? []) : memberships!.get(u.id);
      if (groups === null) continue; // deleted between the user page and the memberOf request
      if (groups === undefined) throw new IdsyncError('INTERNAL', `group memberships of user ${u.id} were not read`);
      if (required.length && !groups.some((g) => required.includes(g.toLowerCase())) && !plan.requiredOutside?.has(u.id)) continue;
      u.groups = groups;
      out.push(u);
    }
    return out;
  }

  /** One group's user members (transitive when configured), paged and checked against its count; null when it does not exist. */
  async groupMemberIds(groupId: string): Promise<string[] | null> {
    return userMembers(this.graph, { id: groupId, displayName: groupId }, this.cfg.transitiveGroups).catch((e) => {
      throw explainGraphError(e, `read the members of group ${groupId}`, GROUPS_PERMISSION);
    });
  }

  /** Ids of the (transitive, when configured) user members of the named groups, each list checked against its count. */
  private async requiredGroupMembers(groupNames: readonly string[], graph = this.graph): Promise<Set<string>> {
    const ids = new Set<string>();
    for (const name of groupNames) {
      const group = { id: await this.findGroupId(name, graph), displayName: name };
      const members = await userMembers(graph, group, this.cfg.transitiveGroups).catch((e) => {
        throw explainGraphError(e, `read the members of group '${name}'`, GROUPS_PERMISSION);
      });
      if (members === null) throw new IdsyncError('CONFIG', `required group '${name}' was deleted from Microsoft Entra ID while it was read`, { hint: 'check the group display name in requiredGroups' });
      for (const id of members) ids.add(id);
    }
    return ids;
  }

  private async findGroupId(displayName: string, graph = this.graph): Promise<string> {
    const res = await graph
      .get<GraphPage>('/groups', { $filter: `displayName eq ${odataString(displayName)}`, $select: 'id,displayName' })
      .catch((e) => {
        throw explainGraphError(e, 'look up groups', GROUPS_PERMISSION);
      });
    const found = res.body?.value ?? [];
    if (found.length === 0) {
      throw new IdsyncError('CONFIG', `required group '${displayName}' does not exist in Microsoft Entra ID`, { hint: 'check the group display name in requiredGroups' });
    }
    return String(found[0]!.id);
  }

  // ------------------------------------------------------------------ incremental and group reads

  /** What changed since `checkpoint` (null: a seeding round), through Graph's delta queries: see delta.ts. */
  async *changes(checkpoint: string | null, query: SourceQuery): AsyncIterable<ChangePage> {
    // As for a listing: every request stops once the read ends, fails or is cancelled.
    const ended = new AbortController();
    const graph = this.graph.withSignal(query.signal ? AbortSignal.any([query.signal, ended.signal]) : ended.signal);
    const delta = new EntraDelta(graph, { settings: this.deltaSettings(), baseDelayMs: this.baseDelayMs, listUsers: (q) => this.listUsers(q) });
    try {
      yield* delta.changes(checkpoint, query);
    } finally {
      ended.abort(new IdsyncError('INTERNAL', 'the incremental read ended'));
    }
  }

  /** Groups (those the groupFilter matches) with their user members' ids. */
  async *listGroups(query: SourceQuery): AsyncIterable<SourceGroup[]> {
    const ended = new AbortController();
    const graph = this.graph.withSignal(query.signal ? AbortSignal.any([query.signal, ended.signal]) : ended.signal);
    try {
      yield* groupsWithMembers(graph, this.deltaSettings(), query.signal);
    } finally {
      ended.abort(new IdsyncError('INTERNAL', 'the group listing ended'));
    }
  }

  private deltaSettings(): DeltaSettings {
    const { tenantId, graphUrl, filter, groupFilter, transitiveGroups } = this.cfg;
    return { tenantId, graphUrl, filter, groupFilter, transitiveGroups, requiredGroups: this.requiredGroups };
  }

  // ------------------------------------------------------------------ one user

  async getUser(ref: string, query: SourceQuery): Promise<SourceUser | null> {
    const wanted = ref.trim();
    if (!wanted) return null;
    const select = selectFor(query.attributes).join(',');
    let raw: Record<string, unknown> | undefined;
    try {
      // An object id or a UPN (guests: name_domain#EXT#@tenant) is a direct read, which Graph
      // answers from its index; only a mail address that is not a UPN needs a $filter.
      const res = await this.graph.send<Record<string, unknown>>({ method: 'GET', url: `/users/${encodeURIComponent(wanted)}`, query: { $select: select }, accept: [400, 404] });
      raw = res.status === 200 ? res.body : undefined;
      if (!raw && wanted.includes('@')) {
        const literal = odataString(wanted);
        const res = await this.graph.get<GraphPage>('/users', { $filter: `userPrincipalName eq ${literal} or mail eq ${literal}`, $select: select, $top: 10 });
        const found = res.body?.value ?? [];
        raw = found.find((u) => String(u.userPrincipalName).toLowerCase() === wanted.toLowerCase()) ?? found[0];
      }
    } catch (e) {
      throw explainGraphError(e, 'read a user', USERS_PERMISSION);
    }
    if (!raw) return null;
    const user = toSourceUser(raw, false);
    // In scope by exactly the rule of a full read: the connector's filter, asked of Graph.
    if (this.cfg.filter && !(await this.matchesFilter(user.id))) {
      user.outOfScope = `outside the connector's filter: ${this.cfg.filter}`;
      return user;
    }
    if (query.manager) user.manager = await this.managerOf(user.id);
    if (query.groups || this.requiredGroups.length) {
      const groups = await this.singleUserReader()
        .then((reader) => reader.forUser(user.id))
        .catch((e) => {
          throw explainGraphError(e, 'read group memberships', GROUPS_PERMISSION);
        });
      if (groups === null) return null;
      user.groups = groups;
    }
    return user;
  }

  /** Whether Graph lists this user under the connector's filter (with advanced query parameters when the filter needs them). */
  private async matchesFilter(userId: string): Promise<boolean> {
    const filter = `(id eq ${odataString(userId)}) and (${this.cfg.filter})`;
    const request = withAdvanced(needsAdvancedQuery('user', filter), { $filter: filter, $select: 'id', $top: '1' });
    const res = await this.graph.send<GraphPage>({ method: 'GET', url: '/users', ...request }).catch((e) => {
      throw explainGraphError(e, 'check a user against the connector filter', USERS_PERMISSION);
    });
    return (res.body?.value ?? []).some((u) => u.id === userId);
  }

  async searchUsers(text: string, limit: number): Promise<UserHit[]> {
    const wanted = text.trim();
    if (!wanted) return [];
    // startswith on these properties needs no advanced query; the connector's own filter keeps
    // the search to the users a sync would see.
    const literal = odataString(wanted);
    const search = SEARCHED_PROPERTIES.map((p) => `startswith(${p},${literal})`).join(' or ');
    const filter = this.cfg.filter ? `(${this.cfg.filter}) and (${search})` : search;
    const request = withAdvanced(needsAdvancedQuery('user', filter), { $filter: filter, $select: 'id,displayName,userPrincipalName,mail', $top: String(Math.max(1, Math.min(limit, 999))) });
    try {
      const res = await this.graph.send<GraphPage>({ method: 'GET', url: '/users', ...request });
      return (res.body?.value ?? []).slice(0, limit).map((u) => ({
        id: String(u.id),
        displayName: typeof u.displayName === 'string' ? u.displayName : null,
        userPrincipalName: typeof u.userPrincipalName === 'string' ? u.userPrincipalName : null,
        mail: typeof u.mail === 'string' ? u.mail : null,
      }));
    } catch (e) {
      throw explainGraphError(e, 'search users', USERS_PERMISSION);
    }
  }

  /** One user's memberships are always read per user; a groupFilter is resolved by listing the matching groups. */
  private async singleUserReader(): Promise<MembershipReader> {
    if (!this.cfg.groupFilter) return this.membershipReader();
    const { groups } = await listGroups(this.graph, this.cfg.groupFilter);
    return this.membershipReader(new Set(groups.map((g) => g.id)));
  }

  private async managerOf(userId: string): Promise<ManagerRef | null> {
    const res = await this.graph
      .send<Record<string, unknown>>({ method: 'GET', url: `/users/${encodeURIComponent(userId)}/manager`, query: { $select: MANAGER_FIELDS.join(',') }, accept: [404] })
      .catch((e) => {
        throw explainGraphError(e, 'read a manager', USERS_PERMISSION);
      });
    return res.status === 404 ? null : managerRef(res.body);
  }

  // ------------------------------------------------------------------ catalogue and checks

  async attributes(): Promise<AttributeInfo[]> {
    const found: AttributeInfo[] = [...STATIC_ATTRIBUTES];
    try {
      const res = await this.graph.send<{ value?: Array<{ name?: string; dataType?: string; appDisplayName?: string; targetObjects?: string[] }> }>({
        method: 'POST',
        url: '/directoryObjects/getAvailableExtensionProperties',
        body: {},
        retryUnsafe: true,
      });
      for (const p of res.body?.value ?? []) {
        if (typeof p.name !== 'string' || (p.targetObjects && !p.targetObjects.includes('User'))) continue;
        const type = p.dataType === 'Boolean' ? 'boolean' : p.dataType === 'Integer' ? 'number' : p.dataType === 'DateTime' ? 'datetime' : 'string';
        found.push({ path: p.name, type, description: p.appDisplayName ? `Directory extension of ${p.appDisplayName}` : 'Directory extension' });
      }
    } catch {
      // Without Directory.Read.All / Application.Read.All the extensions stay undiscovered; typing the name still works.
    }
    try {
      const res = await this.graph.get<GraphPage>('/users', { $select: 'id,customSecurityAttributes', $top: 100 });
      const seen = new Set<string>();
      for (const u of res.body?.value ?? []) {
        const sets = u.customSecurityAttributes as Record<string, Record<string, unknown>> | null | undefined;
        for (const [set, attrs] of Object.entries(sets ?? {})) {
          for (const [name, value] of Object.entries(attrs ?? {})) {
            if (name.includes('@odata')) continue;
            const path = `customSecurityAttributes.${set}.${name}`;
            if (seen.has(path)) continue;
            seen.add(path);
            found.push({ path, type: Array.isArray(value) ? 'string[]' : typeof value === 'boolean' ? 'boolean' : typeof value === 'number' ? 'number' : 'string', description: 'Custom security attribute' });
          }
        }
      }
    } catch {
      // Reading custom security attributes needs its own permission; absent means none offered.
    }
    return found;
  }

  async test(): Promise<TestResult> {
    const { checks, run } = checklist();
    const signedIn = await run('token', async () => {
      await this.tokens.get();
      return `signed in as application ${this.cfg.clientId} in tenant ${this.cfg.tenantId}`;
    });
    if (signedIn) {
      let sample: Record<string, unknown> | undefined;
      const readUsers = await run('read users', async () => {
        const res = await this.graph.get<GraphPage>('/users', { $top: 1, $select: 'id,userPrincipalName' }).catch((e) => {
          throw explainGraphError(e, 'list users', USERS_PERMISSION);
        });
        sample = res.body?.value?.[0];
        return sample ? `can read users (first: ${String(sample.userPrincipalName)})` : 'can read users, but the directory returned none';
      });
      if (readUsers && sample) {
        await run('read manager', async () => {
          const m = await this.managerOf(String(sample!.id));
          return m ? 'can read managers' : 'can read managers (the sample user has none)';
        });
      }
      for (const name of this.requiredGroups) {
        await run(`required group ${name}`, async () => {
          await this.findGroupId(name);
          return `group '${name}' found`;
        });
      }
    }
    return { ok: checks.every((c) => c.ok), checks };
  }
}

/** `/users/$count` with the source's filter; undefined when Graph cannot count that filter. */
async function countableUsers(graph: HttpClient, filter: string | undefined): Promise<number | undefined> {
  try {
    return await countUsers(graph, filter);
  } catch (e) {
    if (e instanceof IdsyncError && e.code === 'BAD_REQUEST') return undefined;
    throw explainGraphError(e, 'count users', USERS_PERMISSION);
  }
}

/** Graph JSON → SourceUser: annotations dropped, manager resolved to a reference or null. */
export function toSourceUser(raw: Record<string, unknown>, withManager: boolean): SourceUser {
  const attrs: Record<string, unknown> = {};
  // Once per user read: keys in place, no array of entries per user. `raw` comes from JSON.parse
  // (own properties only, none inherited).
  for (const k in raw) {
    if (k === 'manager' || k.startsWith('@odata.')) continue;
    attrs[k] = raw[k];
  }
  if (typeof raw.id !== 'string') throw new IdsyncError('TRANSIENT', 'Microsoft Graph returned a user without an id');
  return withManager ? { id: raw.id, attrs, manager: managerRef(raw.manager as Record<string, unknown> | undefined) } : { id: raw.id, attrs };
}
