// The engine's read guard: a read the source calls complete is still compared with what idsync
// knew before it. A source can answer a short list that looks whole (a page answered empty, an
// empty directory, a filter that broke) and no provider check catches every such case; a large
// unexplained drop is therefore taken for a failed read, never for a change: the run fails with
// the counts, nobody is reported missing. The same policy bounds group memberships removed in
// one run (see RemovalGuard).
import type { ConnectorConfig } from '../config/schema.ts';
import { IdsyncError } from '../core/errors.ts';
import type { LinkDigest } from '../store/links.ts';
import type { Journal } from './journal.ts';

/**
 * How much may change in one run before it is taken for a bad read: more than `maxUsers`
 * users AND more than `maxPercent` % of the base (the linked users of a target, or the managed
 * members of one group). Both must be exceeded, so small connectors and small groups can still
 * change entirely by a few people. A connector may set its own (`safety` in its configuration).
 */
export const DEFAULT_SAFETY = { maxUsers: 20, maxPercent: 10 } as const;

export interface SafetyThreshold {
  maxUsers: number;
  maxPercent: number;
}

export function safetyOf(connector: ConnectorConfig): SafetyThreshold {
  return { ...DEFAULT_SAFETY, ...connector.safety };
}

/** Whether `changed` of `base` is more than the threshold allows. */
export function exceedsSafety(changed: number, base: number, t: SafetyThreshold): boolean {
  return changed > t.maxUsers && changed * 100 > base * t.maxPercent;
}

export interface UserDrop {
  targetId: string;
  /** Linked users not already missing before this run. */
  linked: number;
  /** Of those, how many this read did not return. */
  notReturned: number;
}

/** Counts, per target, the linked (not yet missing) users that a complete read did not return, from the run's link digests. */
export function countUserDrop(targetId: string, digests: ReadonlyMap<string, LinkDigest>, seen: ReadonlySet<string>): UserDrop {
  const drop: UserDrop = { targetId, linked: 0, notReturned: 0 };
  for (const [sourceId, d] of digests) {
    if (d.missing) continue;
    drop.linked++;
    if (!seen.has(sourceId)) drop.notReturned++;
  }
  return drop;
}

/** Why a complete read is not trusted: it returned nobody in scope while users are linked, or left out too many of them. */
export interface ReadVerdict {
  reason: 'empty-read' | 'read-drop';
  message: string;
}

/**
 * Judges a complete read: undefined when plausible, else why not (for any target). The message
 * gives the counts. The engine then quarantines the cleanup instead of sweeping (engine.ts).
 */
export function judgeRead(drops: readonly UserDrop[], returned: number, t: SafetyThreshold): ReadVerdict | undefined {
  const bad = drops.filter((d) => d.notReturned > 0 && ((returned === 0 && d.linked > 0) || exceedsSafety(d.notReturned, d.linked, t)));
  if (bad.length === 0) return undefined;
  const what = bad.map((d) => `${d.notReturned} of the ${d.linked} users linked in target '${d.targetId}' were not returned`).join('; ');
  const empty = returned === 0 && bad.some((d) => d.linked > 0);
  return {
    reason: empty ? 'empty-read' : 'read-drop',
    message: `the source's answer is not trusted: it returned ${returned} users and ${what}, ${empty ? 'an empty read while users are linked' : `more than the safety threshold (${t.maxUsers} users and ${t.maxPercent}%) allows`}`,
  };
}

/** judgeRead, throwing: for callers that have no quarantine to hand the read to. */
export function assertPlausibleRead(drops: readonly UserDrop[], returned: number, t: SafetyThreshold): void {
  const verdict = judgeRead(drops, returned, t);
  if (!verdict) return;
  throw new IdsyncError('TRANSIENT', `${verdict.message}; nobody is reported missing`, {
    hint: 'if the identity provider really lost these users (a changed filter or required group), approve the quarantine; otherwise run the sync again later',
  });
}

/** Lower-case, as target group names compare (see docs/architecture.md, Groups). */
const groupKey = (g: string) => g.toLowerCase();

