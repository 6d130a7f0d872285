// Carries out the group-removal guard's decision (group-removal-guard.ts) for a run: at the end of
// the read, the groups held are journaled (one warning item per group) and their users stored in
// one quarantine of reason `group-removals` (through holdRemovals, as every held removal is), so
// the run ends `partial` with a notice saying what was held and how to approve it; at the end of
// the run, users held later in it join that quarantine, and holds of earlier runs that the mapping
// made moot (the group came back) are dropped.
import type { Store } from '../store/index.ts';
import type { Link } from '../store/links.ts';
import type { Journal } from './journal.ts';
import type { GroupRemovalGuard, HeldGroup } from './group-removal-guard.ts';
import { heldGroupRemoval, holdRemovals, type HeldEntry, type HoldContext } from './quarantine.ts';
import type { TargetRuntime } from './runtime.ts';

export interface GroupHoldRun {
  store: Store;
  connectorId: string;
  runId: string;
  dryRun: boolean;
  targets: readonly TargetRuntime[];
  guards: ReadonlyMap<string, GroupRemovalGuard>;
  hold: HoldContext;
}

/** The quarantine this run stored for its held group removals (absent: none, or a dry run). */
export interface GroupHoldState {
  quarantineId?: string;
  held: boolean;
}

/** End of the read: decides every target's guard; holds the removals over the threshold. */
export async function holdGroupRemovals(r: GroupHoldRun): Promise<GroupHoldState> {
  const entries: HeldEntry[] = [];
  const reasons: string[] = [];
  const whys = new Map<string, string>();
  for (const t of r.targets) {
    const guard = r.guards.get(t.config.id);
    if (!guard) continue;
    const groups = await guard.decide();
    if (groups.length === 0) continue;
    await journalHeldGroups(r.hold.journal, t.config.id, groups);
    const why = guard.describe();
    reasons.push(why);
    whys.set(t.config.id, why);
    entries.push(...(await entriesOf(r, t, guard, why)));
  }
  if (reasons.length === 0) return { held: false };
  const message = reasons.join('; ');
  const summary = await holdRemovals(r.hold, 'group-removals', message, entries);
  for (const t of r.targets) {
    const why = whys.get(t.config.id);
    if (!why) continue;
    const tail = summary ? `: the memberships stay until an administrator approves quarantine ${summary.id} (idsync quarantine approve ${summary.id} --all)` : ' (simulated: no quarantine stored)';
    r.guards.get(t.config.id)!.heldIn(summary?.id, `group membership removal held back (group-removals): ${why}${tail}`);
  }
  return { quarantineId: summary?.id, held: true };
}

/** End of the run: users held after the quarantine was stored join it; moot holds of earlier runs are dropped. */
export async function finishGroupHolds(r: GroupHoldRun, state: GroupHoldState): Promise<void> {
  if (r.dryRun) return;
  const moot = new Set<string>();
  for (const t of r.targets) {
    const guard = r.guards.get(t.config.id);
    if (!guard) continue;
    if (state.quarantineId) {
      const late = await entriesOf(r, t, guard, '');
      await r.store.quarantines.addUsers(
        state.quarantineId,
        r.connectorId,
        late.map((e) => ({ targetId: t.config.id, sourceId: e.link.sourceId, label: e.link.label, targetKey: e.link.targetKey, targetUsername: e.link.targetUsername, planned: e.planned, reason: e.reason, groups: e.groups })),
      );
    }
    for (const m of guard.moot()) {
      await r.store.quarantines.settleUser(m.quarantineId, t.config.id, m.sourceId, 'skipped', 'the mapping gives the groups again (back in the identity provider): nothing to remove', r.runId);
      moot.add(m.quarantineId);
    }
  }
  for (const id of moot) await r.store.quarantines.closeIfMoot(id, 'idsync: every held group came back');
}

/** The guard's users not stored yet, with their links (a user no longer linked holds nothing). */
async function entriesOf(r: GroupHoldRun, t: TargetRuntime, guard: GroupRemovalGuard, why: string): Promise<HeldEntry[]> {
  const users = guard.takeUnstored();
  if (users.size === 0) return [];
  const links = new Map<string, Link>();
  const ids = [...users.keys()];
  for (let i = 0; i < ids.length; i += 500) for (const [id, l] of await r.store.links.getMany(r.connectorId, t.config.id, ids.slice(i, i + 500))) links.set(id, l);
  return ids.filter((id) => links.has(id)).map((id) => heldGroupRemoval(t, links.get(id)!, users.get(id)!, why));
}

/** One warning item per held group, so the run's journal says which memberships were kept and why. */
async function journalHeldGroups(journal: Journal, targetId: string, held: HeldGroup[]): Promise<void> {
  for (const h of held) {
    await journal.add({
      sourceId: null,
      label: `group ${h.name}`,
      targetId,
      operation: 'skipped',
      error: `${h.removals} of its ${h.members} managed members would have been removed${h.recent > 0 ? ` (after ${h.recent} removed by the connector's runs of the last hour)` : ''}; kept this run (safety threshold), held in a quarantine for approval`,
      details: { group: h.name, removals: h.removals, members: h.members, ...(h.recent > 0 ? { recent: h.recent } : {}) },
    });
  }
}
