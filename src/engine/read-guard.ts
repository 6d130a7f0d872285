// The engine's read guard: a read the source calls complete is still compared with what idsync
// knew before it. A source can answer a short list that looks whole (a page answered empty, an
// empty directory, a filter that broke) and no provider check catches every such case; a large
// unexplained drop is therefore taken for a failed read, never for a change: the run fails with
// the counts, nobody is reported missing. The same threshold bounds group memberships removed in
// one run (group-removal-guard.ts) and account removals (the engine's cleanup()).
import type { ConnectorConfig } from '../config/schema.ts';
import { IdsyncError } from '../core/errors.ts';
import type { LinkDigest } from '../store/links.ts';

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
