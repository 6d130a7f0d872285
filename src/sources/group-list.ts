// What a source tells the engine about its groups, besides the users' memberships: on the
// complete last page of a full read (or a change feed's seeding round) every group in the
// connector's scope (UserPage.groupList), and in a change round the groups the feed saw change
// (ChangePage.groups), so a rename reaches the members' records without a full sync
// (src/engine/group-ingest.ts). One shape for every source: id and the name users' `groups`
// carry, each id once, no members (the engine does not need them and they can be large).
import type { GroupChange, SourceGroup, UserPage } from '../core/types.ts';

/** The groups of a source's scope as UserPage.groupList: each id once (the first name met), no members. */
export function groupListOf(groups: Iterable<{ id: string; name: string }>): SourceGroup[] {
  const byId = new Map<string, string>();
  for (const g of groups) if (!byId.has(g.id)) byId.set(g.id, g.name);
  return [...byId].map(([id, name]) => ({ id, name }));
}

/** The complete last page of a full read, with the group list when the read has one. */
export function completePage(groups: Iterable<{ id: string; name: string }> | undefined): UserPage {
  return groups ? { users: [], complete: true, groupList: groupListOf(groups) } : { users: [], complete: true };
}

/**
 * Groups a change feed saw change (their profile or entry moved), as ChangePage.groups: the
 * current name of each, no membership deltas (the members' own records carry those). A name
 * the engine already holds is no change; another one is a rename.
 */
export function groupNameChanges(groups: Iterable<{ id: string; name: string }>): GroupChange[] {
  return groupListOf(groups).map((g) => ({ id: g.id, name: g.name, added: [], removed: [] }));
}
