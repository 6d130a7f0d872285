// Incremental reads of Entra ID through Microsoft Graph's delta queries (/users/delta and
// /groups/delta), for `EntraSource.changes()`.
//
// Graph's delta cannot apply the connector's user $filter, cannot $expand the manager and does
// not report memberOf, so delta is only used to learn *which* users changed (and which are
// gone); those users are then read again in full, the way a listing reads them: their
// properties by `$filter=id in (…)` together with the connector's filter (so a user the filter
// no longer matches is reported out of scope), managers with `$expand=manager` or, when the
// filter is an advanced query, through the manager reader, and group memberships through the
// membership reader. Group delta (`members@delta`) adds the users whose memberships changed.
//
// The checkpoint is idsync's own JSON (CheckpointV1 below): the deltaLinks to continue from,
// and a fingerprint of the query and settings they were taken for. A checkpoint that does not
// parse, was taken for another query, or whose deltaLink Graph refuses as expired, makes
// `changes()` throw CHECKPOINT_EXPIRED: the engine then reads in full.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { HttpClient, HttpResponse } from '../../core/http.ts';
import { IdsyncError } from '../../core/errors.ts';
import type { ChangePage, GroupChange, ManagerRef, RemovalReason, SourceGroup, SourceQuery, SourceRemoval, SourceUser, UserPage } from '../../core/types.ts';
import type { EntraConfig } from './config.ts';
import { MANAGER_FIELDS } from './catalogue.ts';
import { explainGraphError, microsoftErrorMessage } from './errors.ts';
import { filterUses, needsAdvancedQuery, withAdvanced } from './advanced-query.ts';
import { assertListable, odataString, selectFor } from './query.ts';
import { managerRef } from './manager-reader.ts';
import { BATCH_LIMIT, GraphBatcher, type BatchAnswer, type BatchRequest } from './batch.ts';
import { MembershipReader } from './memberships.ts';
import { listGroups, userMembers, type ListedGroup } from './groups.ts';

const USERS_PERMISSION = 'User.Read.All';
const GROUPS_PERMISSION = 'GroupMember.Read.All';
/**
 * Graph's limits on a `$filter` (filter-query-parameter.md, note on `in`): 15 expressions in
 * the filter clause by default (each value of an `in` counts), a URL of at most 2,048
 * characters with advanced query parameters. A re-read chunk of ids fits both.
 */
export const MAX_FILTER_EXPRESSIONS = 15;
export const MAX_ADVANCED_URL = 2048;
/** Re-reads in flight at once. */
const REREADS_IN_FLIGHT = 4;
/** Users per ChangePage. */
const USERS_PER_PAGE = 100;

const checkpointSchema = z
  .object({
    v: z.literal(1),
    source: z.literal('entra'),
    /** Fingerprint of the query and the settings the links were made for (queryFingerprint). */
    query: z.string().min(8),
    users: z.url(),
    groups: z.url().optional(),
    /** When the links were taken (ISO time), for the administrator; Graph keeps them 7 days. */
    at: z.string(),
  })
  .strict();

export type CheckpointV1 = z.infer<typeof checkpointSchema>;

/** What the delta reads need of the source's settings. */
export type DeltaSettings = Pick<EntraConfig, 'tenantId' | 'graphUrl' | 'filter' | 'groupFilter' | 'transitiveGroups'> & { requiredGroups: readonly string[] };

/** Whether this query's delta needs group delta: memberships in the records, or required groups to scope by. */
function needsGroups(s: DeltaSettings, query: SourceQuery): boolean {
  return query.groups || s.requiredGroups.length > 0;
}

/** Everything a checkpoint depends on: another value of any of these reads different users or attributes. */
export function queryFingerprint(s: DeltaSettings, query: SourceQuery): string {
  const basis = {
    tenant: s.tenantId.toLowerCase(),
    graph: s.graphUrl.replace(/\/+$/, ''),
    select: [...selectFor(query.attributes)].sort(),
    manager: query.manager,
    groups: query.groups,
    filter: s.filter ?? null,
    groupFilter: s.groupFilter ?? null,
    required: s.requiredGroups.map((g) => g.toLowerCase()).sort(),
    transitive: s.transitiveGroups,
  };
  return createHash('sha256').update(JSON.stringify(basis)).digest('base64url').slice(0, 32);
}

