// The one policy for group memberships removed from managed target groups, for every run kind
// (full, incremental, replay, single user, push). A group deleted in the provider, or renamed out
// of the mapped set, is a removal of all its members in one run; a full read cut short looks the
// same. Neither may lock people out of e.g. `jira-software-users` on one signal, so:
//
//   - while the source is read, a user whose mapping drops a group idsync manages for them is not
//     written: the engine defers it to the end of the read (`review` answers defer) and the guard
//     counts the removal per group;
//   - once the read is over, `decide` holds every group that would lose more of its managed members
//     than the connector's `safety` threshold allows (more than `maxUsers` AND more than
//     `maxPercent` % of them: exceedsSafety, the read guard's and the cleanup's check), and all of
//     the run's removals when together they exceed the threshold of the target's linked users;
//   - a group's count is a burst's, not one run's: the members the connector's runs of the last
//     hour removed from it (`recent`, cleanup-burst.ts) count with this run's removals, against the
//     managed members it had before them (census + recent), as incremental runs and SCIM pushes
//     bring a mass removal in slices. The run-wide check of all groups together stays this run's;
//   - the users of held groups are stored in a quarantine (reason `group-removals`, one row per user
//     and target, `planned` removeGroups, the groups kept: group-removal-hold.ts) and written with
//     the held groups kept, their other changes going through; the rest of the run proceeds;
//   - a removal held by an open quarantine is never derived again by a later run: the group stays
//     wanted for that user, uncounted, until an administrator approves (group-removal-approval.ts)
//     or rejects; once the mapping wants the group again (the group came back), the hold is moot
//     and dropped (`moot`).
//
// The census (managed members per group, linked users) is read from the links only when some count
// (with the burst's) passes `maxUsers`: below it nothing can be held, so a small incremental run
// reads no census; the recent runs are read only by a run that removes some membership.
import { exceedsSafety, type SafetyThreshold } from './read-guard.ts';
import { BURST_WINDOW_MS } from './cleanup-burst.ts';
import { groupKey } from '../core/group-key.ts';

/** Lower-case, as target group names compare (see docs/architecture.md, Groups). */

export interface GroupCensus {
  linked: number;
  members: ReadonlyMap<string, number>;
}

/** A removal held by an open quarantine of an earlier run: per user, the quarantine and the groups it keeps. */
export type OpenGroupHolds = ReadonlyMap<string, ReadonlyArray<{ quarantineId: string; groups: readonly string[] }>>;

export interface HeldGroup {
  name: string;
  /** This run's removals from the group. */
  removals: number;
  /** Its managed members now (before this run's removals). */
  members: number;
  /** Members removed from it by the connector's runs of the burst window, counted with `removals`. */
  recent: number;
}

/** Members removed per group (lower-case name) by the connector's recent runs: cleanup-burst.ts. */
export type RecentGroupRemovals = () => Promise<ReadonlyMap<string, number>>;

export type RemovalReview =
  | { kind: 'proceed' }
  /** Removals while undecided: the user waits for the end of the read. */
  | { kind: 'defer' }
  /** Some removals are held: the held groups were added back to the mapped `groups`; the user is journaled `quarantined`. */
  | { kind: 'held'; groups: string[]; why: string; quarantineId?: string };

export class GroupRemovalGuard {
  private readonly intended = new Map<string, { name: string; removals: number }>();
  /** Users waiting with their removals (not those an open quarantine holds already). */
  private readonly waiting = new Map<string, string[]>();
  private total = 0;
  private decided = false;
  private holdAll = false;
  private readonly heldGroups = new Map<string, HeldGroup>();
  /** Users held by this run's decision, not stored in its quarantine yet (takeUnstored). */
  private readonly unstored = new Map<string, string[]>();
  private readonly stored = new Set<string>();
  private quarantine: { id?: string; why: string } | undefined;
  /** Open holds the mapping made moot (the group is wanted again): quarantine id and user. */
  private readonly mootHolds = new Map<string, { quarantineId: string; sourceId: string }>();

  constructor(
    readonly targetId: string,
    private readonly census: () => Promise<GroupCensus>,
    readonly safety: SafetyThreshold,
    private readonly openHolds: OpenGroupHolds = new Map(),
    private readonly recent: RecentGroupRemovals = async () => new Map(),
  ) {}

  /** Managed groups of a user that its mapped groups no longer contain. */
  private removals(managed: readonly string[] | undefined, wanted: ReadonlySet<string>): string[] {
    if (!managed?.length) return [];
    return managed.filter((g) => !wanted.has(groupKey(g)));
  }

