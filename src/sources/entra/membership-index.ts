// Which groups each user is in, as the per-group membership strategy reads it (groups.ts),
// held compactly for a whole listing (issue 9: memory flat in the directory's size).
//
// A directory has many users and few distinct *combinations* of groups, so each combination
// ("group set", src/core/group-sets.ts) is stored once and a user holds only the number of its
// set, in a GuidMap (src/core/guid-map.ts): Entra object ids are GUIDs, kept as 16 bytes outside
// the V8 heap, any other id exactly in a Map, instead of a string, a Map entry and an array of
// names per user (~0.3 KB a user in the heap).
//
// Groups are added one whole member list at a time, in the order their reads completed; every
// user's set is therefore reached by the same path for the same groups (a trie keyed by
// set and group), so equal memberships share one set whatever order the groups came in.

import { GroupSets, NO_GROUPS } from '../../core/group-sets.ts';
import { GuidMap } from '../../core/guid-map.ts';

export interface IndexStats {
  /** Users in at least one group. */
  users: number;
  /** Distinct group sets, the empty one included. */
  sets: number;
  /** Users whose id is not a canonical GUID, held in a Map. */
  otherIds: number;
  /** Bytes of the typed arrays holding GUID users (outside the V8 heap). */
  tableBytes: number;
}

export class MembershipIndex {
  private readonly groupNames: string[] = [];
  // Group sets; a second sighting of a user in the same member list (a duplicate entry) leaves
  // its set as it is.
  private readonly sets = new GroupSets();
  private readonly names: Array<readonly string[] | undefined> = [[]];
  /** User id → its group set (never NO_GROUPS: a user enters with its first group). */
  private readonly users = new GuidMap();

  /** Adds one group's complete member list. */
  addGroup(displayName: string, memberIds: Iterable<string>): void {
    const group = this.groupNames.length;
    this.groupNames.push(displayName);
    for (const id of memberIds) this.users.set(id, this.sets.extend(this.users.get(id) ?? NO_GROUPS, group));
  }

  /** The user's group display names, sorted (a fresh array); undefined when in no group. */
  get(userId: string): string[] | undefined {
    const set = this.users.get(userId);
    return set === undefined || set === NO_GROUPS ? undefined : [...this.namesOf(set)];
  }

  get size(): number {
    return this.users.size;
  }

  stats(): IndexStats {
    return { users: this.size, sets: this.sets.size, otherIds: this.users.otherIds, tableBytes: this.users.tableBytes };
  }

  private namesOf(set: number): readonly string[] {
    let names = this.names[set];
    if (!names) {
      names = this.sets.groups(set).map((g) => this.groupNames[g]!).sort(); // the order per-user reading gives
      this.names[set] = names;
    }
    return names;
  }
}