/** Reads a checkpoint back; anything unreadable or made for another query is CHECKPOINT_EXPIRED. */
export function readCheckpoint(text: string, fingerprint: string, needGroups: boolean): CheckpointV1 {
  let parsed: CheckpointV1;
  try {
    parsed = checkpointSchema.parse(JSON.parse(text));
  } catch (e) {
    throw new IdsyncError('CHECKPOINT_EXPIRED', 'the stored Entra ID checkpoint is not readable', { cause: e, hint: 'a full read replaces it' });
  }
  if (parsed.query !== fingerprint || needGroups !== (parsed.groups !== undefined)) {
    throw new IdsyncError('CHECKPOINT_EXPIRED', 'the stored Entra ID checkpoint was taken for another query (the mapping or the source settings changed)', { hint: 'a full read replaces it' });
  }
  return parsed;
}

export function writeCheckpoint(fingerprint: string, links: { users: string; groups?: string }): string {
  const cp: CheckpointV1 = { v: 1, source: 'entra', query: fingerprint, users: links.users, ...(links.groups ? { groups: links.groups } : {}), at: new Date().toISOString() };
  return JSON.stringify(cp);
}

/**
 * Graph's answers that say a delta token is no longer accepted (delta-query-overview: expiry,
 * resync): 410 Gone, or a 4xx naming syncStateNotFound / resyncRequired. On the stored
 * deltaLink itself (`stored`), any 400 or 404 too: only the checkpoint can be at fault there,
 * and retrying it would fail every run, while a full read replaces it.
 */
export function isExpiredToken(e: unknown, stored: boolean): boolean {
  if (!(e instanceof IdsyncError) || e.status === undefined) return false;
  if (e.status === 410 || (stored && (e.status === 400 || e.status === 404))) return true;
  return e.status >= 400 && e.status < 500 && /\b(syncStateNotFound|resyncRequired|syncStateInvalid)\b/i.test(e.message);
}

interface DeltaObject {
  id?: unknown;
  '@odata.type'?: unknown;
  '@removed'?: { reason?: unknown };
  displayName?: unknown;
  'members@delta'?: DeltaObject[];
}

interface UserListPage {
  value?: Array<Record<string, unknown>>;
  '@odata.nextLink'?: string;
}

interface DeltaPage {
  value?: DeltaObject[];
  '@odata.nextLink'?: string;
  '@odata.deltaLink'?: string;
}

/**
 * Follows one round of a delta from `url` to its deltaLink, handing each object to `visit`.
 * A page without a value list, or with neither (or both) links, is a failed read: it throws,
 * it is never "nothing changed".
 */
async function followRound(graph: HttpClient, url: string, what: string, visit: (o: DeltaObject) => void): Promise<{ deltaLink: string; pages: number }> {
  let pages = 0;
  for (let next: string = url; ; ) {
    let body: DeltaPage;
    try {
      body = (await graph.send<DeltaPage>({ method: 'GET', url: next })).body;
    } catch (e) {
      if (isExpiredToken(e, pages === 0)) {
        throw new IdsyncError('CHECKPOINT_EXPIRED', `Microsoft Graph no longer accepts the ${what} delta token (${(e as Error).message})`, { cause: e, status: (e as IdsyncError).status, hint: 'a full read takes a new one' });
      }
      throw explainGraphError(e, `read the ${what} delta`, what === 'users' ? USERS_PERMISSION : GROUPS_PERMISSION);
    }
    pages++;
    const nextLink = body?.['@odata.nextLink'];
    const deltaLink = body?.['@odata.deltaLink'];
    if (!Array.isArray(body?.value) || (nextLink === undefined) === (deltaLink === undefined)) {
      throw new IdsyncError('TRANSIENT', `Microsoft Graph returned a ${what} delta page without ${Array.isArray(body?.value) ? 'exactly one of nextLink and deltaLink' : 'a value list'}; the changes are not read`, { hint: 'retry the run' });
    }
    for (const o of body.value) visit(o);
    if (deltaLink !== undefined) return { deltaLink, pages };
    next = nextLink!;
  }
}

