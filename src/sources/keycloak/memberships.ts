// Which way a Keycloak listing reads group memberships, and the group-centric read itself.
//
// Per user: `GET /users/{id}/groups` for every listed user — one request per user.
// Per group: the group tree (`GET /groups`, then `/groups/{id}/children` for each group that has
// sub-groups: Keycloak 23+ no longer fills `subGroups` in the listing) and every group's direct
// members (`GET /groups/{id}/members`, first/max, MEMBERS_PER_PAGE a page) — at most
// 1 + 2 × groups + memberships / MEMBERS_PER_PAGE requests. `auto` asks `GET /groups/count`
// (one request) and takes per group when that estimate, with one membership per user, is below
// the per-user count; a few memberships per user more hardly move it (users / 500 against
// users), so per group wins unless the realm has about as many groups as users in scope.
import type { HttpClient } from '../../core/http.ts';
import { IdsyncError } from '../../core/errors.ts';

export type MembershipStrategy = 'perUser' | 'perGroup';
export type MembershipStrategySetting = MembershipStrategy | 'auto';

export const MEMBERS_PER_PAGE = 500;
/** Sub-groups (and top-level groups) a page; Keycloak caps neither, so most trees take one. */
export const GROUPS_PER_PAGE = 1000;
/** Member lists read at the same time. */
const IN_FLIGHT = 4;

export interface KcGroupJson {
  id: string;
  name: string;
  path?: string;
  subGroupCount?: number;
  subGroups?: KcGroupJson[];
}

/** Requests each strategy needs, as estimated before reading. */
export function estimatedRequests(users: number, groups: number): Record<MembershipStrategy, number> {
  return { perUser: users, perGroup: 1 + 2 * groups + users / MEMBERS_PER_PAGE };
}

export function cheaperStrategy(users: number, groups: number): MembershipStrategy {
  const cost = estimatedRequests(users, groups);
  return cost.perGroup < cost.perUser ? 'perGroup' : 'perUser';
}

/** `GET /groups/count`: every group of the realm, sub-groups included. */
export async function countGroups(http: HttpClient): Promise<number> {
  const res = await http.get<{ count?: unknown }>('/groups/count');
  const n = Number(res.body?.count);
  if (!Number.isInteger(n) || n < 0) throw new IdsyncError('TRANSIENT', 'Keycloak answered /groups/count without a count', { hint: 'retry the run' });
  return n;
}

/** All of a first/max listing, page by page, until a short page. */
async function allPages<T>(http: HttpClient, path: string, query: Record<string, string | number>, max: number): Promise<T[]> {
  const out: T[] = [];
  for (let first = 0; ; first += max) {
    const page = (await http.get<T[]>(path, { ...query, first, max })).body;
    if (!Array.isArray(page)) throw new IdsyncError('TRANSIENT', `Keycloak answered ${path} with something other than a list`, { hint: 'retry the run' });
    out.push(...page);
    if (page.length < max) return out;
  }
}

/** Every group of the tree, sub-groups included, parents before their children. */
export async function groupTree(http: HttpClient): Promise<KcGroupJson[]> {
  const out: KcGroupJson[] = [];
  const walk = async (groups: KcGroupJson[]) => {
    for (const g of groups) {
      out.push(g);
      let subs = g.subGroups ?? [];
      // Keycloak 22 and older fill subGroups; 23+ give only their count.
      if (subs.length === 0 && (g.subGroupCount ?? 0) > 0) subs = await allPages<KcGroupJson>(http, `/groups/${encodeURIComponent(g.id)}/children`, { briefRepresentation: 'true' }, GROUPS_PER_PAGE);
      await walk(subs);
    }
  };
  await walk(await allPages<KcGroupJson>(http, '/groups', { briefRepresentation: 'true' }, GROUPS_PER_PAGE));
  return out;
}

/** A group's direct members' ids; null when the group is gone (deleted since it was listed). */
export async function memberIds(http: HttpClient, groupId: string): Promise<string[] | null> {
  const ids: string[] = [];
  for (let first = 0; ; first += MEMBERS_PER_PAGE) {
    const res = await http.get<Array<{ id?: unknown }>>(`/groups/${encodeURIComponent(groupId)}/members`, { first, max: MEMBERS_PER_PAGE, briefRepresentation: 'true' }, [404]);
    if (res.status === 404) return null;
    if (!Array.isArray(res.body)) throw new IdsyncError('TRANSIENT', 'Keycloak answered a member page with something other than a list', { hint: 'retry the run' });
    for (const u of res.body) if (typeof u.id === 'string') ids.push(u.id);
    if (res.body.length < MEMBERS_PER_PAGE) return ids;
  }
}

/**
 * Every group's member list, read IN_FLIGHT at a time, turned around: user id → the names of
 * the groups the user is a direct member of (sorted). A failed read fails the whole (a failed
 * read is never "no members"); a group deleted meanwhile has no members.
 */
export async function groupsByUser(http: HttpClient, groups: KcGroupJson[], nameOf: (g: KcGroupJson) => string, signal?: AbortSignal): Promise<{ byUser: Map<string, string[]>; membersOf: Map<string, string[]> }> {
  const membersOf = new Map<string, string[]>();
  let next = 0;
  const worker = async () => {
    while (next < groups.length) {
      signal?.throwIfAborted();
      const g = groups[next++]!;
      membersOf.set(g.id, (await memberIds(http, g.id)) ?? []);
    }
  };
  await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, groups.length) }, worker));
  const byUser = new Map<string, string[]>();
  for (const g of groups) {
    const name = nameOf(g);
    for (const id of membersOf.get(g.id) ?? []) {
      const list = byUser.get(id);
      if (list) list.push(name);
      else byUser.set(id, [name]);
    }
  }
  for (const list of byUser.values()) list.sort();
  return { byUser, membersOf };
}
