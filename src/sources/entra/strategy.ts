// Which way to read group memberships. Per user: `/users/{id}/memberOf`, 20 users per $batch,
// so about users / 20 requests. Per group: one listing plus at least one member request per
// group (999 members a page), so about groups + users / 999 requests. `auto` takes whichever
// needs fewer requests, with the user count estimated by `/users/$count`.
import type { HttpClient } from '../../core/http.ts';
import { IdsyncError } from '../../core/errors.ts';

export type MembershipStrategy = 'perUser' | 'perGroup';
export type MembershipStrategySetting = MembershipStrategy | 'auto';

export const USERS_PER_BATCH = 20;
export const MEMBERS_PER_PAGE = 999;

/** Requests each strategy needs, as estimated before reading. */
export function estimatedRequests(users: number, groups: number): Record<MembershipStrategy, number> {
  return { perUser: users / USERS_PER_BATCH, perGroup: groups + users / MEMBERS_PER_PAGE };
}

export function cheaperStrategy(users: number, groups: number): MembershipStrategy {
  const cost = estimatedRequests(users, groups);
  return cost.perGroup < cost.perUser ? 'perGroup' : 'perUser';
}

/**
 * The number of groups at which per-user reading is no longer beaten, for a user count:
 * listing more groups than this is pointless when the only question is which is cheaper.
 */
export function groupsWherePerUserWins(users: number): number {
  return Math.max(0, Math.ceil(users / USERS_PER_BATCH - users / MEMBERS_PER_PAGE));
}

/**
 * `GET /users/$count` (an advanced query: needs `ConsistencyLevel: eventual`), narrowed by the
 * source's user $filter when there is one. Graph answers with the bare number as text.
 */
export async function countUsers(graph: HttpClient, filter: string | undefined): Promise<number> {
  const res = await graph.send<unknown>({ method: 'GET', url: '/users/$count', query: filter ? { $filter: filter } : undefined, headers: { consistencylevel: 'eventual', accept: 'text/plain' } });
  const n = typeof res.body === 'number' ? res.body : Number(String(res.body ?? '').trim());
  if (!Number.isFinite(n) || n < 0) throw new IdsyncError('TRANSIENT', `Microsoft Graph answered /users/$count with '${String(res.body).slice(0, 40)}' instead of a number`, { hint: 'retry the run' });
  return n;
}