/** A deltaLink "from now" (`$deltatoken=latest`): the seeding round's starting point. */
async function latestLink(graph: HttpClient, path: string, select: string, what: string): Promise<string> {
  let body: DeltaPage;
  try {
    body = (await graph.send<DeltaPage>({ method: 'GET', url: path, query: { $select: select, $deltatoken: 'latest' } })).body;
  } catch (e) {
    throw explainGraphError(e, `start the ${what} delta`, what === 'users' ? USERS_PERMISSION : GROUPS_PERMISSION);
  }
  const link = body?.['@odata.deltaLink'];
  if (typeof link !== 'string') throw new IdsyncError('TRANSIENT', `Microsoft Graph answered $deltatoken=latest for ${what} without a deltaLink`, { hint: 'retry the run' });
  return link;
}

const removalReason = (raw: unknown): RemovalReason => (raw === 'changed' ? 'soft-deleted' : 'deleted');
const isGroupObject = (o: DeltaObject) => typeof o['@odata.type'] === 'string' && /group$/i.test(o['@odata.type']);

/** What one incremental round learnt from delta before re-reading. */
interface Learnt {
  /** Users to re-read, in the order delta named them. */
  changed: Set<string>;
  removed: Map<string, RemovalReason>;
  groups: Map<string, GroupChange>;
  /** Nested groups whose members were added to / removed from a group (only counted with transitiveGroups). */
  nestedChanged: Set<string>;
  links: { users: string; groups?: string };
}

/**
 * Which groups count (with a groupFilter): `filtered` the matching group ids, `counted` those
 * plus required groups outside the filter (memberships read for scoping), and the matching
 * groups' names when the two differ.
 */
interface GroupScope {
  filtered?: Set<string>;
  counted?: Set<string>;
  filteredNames?: Set<string>;
}

/** How the connector reads users for a listing (its listUsers), handed in so the seeding round reuses it. */
export interface DeltaHost {
  settings: DeltaSettings;
  baseDelayMs: number;
  listUsers(query: SourceQuery): AsyncIterable<UserPage>;
}

export class EntraDelta {
  constructor(
    private readonly graph: HttpClient,
    private readonly host: DeltaHost,
  ) {}

  private get s(): DeltaSettings {
    return this.host.settings;
  }

  async *changes(checkpoint: string | null, query: SourceQuery): AsyncIterable<ChangePage> {
    const select = selectFor(query.attributes);
    assertListable(select);
    const fingerprint = queryFingerprint(this.s, query);
    const withGroups = needsGroups(this.s, query);
    if (checkpoint === null) {
      yield* this.seed(query, select, fingerprint, withGroups);
      return;
    }
    const cp = readCheckpoint(checkpoint, fingerprint, withGroups);
    const learnt = await this.learn(cp);
    yield* this.reread(query, select, learnt, writeCheckpoint(fingerprint, learnt.links));
  }

  /**
   * A seeding round: deltaLinks "from now" first, then every user through the full listing.
   * A change made while the listing runs is after the links, so the next round replays it
   * (possibly once more than needed, never lost).
   */
  private async *seed(query: SourceQuery, select: string[], fingerprint: string, withGroups: boolean): AsyncIterable<ChangePage> {
    const users = await latestLink(this.graph, '/users/delta', userDeltaSelect(select, query), 'users');
    const groups = withGroups ? await latestLink(this.graph, '/groups/delta', 'displayName,members', 'groups') : undefined;
    const checkpoint = writeCheckpoint(fingerprint, { users, groups });
    for await (const page of this.host.listUsers(query)) {
      if (page.complete) {
        yield { users: page.users, removed: [], checkpoint, complete: true, ...(page.groupList ? { groupList: page.groupList } : {}) };
        return;
      }
      yield { users: page.users, removed: [] };
    }
    // listUsers ends with a complete page or throws; a listing that just stopped gives no checkpoint.
    throw new IdsyncError('INTERNAL', 'the Entra ID listing ended without saying it was complete');
  }

