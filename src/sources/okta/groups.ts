// Okta groups and memberships. Okta has no nested groups, so direct members are all there is.
// Memberships are read per group (/groups/{id}/users, 1,000 a page) or per user
// (/users/{id}/groups); `cheaper` decides which costs fewer calls.
import { IdsyncError } from '../../core/errors.ts';
import type { OktaApi } from './okta-api.ts';

export interface OktaGroupJson {
  id: string;
  type?: string;
  lastUpdated?: string;
  profile?: { name?: string };
}

export interface ListedGroup {
  id: string;
  name: string;
  type: string;
  /** When its profile (name, description) last changed; membership changes move lastMembershipUpdated instead. */
  lastUpdated?: string;
}

const GROUPS_PAGE = 10_000;
const MEMBERS_PAGE = 1_000;

function listed(g: OktaGroupJson): ListedGroup {
  if (typeof g.id !== 'string' || typeof g.profile?.name !== 'string') throw new IdsyncError('TRANSIENT', 'Okta returned a group without an id or a name', { hint: 'retry the run' });
  return { id: g.id, name: g.profile.name, type: String(g.type ?? 'OKTA_GROUP'), ...(typeof g.lastUpdated === 'string' ? { lastUpdated: g.lastUpdated } : {}) };
}

/** Every group of the given types. */
export async function listGroupsOfTypes(api: OktaApi, types: readonly string[]): Promise<ListedGroup[]> {
  const out: ListedGroup[] = [];
  for await (const page of api.pages<OktaGroupJson>('/api/v1/groups', { limit: GROUPS_PAGE })) {
    for (const g of page) {
      const group = listed(g);
      if (types.includes(group.type)) out.push(group);
    }
  }
  return out;
}

/**
 * Of a complete listing, the groups whose profile (name, description) changed at or after
 * `since`: Okta's `lastUpdated` of a group is its profile's, membership changes move
 * `lastMembershipUpdated` instead. A group without a `lastUpdated` counts as changed (a name
 * the engine already holds is no change). Read from the round's one listing rather than with
 * `search=lastUpdated ge`: the listing is the round's census of groups too.
 */
export function updatedSince(groups: readonly ListedGroup[], since: string): ListedGroup[] {
  const from = Date.parse(since);
  return groups.filter((g) => g.lastUpdated === undefined || !(Date.parse(g.lastUpdated) < from));
}

/** Ids of a group's user members. */
export async function groupMemberIds(api: OktaApi, groupId: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const page of api.pages<{ id?: string }>(`/api/v1/groups/${encodeURIComponent(groupId)}/users`, { limit: MEMBERS_PAGE })) {
    for (const u of page) if (typeof u.id === 'string') ids.push(u.id);
  }
  return ids;
}

/** user id → names of its groups among `groups`, read per group. */
export async function membershipsByGroup(api: OktaApi, groups: readonly ListedGroup[]): Promise<Map<string, string[]>> {
  const byUser = new Map<string, string[]>();
  for (const g of groups) {
    for (const id of await groupMemberIds(api, g.id)) {
      const names = byUser.get(id) ?? [];
      names.push(g.name);
      byUser.set(id, names);
    }
  }
  return byUser;
}

/** One user's groups of the given types; null when the user no longer exists. */
export async function groupsOfUser(api: OktaApi, userId: string, types: readonly string[]): Promise<string[] | null> {
  const res = await api.get<OktaGroupJson[]>(`/api/v1/users/${encodeURIComponent(userId)}/groups`, undefined, [404]);
  if (res.status === 404) return null;
  if (!Array.isArray(res.body)) throw new IdsyncError('TRANSIENT', 'Okta answered a user\'s groups with something other than a list', { hint: 'retry the run' });
  return res.body.map(listed).filter((g) => types.includes(g.type)).map((g) => g.name);
}

/**
 * Per group costs a call per group (more for groups over 1,000 members), per user a call per
 * user: per group wins when there are fewer groups than users. `users` is a lower bound
 * when the listing has more pages than the one read so far.
 */
export function cheaper(groups: number, users: number): 'perGroup' | 'perUser' {
  return groups < users ? 'perGroup' : 'perUser';
}
