// The engine's read guard: a read the source calls complete is still compared with what idsync
// knew before it. A source can answer a short list that looks whole (a page answered empty, an
// empty directory, a filter that broke) and no provider check catches every such case; a large
// unexplained drop is therefore taken for a failed read, never for a change: the run fails with
// the counts, nobody is reported missing. The same policy bounds group memberships removed in
// one run (see RemovalGuard).
import type { ConnectorConfig } from '../config/schema.ts';
import { IdsyncError } from '../core/errors.ts';
import type { LinkRepo } from '../store/links.ts';

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

/** Counts, per target, the linked (not yet missing) users that a complete read did not return. */
export async function countUserDrop(links: LinkRepo, connectorId: string, targetId: string, seen: ReadonlySet<string>): Promise<UserDrop> {
  const drop: UserDrop = { targetId, linked: 0, notReturned: 0 };
  for await (const page of links.sourceIds(connectorId, targetId)) {
    for (const l of page) {
      if (l.missingSince) continue;
      drop.linked++;
      if (!seen.has(l.sourceId)) drop.notReturned++;
    }
  }
  return drop;
}

/**
 * Throws when the read returned nobody while users were linked, or left out more linked users
 * than the threshold allows (for any target). The message gives the counts and what to do.
 */
export function assertPlausibleRead(drops: readonly UserDrop[], returned: number, t: SafetyThreshold): void {
  const bad = drops.filter((d) => d.notReturned > 0 && ((returned === 0 && d.linked > 0) || exceedsSafety(d.notReturned, d.linked, t)));
  if (bad.length === 0) return;
  const what = bad.map((d) => `${d.notReturned} of the ${d.linked} users linked in target '${d.targetId}' were not returned`).join('; ');
  throw new IdsyncError(
    'TRANSIENT',
    `the source's answer is not trusted: it returned ${returned} users and ${what}, more than the safety threshold ` +
      `(${t.maxUsers} users and ${t.maxPercent}%) allows; the read is quarantined: nobody is reported missing`,
    {
      hint: 'if the identity provider really lost these users (a changed filter or required group), raise safety.maxUsers / safety.maxPercent of the connector for one run; otherwise run the sync again later',
    },
  );
}