  /** Follows the checkpoint's deltaLinks to their new deltaLinks, collecting what changed. */
  private async learn(cp: CheckpointV1): Promise<Learnt> {
    const changed = new Set<string>();
    const removed = new Map<string, RemovalReason>();
    const users = await followRound(this.graph, cp.users, 'users', (o) => {
      if (typeof o.id !== 'string') return;
      // In order: a user removed then restored in the same round ends up changed.
      if (o['@removed']) {
        changed.delete(o.id);
        removed.set(o.id, removalReason(o['@removed'].reason));
      } else {
        removed.delete(o.id);
        changed.add(o.id);
      }
    });
    // Per group, each member's last reported state: a large group comes in several objects (and
    // Graph may replay), so objects are merged by id and a member counted once.
    const members = new Map<string, { name?: string; deleted?: true; states: Map<string, 'added' | 'removed'> }>();
    const nestedChanged = new Set<string>();
    let groupsLink: string | undefined;
    if (cp.groups) {
      const round = await followRound(this.graph, cp.groups, 'groups', (o) => {
        if (typeof o.id !== 'string') return;
        let g = members.get(o.id);
        if (!g) members.set(o.id, (g = { states: new Map() }));
        if (typeof o.displayName === 'string') g.name = o.displayName;
        if (o['@removed']) g.deleted = true;
        for (const m of o['members@delta'] ?? []) {
          if (typeof m.id !== 'string') continue;
          if (isGroupObject(m)) nestedChanged.add(m.id);
          else {
            g.states.delete(m.id);
            g.states.set(m.id, m['@removed'] ? 'removed' : 'added');
          }
        }
      });
      groupsLink = round.deltaLink;
    }
    const groups = new Map<string, GroupChange>();
    for (const [id, g] of members) {
      const states = [...g.states];
      groups.set(id, {
        id,
        ...(g.name !== undefined ? { name: g.name } : {}),
        added: states.filter(([, st]) => st === 'added').map(([m]) => m),
        removed: states.filter(([, st]) => st === 'removed').map(([m]) => m),
        ...(g.deleted ? { deleted: true } : {}),
      });
    }
    return { changed, removed, groups, nestedChanged, links: { users: users.deltaLink, groups: groupsLink } };
  }

  /** Re-reads the changed users in full, scoped like a listing, and yields them with the removals. */
  private async *reread(query: SourceQuery, select: string[], learnt: Learnt, checkpoint: string): AsyncIterable<ChangePage> {
    const groupsScope = learnt.groups.size || learnt.nestedChanged.size || (learnt.changed.size && needsGroups(this.s, query)) ? await this.groupScope() : undefined;
    const inScope = (set: Set<string> | undefined) => (g: GroupChange) => !set || g.deleted === true || set.has(g.id);
    // Reported: the groups a listing gives users. Re-read: members of those and of required groups outside them.
    const groupChanges = [...learnt.groups.values()].filter(inScope(groupsScope?.filtered));
    // A group renamed so that it no longer matches the groupFilter is gone for the connector: said
    // so (left), and the engine takes its name from the members that carry it (group-ingest.ts).
    // One renamed into the filter is in groupChanges with its new name; the engine reads its members.
    const filtered = groupsScope?.filtered;
    if (filtered) for (const g of learnt.groups.values()) if (!g.deleted && g.name !== undefined && !filtered.has(g.id)) groupChanges.push({ id: g.id, added: [], removed: [], left: true });
    const ids = new Set(learnt.changed);
    for (const g of [...learnt.groups.values()].filter(inScope(groupsScope?.counted))) {
      for (const id of [...g.added, ...g.removed]) if (!learnt.removed.has(id)) ids.add(id);
    }
    if (this.s.transitiveGroups) {
      // A nested group joined or left a group: its users' transitive memberships changed.
      for (const nested of learnt.nestedChanged) {
        const members = await userMembers(this.graph, { id: nested, displayName: nested }, true).catch((e) => {
          throw explainGraphError(e, 'read the members of a nested group', GROUPS_PERMISSION);
        });
        for (const id of members ?? []) if (!learnt.removed.has(id)) ids.add(id);
      }
    }
    const removed: SourceRemoval[] = [...learnt.removed].map(([id, reason]) => ({ id, reason }));
    const first: Pick<ChangePage, 'removed' | 'groups'> = { removed, ...(query.groups ? { groups: groupChanges } : {}) };
    const all = [...ids];
    if (all.length === 0) {
      yield { users: [], ...first, checkpoint };
      return;
    }
    for (let i = 0; i < all.length; i += USERS_PER_PAGE) {
      query.signal?.throwIfAborted();
      const chunk = all.slice(i, i + USERS_PER_PAGE);
      const { users, outOfScope } = await this.readUsers(chunk, query, select, groupsScope);
      const last = i + USERS_PER_PAGE >= all.length;
      const page: ChangePage = { users, removed: outOfScope.map((id) => ({ id, reason: 'out-of-scope' as const })) };
      if (i === 0) {
        page.removed = [...first.removed, ...page.removed];
        if (first.groups) page.groups = first.groups;
      }
      if (last) page.checkpoint = checkpoint;
      yield page;
    }
  }