/**
 * Group memberships a full run would remove, held back until the read is complete and judged.
 * While the source is read, a user whose mapping drops a group idsync manages for them is not
 * written: the engine defers it to the end of the run (`review` answers 'defer') and the guard
 * counts the removal. Once the read is complete, `decide` holds every group that would lose
 * more of its managed members than the safety threshold allows, and all groups when the run's
 * removals together exceed the threshold of the target's linked users. Deferred users are then
 * written once: held groups stay (and the user is synced again next run), the others go.
 */
export class RemovalGuard {
  private readonly intended = new Map<string, { name: string; removals: number }>();
  private total = 0;
  private decided = false;
  private holdAll = false;
  private readonly heldGroups = new Map<string, { name: string; removals: number; members: number }>();

  constructor(
    private readonly targetId: string,
    private readonly census: { linked: number; members: ReadonlyMap<string, number> },
    private readonly safety: SafetyThreshold,
  ) {}

  /** Managed groups of a user that its mapped groups no longer contain. */
  private removals(managed: readonly string[] | undefined, desired: unknown): string[] {
    if (!managed?.length) return [];
    // A rule that yields nothing (null) wants no groups at all: every managed one would go.
    const list: unknown[] = Array.isArray(desired) ? desired : [];
    const wanted = new Set(list.filter((g): g is string => typeof g === 'string').map(groupKey));
    return managed.filter((g) => !wanted.has(groupKey(g)));
  }

  /**
   * What to do with a user about to be planned: 'defer' while the read goes on and the user
   * would lose groups; once decided, 'held' after adding the held groups back to its mapped
   * `groups` (so nothing of them is removed), else 'proceed'.
   */
  review(managed: readonly string[] | undefined, values: Record<string, unknown>): 'proceed' | 'defer' | 'held' {
    if (!('groups' in values)) return 'proceed';
    const removing = this.removals(managed, values.groups);
    if (removing.length === 0) return 'proceed';
    if (!this.decided) {
      for (const g of removing) {
        const entry = this.intended.get(groupKey(g));
        if (entry) entry.removals++;
        else this.intended.set(groupKey(g), { name: g, removals: 1 });
      }
      this.total += removing.length;
      return 'defer';
    }
    const held = removing.filter((g) => this.holdAll || this.heldGroups.has(groupKey(g)));
    if (held.length === 0) return 'proceed';
    values.groups = [...(Array.isArray(values.groups) ? (values.groups as string[]) : []), ...held];
    return 'held';
  }

  /** The read is complete: which groups keep their members this run. Returns the held groups. */
  decide(): Array<{ name: string; removals: number; members: number }> {
    if (this.decided) return [...this.heldGroups.values()];
    this.decided = true;
    this.holdAll = exceedsSafety(this.total, this.census.linked, this.safety);
    for (const [key, { name, removals }] of this.intended) {
      const members = this.census.members.get(key) ?? 0;
      if (this.holdAll || exceedsSafety(removals, members, this.safety)) this.heldGroups.set(key, { name, removals, members });
    }
    return [...this.heldGroups.values()];
  }

  /** Throws, once decided, when removals were held: the run fails with the groups and counts. */
  assertNothingHeld(): void {
    const held = [...this.heldGroups.values()];
    if (held.length === 0) return;
    const what = held.map((h) => `'${h.name}' (${h.removals} of ${h.members})`).join(', ');
    const scope = this.holdAll ? `${this.total} group memberships across the run, more than the threshold of the ${this.census.linked} linked users allows; ` : '';
    throw new IdsyncError(
      'TRANSIENT',
      `group memberships in target '${this.targetId}' were not removed: ${scope}the read would have removed ${what} managed members, more than the safety threshold (${this.safety.maxUsers} users and ${this.safety.maxPercent}%) allows; these memberships are kept this run`,
      { hint: 'if these people really left the groups, raise safety.maxUsers / safety.maxPercent of the connector for one run; otherwise run the sync again later' },
    );
  }
}

/** One warning item per held group, so the run's journal says which memberships were kept and why. */
export async function journalHeldRemovals(journal: Journal, targetId: string, guard: RemovalGuard): Promise<void> {
  for (const h of guard.decide()) {
    await journal.add({
      sourceId: null,
      label: `group ${h.name}`,
      targetId,
      operation: 'skipped',
      error: `${h.removals} of its ${h.members} managed members would have been removed; kept this run (safety threshold)`,
      details: { group: h.name, removals: h.removals, members: h.members },
    });
  }
}
