// Group memberships read per group: list the tenant's groups once, then each group's user
// members, into one map from user id to group display names. At scale this costs a few
// requests per group instead of one (batched) request per user. Failures are never read as
// "no members": any read that fails after the HTTP client's retries fails the whole map, and so
// does a member list shorter than the group's own `@odata.count` (see completeness.ts).
import type { HttpClient } from '../../core/http.ts';
import { IdsyncError } from '../../core/errors.ts';
import { castListing, needsAdvancedQuery, withAdvanced } from './advanced-query.ts';
import { assertCompleteRead, odataCount } from './completeness.ts';
import { MembershipIndex } from './membership-index.ts';

/** A group as idsync needs it: the id to read members with and the name users receive. */
export interface ListedGroup {
  id: string;
  displayName: string;
}

interface Page<T> {
  value?: T[];
  '@odata.nextLink'?: string;
}

/** How many groups have their member lists read at the same time. */
export const GROUPS_IN_FLIGHT = 4;
const PAGE = 999;

export interface GroupListing {
  groups: ListedGroup[];
  /** False when the listing stopped at `stopAfter` groups (the caller only needed to know "more than"). */
  complete: boolean;
}

/**
 * The tenant's groups (those matching `filter`, an OData $filter passed as written), following
 * nextLinks. Groups without a display name are skipped: they could never appear in `groups`.
 * With `stopAfter`, listing ends once that many groups are known.
 */
export async function listGroups(graph: HttpClient, filter: string | undefined, stopAfter = Infinity): Promise<GroupListing> {
  const { query, headers } = withAdvanced(needsAdvancedQuery('group', filter), { $select: 'id,displayName', $top: String(PAGE), ...(filter ? { $filter: filter } : {}) });
  const groups: ListedGroup[] = [];
  let url: string | undefined = graph.resolve('/groups', query);
  while (url) {
    const res: { body: Page<{ id?: unknown; displayName?: unknown }> } = await graph.send({ method: 'GET', url, headers });
    const value = res.body?.value;
    if (!Array.isArray(value)) throw new IdsyncError('TRANSIENT', 'Microsoft Graph returned a group page without a value list', { hint: 'retry the run' });
    for (const g of value) {
      if (typeof g.id === 'string' && typeof g.displayName === 'string') groups.push({ id: g.id, displayName: g.displayName });
    }
    if (groups.length >= stopAfter) return { groups, complete: false };
    url = res.body['@odata.nextLink'];
  }
  return { groups, complete: true };
}

/**
 * Group display names per user id (`get` gives a sorted list; users in no listed group are
 * absent), held as shared group sets and 16-byte ids (membership-index.ts), not a list per user.
 */
export type GroupsByUser = MembershipIndex;

/**
 * Reads the user members (direct, or through nested groups when `transitive`) of every group,
 * `GROUPS_IN_FLIGHT` groups at a time. Each group's list is added to the index only once read
 * in full, so users with the same groups share one set of names. A group deleted since it was
 * listed (404) has no members any more and is skipped; anything else that fails throws.
 */
export async function readGroupsByUser(graph: HttpClient, groups: readonly ListedGroup[], transitive: boolean): Promise<GroupsByUser> {
  const byUser: GroupsByUser = new MembershipIndex();
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (next < groups.length && !failed) {
      const group = groups[next++]!;
      let members: string[] | null;
      try {
        members = await userMembers(graph, group, transitive);
      } catch (e) {
        failed = true; // the map is lost anyway: the other workers stop taking groups
        throw e;
      }
      if (members === null) continue;
      byUser.addGroup(group.displayName, members);
    }
  };
  await Promise.all(Array.from({ length: Math.min(GROUPS_IN_FLIGHT, groups.length) }, worker));
  return byUser;
}

/**
 * Ids of a group's user members, all pages; null when the group no longer exists. The first
 * page carries the group's user count (`$count=true`, an advanced query), which the pages read
 * must reach: an empty or short page is never taken for members who left.
 */
export async function userMembers(graph: HttpClient, group: ListedGroup, transitive: boolean): Promise<string[] | null> {
  const nav = transitive ? 'transitiveMembers' : 'members';
  // Collected per group and merged only once complete, so a group that vanishes half-way
  // contributes nothing rather than half its members.
  const ids: string[] = [];
  let expected: number | undefined;
  const firstPage = castListing(`/groups/${encodeURIComponent(group.id)}/${nav}/microsoft.graph.user`, { $select: 'id', $top: String(PAGE) });
  let url: string | undefined = firstPage.url;
  for (let first = true; url; first = false) {
    const res: { status: number; body: Page<{ id?: unknown }> } = await graph.send({ method: 'GET', url, headers: firstPage.headers, accept: [404] });
    if (res.status === 404) return null;
    const value = res.body?.value;
    if (!Array.isArray(value)) throw new IdsyncError('TRANSIENT', `Microsoft Graph returned a member page of group '${group.displayName}' without a value list`, { hint: 'retry the run' });
    if (first) expected = odataCount(res.body);
    for (const m of value) if (typeof m.id === 'string') ids.push(m.id);
    url = res.body['@odata.nextLink'];
  }
  assertCompleteRead(`the members of group '${group.displayName}'`, ids.length, expected);
  return ids;
}