  /**
   * The groups that count, when memberships are read: with a groupFilter, the ids of the
   * matching groups (memberships and group changes outside it are left out, as in a listing),
   * plus the required groups, so membership of a required group outside the filter is seen.
   */
  private async groupScope(): Promise<GroupScope> {
    if (!this.s.groupFilter) return {};
    let listed: ListedGroup[];
    try {
      listed = (await listGroups(this.graph, this.s.groupFilter)).groups;
    } catch (e) {
      throw explainGraphError(e, 'list groups', GROUPS_PERMISSION);
    }
    const filtered = new Set(listed.map((g) => g.id));
    const counted = new Set(filtered);
    for (const name of this.s.requiredGroups) {
      if (listed.some((g) => g.displayName.toLowerCase() === name.toLowerCase())) continue;
      const found = await listGroups(this.graph, `displayName eq ${odataString(name)}`).catch((e) => {
        throw explainGraphError(e, 'look up groups', GROUPS_PERMISSION);
      });
      for (const g of found.groups) counted.add(g.id);
    }
    return { filtered, counted, filteredNames: counted.size > filtered.size ? new Set(listed.map((g) => g.displayName)) : undefined };
  }

  /**
   * Users by id, as a listing gives them; ids the connector's scope leaves out are returned as
   * outOfScope. When memberships (or, under an advanced filter, managers) are needed, each
   * chunk's filtered user list and its per-user requests go in one `$batch`, so a round costs
   * one HTTP request per chunk of users whatever it needs of them.
   */
  private async readUsers(ids: string[], query: SourceQuery, select: string[], scope: GroupScope | undefined): Promise<{ users: SourceUser[]; outOfScope: string[] }> {
    const withGroups = needsGroups(this.s, query);
    const advanced = needsAdvancedQuery('user', this.userFilter(ids.slice(0, 1)));
    const managersApart = query.manager && advanced; // Graph refuses $expand in an advanced query
    const perUser = (withGroups ? 1 : 0) + (managersApart ? 1 : 0);
    const perBatch = perUser === 0 ? Infinity : Math.floor((BATCH_LIMIT - 1) / perUser);
    const reader = withGroups ? new MembershipReader(this.graph, { transitive: this.s.transitiveGroups, baseDelayMs: this.host.baseDelayMs, onlyGroupIds: scope?.counted }) : undefined;
    const chunks = this.chunkIds(ids, perBatch, advanced, query, select);
    const found = new Map<string, SourceUser>();
    const memberships = new Map<string, string[] | null>();
    let next = 0;
    const worker = async () => {
      while (next < chunks.length) {
        const chunk = chunks[next++]!;
        const r = perUser === 0 ? await this.readChunk(chunk, query, select) : await this.readChunkBatched(chunk, query, select, reader, managersApart);
        for (const u of r.users) found.set(u.id, u);
        for (const [id, names] of r.memberships ?? []) memberships.set(id, names);
      }
    };
    await Promise.all(Array.from({ length: Math.min(REREADS_IN_FLIGHT, chunks.length) }, worker));
    let users = ids.map((id) => found.get(id)).filter((u): u is SourceUser => u !== undefined);
    // Not returned under the filter: out of scope; without a filter the user was deleted after
    // delta named it, which the next round reports.
    const outOfScope = this.s.filter ? ids.filter((id) => !found.has(id)) : [];
    if (withGroups) {
      const required = this.s.requiredGroups.map((g) => g.toLowerCase());
      const allowed = scope?.filteredNames;
      const kept: SourceUser[] = [];
      for (const u of users) {
        const names = memberships.get(u.id);
        if (names === null || names === undefined) continue; // deleted since: the next round says so
        if (required.length && !names.some((n) => required.includes(n.toLowerCase()))) {
          outOfScope.push(u.id);
          continue;
        }
        // A required group outside the groupFilter counted for scope only: not one of the user's groups.
        if (query.groups) u.groups = allowed ? names.filter((n) => allowed.has(n)) : names;
        kept.push(u);
      }
      users = kept;
    }
    return { users, outOfScope };
  }

