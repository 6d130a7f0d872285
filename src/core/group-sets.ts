// Interned sets of groups for a whole listing (issue 9: memory flat in the directory's size),
// shared by the sources that read memberships group by group (the Entra MembershipIndex,
// src/sources/entra/membership-index.ts, and the LDAP group index). A directory has many members and few distinct *combinations* of groups,
// so each combination is stored once and a member holds only its set's number (a small integer,
// stored inline in a Map, no array per member).
//
// Groups are added one whole member list at a time, in the order they were read; every member's
// set is therefore reached by the same path for the same groups (a trie keyed by set and group),
// so equal memberships share one set. A member listed twice in one group's list stays in its set.

export const NO_GROUPS = 0; // the set of no group

export class GroupSets {
  // Set s = parent[s] plus group groupOf[s].
  private readonly parent: number[] = [-1];
  private readonly groupOf: number[] = [-1];
  private readonly transitions = new Map<number, number>();
  private readonly lists: Array<readonly number[] | undefined> = [[]];

  /** The set of `set`'s groups plus `group`, created on first use. `group` must be ≥ every group already in `set`. */
  extend(set: number, group: number): number {
    if (this.groupOf[set] === group) return set; // already counted in this member list
    const key = set * 0x4000000 + group; // exact (< 2^53) up to 2^26 groups and 2^27 sets
    let next = this.transitions.get(key);
    if (next === undefined) {
      next = this.parent.length;
      this.parent.push(set);
      this.groupOf.push(group);
      this.transitions.set(key, next);
    }
    return next;
  }

  /** The groups of a set, in the order they were added (one shared, frozen array per set). */
  groups(set: number): readonly number[] {
    let list = this.lists[set];
    if (!list) {
      const out: number[] = [];
      for (let s = set; s > NO_GROUPS; s = this.parent[s]!) out.push(this.groupOf[s]!);
      list = Object.freeze(out.reverse());
      this.lists[set] = list;
    }
    return list;
  }

  /** Distinct sets, the empty one included. */
  get size(): number {
    return this.parent.length;
  }
}