  /**
   * What to do with a user about to be planned. A held removal comes back as 'held' after its
   * groups were added to `values.groups` (so nothing of them is planned or written).
   */
  review(sourceId: string, managed: readonly string[] | undefined, values: Record<string, unknown>): RemovalReview {
    if (!('groups' in values)) return { kind: 'proceed' };
    // A rule that yields nothing (null) wants no groups at all: every managed one would go.
    const list: unknown[] = Array.isArray(values.groups) ? values.groups : [];
    const wanted = new Set(list.filter((g): g is string => typeof g === 'string').map(groupKey));
    const removing = this.removals(managed, wanted);
    const managedKeys = new Set((managed ?? []).map(groupKey));
    // Open holds first: kept (uncounted) while any of their groups would still go; moot otherwise.
    const keptByHold: string[] = [];
    let holdId: string | undefined;
    for (const h of this.openHolds.get(sourceId) ?? []) {
      const still = h.groups.filter((g) => managedKeys.has(groupKey(g)) && !wanted.has(groupKey(g)));
      if (still.length === 0) this.mootHolds.set(`${h.quarantineId}\u0000${sourceId}`, { quarantineId: h.quarantineId, sourceId });
      else {
        this.mootHolds.delete(`${h.quarantineId}\u0000${sourceId}`);
        holdId ??= h.quarantineId;
        for (const g of still) if (!keptByHold.some((k) => groupKey(k) === groupKey(g))) keptByHold.push(g);
      }
    }
    const kept = new Set(keptByHold.map(groupKey));
    const rest = removing.filter((g) => !kept.has(groupKey(g)));
    if (rest.length > 0 && !this.decided) {
      if (!this.waiting.has(sourceId)) {
        for (const g of rest) {
          const entry = this.intended.get(groupKey(g));
          if (entry) entry.removals++;
          else this.intended.set(groupKey(g), { name: g, removals: 1 });
        }
        this.total += rest.length;
        this.waiting.set(sourceId, rest);
      }
      return { kind: 'defer' };
    }
    const heldNow = this.decided ? rest.filter((g) => this.holdAll || this.heldGroups.has(groupKey(g))) : [];
    if (heldNow.length > 0 && !this.stored.has(sourceId)) this.unstored.set(sourceId, heldNow);
    const keep = [...keptByHold, ...heldNow];
    if (keep.length === 0) return { kind: 'proceed' };
    values.groups = [...(list.filter((g) => typeof g === 'string') as string[]), ...keep];
    if (heldNow.length > 0) return { kind: 'held', groups: keep, why: this.quarantine?.why ?? 'group membership removal held back (safety threshold)', quarantineId: this.quarantine?.id };
    return { kind: 'held', groups: keep, why: 'group membership removal held in an open quarantine: the memberships stay until an administrator approves or rejects it', quarantineId: holdId };
  }

  /** The read is over: which groups keep their members. Returns the held groups. */
  async decide(): Promise<HeldGroup[]> {
    if (this.decided) return [...this.heldGroups.values()];
    this.decided = true;
    const s = this.safety;
    if (this.total === 0) return [];
    const recent = await this.recent();
    const before = (key: string) => recent.get(key) ?? 0;
    // exceedsSafety needs more than maxUsers removals: below that, no census is needed.
    if (this.total <= s.maxUsers && ![...this.intended].some(([key, e]) => e.removals + before(key) > s.maxUsers)) return [];
    const census = await this.census();
    this.holdAll = exceedsSafety(this.total, census.linked, s);
    for (const [key, { name, removals }] of this.intended) {
      const members = census.members.get(key) ?? 0;
      // The group had the members the burst removed already too: the share is of those it had before it.
      if (this.holdAll || exceedsSafety(removals + before(key), members + before(key), s)) this.heldGroups.set(key, { name, removals, members, recent: before(key) });
    }
    for (const [sourceId, groups] of this.waiting) {
      const held = groups.filter((g) => this.holdAll || this.heldGroups.has(groupKey(g)));
      if (held.length > 0) this.unstored.set(sourceId, held);
    }
    return [...this.heldGroups.values()];
  }

  /** Why the groups are held, for the quarantine and the run's notice (once decided). */
  describe(): string {
    const held = [...this.heldGroups.values()];
    const window = `${BURST_WINDOW_MS / 60_000} minutes`;
    const what = held
      .map((h) => (h.recent > 0 ? `'${h.name}' (${h.removals + h.recent} of ${h.members + h.recent}: ${h.removals} in this run, ${h.recent} by the connector's runs of the last ${window})` : `'${h.name}' (${h.removals} of ${h.members})`))
      .join(', ');
    const scope = this.holdAll ? `${this.total} group memberships across the run, more than the threshold of the target's linked users allows; ` : '';
    return `${scope}the run would remove ${what} managed members in target '${this.targetId}', more than the safety threshold (${this.safety.maxUsers} users and ${this.safety.maxPercent}%) allows`;
  }

  /** The users held by this run's decision and not yet in its quarantine (cleared: they are stored now). */
  takeUnstored(): Map<string, string[]> {
    const out = new Map(this.unstored);
    for (const id of out.keys()) this.stored.add(id);
    this.unstored.clear();
    return out;
  }

  /** The quarantine the held removals went to (absent in a dry run) and the text its users are journaled with. */
  heldIn(quarantineId: string | undefined, why: string): void {
    this.quarantine = { id: quarantineId, why };
  }

  /** Open holds of earlier runs that the mapping no longer removes: to drop. */
  moot(): Array<{ quarantineId: string; sourceId: string }> {
    return [...this.mootHolds.values()];
  }
}
