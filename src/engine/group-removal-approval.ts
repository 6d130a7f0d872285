// Approving held group-membership removals (group-removal-guard.ts): each user is re-checked
// first (the engine reads it again from the source), and only the held groups the target's
// mapping still drops, and that idsync still manages, are removed. A user gone from the source
// (or out of scope) loses the held groups: its account itself is the cleanup's business, which
// never waited for this quarantine. The write goes the way every write goes (prepareUserSync /
// executeWrite: intent first; link, journal item and settled intent in one transaction).
import type { SourceUser } from '../core/types.ts';
import { errorText } from '../core/errors.ts';
import type { Link } from '../store/links.ts';
import type { QuarantineUser } from '../store/quarantine.ts';
import type { TargetRuntime } from './runtime.ts';
import type { DeactivationContext } from './deactivation-approval.ts';
import { executeWrite, intentOf, prepareUserSync } from './user-sync.ts';
import { groupKey } from '../core/group-key.ts';

export interface HeldGroupRemoval {
  held: QuarantineUser;
  link: Link;
  /** The user as the source has it now; absent when it is gone or out of scope. */
  user?: SourceUser;
}

export type GroupRemovalResult = { sourceId: string; state: 'done' | 'skipped' | 'held'; note: string | null };

/** The held groups to remove now: still managed, and not wanted by the mapping (undefined: the mapping failed, still held). */
async function toRemove(t: TargetRuntime, h: HeldGroupRemoval): Promise<{ groups: string[] } | { error: string }> {
  const managed = new Set(h.link.managedGroups.map(groupKey));
  let wanted = new Set<string>();
  if (h.user) {
    try {
      const mapped = await t.mapping.evaluate(h.user, { targetUsernameOf: () => null });
      const failed = mapped.errors.find((e) => e.field === 'groups');
      if (failed) return { error: `the mapping of groups failed (${failed.message}); still held` };
      const list = Array.isArray(mapped.values.groups) ? (mapped.values.groups as unknown[]) : [];
      wanted = new Set(list.filter((g): g is string => typeof g === 'string').map(groupKey));
    } catch (e) {
      return { error: `the mapping could not be evaluated again (${errorText(e)}); still held` };
    }
  }
  return { groups: (h.held.groups ?? []).filter((g) => managed.has(groupKey(g)) && !wanted.has(groupKey(g))) };
}

/** Removes the held groups that are still to go, per user; the quarantine state each user ends in. */
export async function approveGroupRemovals(cx: DeactivationContext, t: TargetRuntime, items: HeldGroupRemoval[]): Promise<GroupRemovalResult[]> {
  const results: GroupRemovalResult[] = [];
  for (const h of items) {
    const sourceId = h.link.sourceId;
    const plan = await toRemove(t, h);
    if ('error' in plan) {
      results.push({ sourceId, state: 'held', note: plan.error });
      continue;
    }
    if (plan.groups.length === 0) {
      const note = 'the mapping gives the groups again (back in the identity provider), or idsync no longer manages them: nothing removed';
      cx.journal.record({ sourceId, label: h.link.label, targetId: t.config.id, operation: 'skipped', error: note, details: { quarantineId: cx.quarantineId, reason: 'group-removal' } });
      results.push({ sourceId, state: 'skipped', note });
      continue;
    }
    const going = new Set(plan.groups.map(groupKey));
    // Only the held groups change: the user's other changes are the next sync's.
    const base = Array.isArray(h.link.applied.groups) ? (h.link.applied.groups as string[]) : h.link.managedGroups;
    const keep = base.filter((g) => !going.has(groupKey(g)));
    const label = h.link.label ?? sourceId;
    const prepared = await prepareUserSync({
      connectorId: cx.connectorId,
      user: h.user ?? { id: sourceId, attrs: {} },
      label,
      target: t,
      link: h.link,
      mapped: { values: { groups: keep }, flows: { groups: 'always' }, pending: [], errors: [] },
      dryRun: false,
      reconcile: false,
      links: cx.store.links,
    });
    let outcome = prepared.outcome;
    if (prepared.write) {
      await cx.store.intents.record([intentOf(prepared.write, cx.runId)]);
      outcome = await executeWrite(prepared.write);
    }
    const ok = outcome!.operation === 'updated' || outcome!.operation === 'unchanged';
    cx.journal.record({
      sourceId,
      label,
      targetId: t.config.id,
      operation: outcome!.operation,
      error: ok ? `removed from ${plan.groups.join(', ')}: approved in quarantine ${cx.quarantineId}` : outcome!.error,
      changes: outcome!.changes,
      wrote: outcome!.wrote,
      details: { matched: 'link', targetKey: h.link.targetKey, reason: 'group-removal', quarantineId: cx.quarantineId },
    });
    const link = outcome!.link ? { ...outcome!.link, fingerprint: null } : undefined;
    const cleared = outcome!.confirmed ? [{ targetId: t.config.id, sourceId }] : [];
    await cx.store.intents.settle({ connectorId: cx.connectorId, links: link ? [link] : [], cleared, runId: cx.runId, items: cx.journal.takeFor(t.config.id, new Set([sourceId])) });
    results.push(ok ? { sourceId, state: 'done', note: null } : { sourceId, state: 'held', note: `the approval's removal failed (${outcome!.error}); approve again to retry` });
  }
  await cx.journal.flushIfFull();
  return results;
}