  /**
   * Splits ids into re-read chunks Graph accepts: by default 15 filter expressions in all (the
   * connector's filter takes its share), with advanced query parameters a URL of at most 2,048
   * characters; and no more users than one `$batch` has room for.
   */
  private chunkIds(ids: string[], perBatch: number, advanced: boolean, query: SourceQuery, select: string[]): string[][] {
    const own = this.s.filter ? filterUses(this.s.filter).length : 0;
    const byCount = advanced ? Infinity : Math.max(1, MAX_FILTER_EXPRESSIONS - own);
    const max = Math.max(1, Math.min(byCount, perBatch));
    const chunks: string[][] = [];
    let chunk: string[] = [];
    for (const id of ids) {
      const candidate = [...chunk, id];
      if (chunk.length > 0 && (candidate.length > max || (advanced && this.listUrl(candidate, query, select).length > MAX_ADVANCED_URL - 100))) {
        chunks.push(chunk);
        chunk = [id];
      } else chunk = candidate;
    }
    if (chunk.length) chunks.push(chunk);
    return chunks;
  }

  /** The list request of a chunk as a relative URL (`/users?…`), encoded as sent. */
  private listUrl(ids: string[], query: SourceQuery, select: string[]): string {
    const list = this.listRequest(ids, query, select);
    return `/v1.0/users?${Object.entries(list.query).map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&')}`;
  }

  /** `id in (…)`, with the connector's filter when it has one. */
  private userFilter(ids: string[]): string {
    const idClause = `id in (${ids.map(odataString).join(',')})`;
    return this.s.filter ? `(${idClause}) and (${this.s.filter})` : idClause;
  }

  /** The filtered user list request of a chunk: query and headers (advanced when the filter needs it), managers expanded when Graph allows. */
  private listRequest(ids: string[], query: SourceQuery, select: string[]): { query: Record<string, string>; headers: Record<string, string>; expand: boolean } {
    const filter = this.userFilter(ids);
    const advanced = needsAdvancedQuery('user', filter);
    const base: Record<string, string> = { $select: select.join(','), $filter: filter, $top: '999' };
    const expand = query.manager && !advanced;
    if (expand) base.$expand = `manager($select=${MANAGER_FIELDS.join(',')})`;
    const r = withAdvanced(advanced, base);
    return { query: r.query as Record<string, string>, headers: r.headers, expand };
  }

  /** One chunk in one `$batch`: the filtered user list, each user's memberOf and (apart) manager. */
  private async readChunkBatched(ids: string[], query: SourceQuery, select: string[], reader: MembershipReader | undefined, managersApart: boolean): Promise<{ users: SourceUser[]; memberships?: Map<string, string[] | null> }> {
    const list = this.listRequest(ids, query, select);
    const listUrl = this.listUrl(ids, query, select).replace(/^\/v1\.0/, '');
    const requests: BatchRequest[] = [{ url: listUrl, headers: list.headers }];
    if (reader) for (const id of ids) requests.push(reader.request(id));
    if (managersApart) for (const id of ids) requests.push({ url: `/users/${encodeURIComponent(id)}/manager?$select=${MANAGER_FIELDS.join(',')}` });
    const answers = await new GraphBatcher(this.graph, { baseDelayMs: this.host.baseDelayMs }).send<Record<string, unknown>>(requests, 'read changed users').catch((e) => {
      throw explainGraphError(e, 'read changed users', USERS_PERMISSION);
    });
    const refused = (what: string, a: BatchAnswer) =>
      new IdsyncError(a.status === 401 || a.status === 403 ? 'AUTH' : 'BAD_REQUEST', `Microsoft Graph refused to ${what}: ${microsoftErrorMessage(a.status, a.body) ?? `HTTP ${a.status}`}`, { status: a.status });
    const first = answers[0]!;
    if (first.status !== 200) throw explainGraphError(refused('read changed users', first), 'read changed users', USERS_PERMISSION);
    const users = await this.usersFrom(first.body as UserListPage, list.headers, list.expand);
    let memberships: Map<string, string[] | null> | undefined;
    let at = 1;
    if (reader) {
      memberships = new Map();
      for (const id of ids) {
        const a = answers[at++]!;
        if (a.status === 404) memberships.set(id, null);
        else if (a.status === 200) memberships.set(id, await reader.collect((a.body ?? {}) as never));
        else throw explainGraphError(refused(`read the groups of user ${id}`, a), 'read group memberships', GROUPS_PERMISSION);
      }
    }
    if (managersApart) {
      const byId = new Map(users.map((u) => [u.id, u]));
      for (const id of ids) {
        const a = answers[at++]!;
        const u = byId.get(id);
        if (a.status === 200 || a.status === 404) {
          if (u) u.manager = a.status === 200 ? managerRef(a.body) : null;
        } else throw explainGraphError(refused(`read the manager of user ${id}`, a), 'read managers', USERS_PERMISSION);
      }
    }
    return { users, memberships };
  }

  /** Users of a list page, following nextLinks (rare: a chunk holds at most 15 ids). */
  private async usersFrom(first: UserListPage, headers: Record<string, string>, withManager: boolean): Promise<SourceUser[]> {
    const users: SourceUser[] = [];
    let page: UserListPage | undefined = first;
    for (;;) {
      if (!Array.isArray(page?.value)) throw new IdsyncError('TRANSIENT', 'Microsoft Graph returned a user page without a value list', { hint: 'retry the run' });
      for (const raw of page.value) users.push(rawUser(raw, withManager));
      const link: string | undefined = page['@odata.nextLink'];
      if (!link) return users;
      const res: HttpResponse<UserListPage> = await this.graph.send<UserListPage>({ method: 'GET', url: link, headers }).catch((e) => {
        throw explainGraphError(e, 'read changed users', USERS_PERMISSION);
      });
      page = res.body;
    }
  }

  /** One `$filter=id in (…)` request (with the connector's filter), managers expanded with it. */
  private async readChunk(ids: string[], query: SourceQuery, select: string[]): Promise<{ users: SourceUser[]; memberships?: undefined }> {
    const list = this.listRequest(ids, query, select);
    const res = await this.graph.send<UserListPage>({ method: 'GET', url: '/users', query: list.query, headers: list.headers }).catch((e) => {
      throw explainGraphError(e, 'read changed users', USERS_PERMISSION);
    });
    return { users: await this.usersFrom(res.body, list.headers, list.expand) };
  }
}

/** The users delta's $select: the listing's properties, and `manager` when the mapping reads it (tracked as manager@delta). */
function userDeltaSelect(select: string[], query: SourceQuery): string {
  return [...select, ...(query.manager ? ['manager'] : [])].join(',');
}

function rawUser(raw: Record<string, unknown>, withManager: boolean): SourceUser {
  if (typeof raw.id !== 'string') throw new IdsyncError('TRANSIENT', 'Microsoft Graph returned a user without an id');
  const attrs: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) if (!k.startsWith('@odata.') && k !== 'manager') attrs[k] = v;
  const user: SourceUser = { id: raw.id, attrs };
  if (withManager) user.manager = managerRef(raw.manager as Record<string, unknown> | undefined) as ManagerRef | null;
  return user;
}

/**
 * Groups (those the groupFilter matches) with the ids of their user members (transitive when
 * configured), a page of groups at a time. A group deleted while it is read is left out;
 * anything else that fails throws.
 */
export async function* groupsWithMembers(graph: HttpClient, s: DeltaSettings, signal: AbortSignal | undefined, perPage = 50): AsyncIterable<SourceGroup[]> {
  let listed: ListedGroup[];
  try {
    listed = (await listGroups(graph, s.groupFilter)).groups;
  } catch (e) {
    throw explainGraphError(e, 'list groups', GROUPS_PERMISSION);
  }
  for (let i = 0; i < listed.length; i += perPage) {
    signal?.throwIfAborted();
    const page: SourceGroup[] = [];
    for (const g of listed.slice(i, i + perPage)) {
      const members = await userMembers(graph, g, s.transitiveGroups).catch((e) => {
        throw explainGraphError(e, `read the members of group '${g.displayName}'`, GROUPS_PERMISSION);
      });
      if (members !== null) page.push({ id: g.id, name: g.displayName, members });
    }
    if (page.length) yield page;
  }
}
