// Quarantine: a cleanup held back instead of done (issue 10). The engine stores what it would
// have done to whom (src/store/quarantine.ts), journals each user `quarantined`, and says so on
// the run; an administrator approves (all or some: each user is re-checked first) or rejects.
// Also here: undoing a cleanup when the user comes back (withRestore), and the engine's
// injectable dependencies (the clock, the notification hook).
import type { FieldValues, Json } from '../core/types.ts';
import type { MappedUser } from '../mapping/api.ts';
import type { Store } from '../store/index.ts';
import type { CleanupState, Link } from '../store/links.ts';
import { GROUP_REMOVAL, type QuarantineReason } from '../store/quarantine.ts';
import type { QuarantineSummary } from '../store/runs.ts';
import type { Journal } from './journal.ts';
import type { PlannedCleanup } from './cleanup-run.ts';
import type { TargetRuntime } from './runtime.ts';

/** What a quarantine hook is told: enough for a notification (webhook, e-mail) to say what and where. */
export interface QuarantineNotice extends QuarantineSummary {
  connectorId: string;
  runId: string;
  /** Up to 20 of the affected users, as labels, for the message. */
  sample: string[];
}

export interface EngineDeps {
  /** The clock (tests move it to see a deletion fall due). Default: the system clock. */
  now?: () => Date;
  /**
   * Called once a run has stored a quarantine (never in a dry run). The notification module
   * hangs here; a hook that throws or rejects is logged by nobody and never fails the run.
   */
  onQuarantine?: (notice: QuarantineNotice) => void | Promise<void>;
}

export interface HoldContext {
  store: Store;
  journal: Journal;
  runId: string;
  connectorId: string;
  dryRun: boolean;
  now: Date;
  onQuarantine?: EngineDeps['onQuarantine'];
  /** Tells the run what to say (its notice) and its quarantine summary. */
  said(notice: string, summary?: QuarantineSummary): void;
}

/** One account a quarantine holds: a cleanup planned for a gone user, or a deactivation the mapping planned. */
export interface HeldEntry {
  t: TargetRuntime;
  link: Link;
  /** The step held: the cleanup policy's (disable, removeAccess, anonymise, delete) or `deactivate`. */
  planned: string;
  /** deleted | disabled | outOfScope (a cleanup's), deactivated (the mapping's user.active false). */
  reason: string;
  /** What would have been done, for the journal item. */
  why: string;
  /** A deactivation (or a held group removal) is journaled by the engine with the rest of its user's write, not here. */
  journaled?: boolean;
  /** A held group removal (`planned` removeGroups): the managed groups kept. */
  groups?: string[];
}

/** One user and target of a held group removal, for the quarantine (group-removal-hold.ts). */
export function heldGroupRemoval(t: TargetRuntime, link: Link, groups: string[], why: string): HeldEntry {
  return { t, link, planned: 'removeGroups', reason: GROUP_REMOVAL, why, journaled: false, groups };
}

export function heldCleanup(t: TargetRuntime, plan: PlannedCleanup): HeldEntry {
  return { t, link: plan.link, planned: plan.decision.step, reason: plan.reason, why: plan.decision.why };
}

/** Stores the quarantine (not in a dry run), journals every held user, tells the run and the hook. */
export async function holdCleanups(hc: HoldContext, reason: QuarantineReason, message: string, entries: Array<{ t: TargetRuntime; plan: PlannedCleanup }>): Promise<QuarantineSummary | undefined> {
  return holdRemovals(hc, reason, message, entries.map(({ t, plan }) => heldCleanup(t, plan)));
}

/** holdCleanups for any account removal (cleanups and deactivations): the summary stored, if any. */
export async function holdRemovals(hc: HoldContext, reason: QuarantineReason, message: string, entries: HeldEntry[]): Promise<QuarantineSummary | undefined> {
  let summary: QuarantineSummary | undefined;
  if (!hc.dryRun) {
    const q = await hc.store.quarantines.create({
      connectorId: hc.connectorId,
      reason,
      message,
      runId: hc.runId,
      now: hc.now.toISOString(),
      users: entries.map(({ t, link, planned, reason: why, groups }) => ({ targetId: t.config.id, sourceId: link.sourceId, label: link.label, targetKey: link.targetKey, targetUsername: link.targetUsername, planned, reason: why, ...(groups ? { groups } : {}) })),
    });
    summary = { id: q.id, reason, message, affected: q.affected };
  }
  for (const e of entries) {
    if (e.journaled === false) continue;
    hc.journal.record({
      sourceId: e.link.sourceId,
      label: e.link.label,
      targetId: e.t.config.id,
      operation: 'quarantined',
      error: `${e.why}: held back (${reason})`,
      details: { matched: 'link', targetKey: e.link.targetKey, reason: e.reason, planned: e.planned, ...(summary ? { quarantineId: summary.id } : { simulated: true }) },
    });
  }
  await hc.journal.flushIfFull();
  const deactivations = entries.filter((e) => e.planned === 'deactivate').length;
  const groupRemovals = entries.filter((e) => e.planned === 'removeGroups').length;
  if (groupRemovals === entries.length) {
    const what = `group membership removals quarantined: ${message}; nobody was removed from these groups (${entries.length} users held: their other changes were written)`;
    hc.said(summary ? `${what}; review it with: idsync quarantine show ${summary.id}, apply it with: idsync quarantine approve ${summary.id} --all` : `${what} (simulated: no quarantine stored)`, summary);
    await notify(hc, summary, entries);
    return summary;
  }
  const what = deactivations === 0
    ? `cleanup quarantined: ${message}; nothing was disabled or deleted (${entries.length} users held)`
    : `account removals quarantined: ${message}; nothing was disabled, deleted or deactivated (${entries.length} users held, ${deactivations} of them deactivations: their other changes were written)`;
  hc.said(summary ? `${what}; review it with: idsync quarantine show ${summary.id}` : `${what} (simulated: no quarantine stored)`, summary);
  await notify(hc, summary, entries);
  return summary;
}

async function notify(hc: HoldContext, summary: QuarantineSummary | undefined, entries: HeldEntry[]): Promise<void> {
  if (summary && hc.onQuarantine) {
    const notice: QuarantineNotice = { ...summary, connectorId: hc.connectorId, runId: hc.runId, sample: entries.slice(0, 20).map((e) => e.link.label ?? e.link.sourceId) };
    try {
      await hc.onQuarantine(notice);
    } catch {
      // A notification that failed must not turn a held cleanup into a failed run.
    }
  }
}

const ACCOUNT_TEXT = ['user.username', 'user.displayName', 'user.email'] as const;

/**
 * The mapped values of a user who is back after a cleanup, with what idsync did undone: the
 * account re-enabled (when idsync disabled it and the mapping does not say otherwise) and the
 * pseudonym replaced by the originals (the mapping's value where it writes the field always,
 * else the value the pseudonym replaced). Memberships idsync removed come back through the
 * mapping's groups rule as for any user.
 */
export function withRestore(mapped: MappedUser, state: CleanupState): MappedUser {
  const values: FieldValues = { ...mapped.values };
  const flows = { ...mapped.flows };
  if (state.disabledAt && !('user.active' in values)) {
    values['user.active'] = true;
    flows['user.active'] = 'always';
  }
  for (const f of ACCOUNT_TEXT) {
    const original = state.originals?.[f];
    if (original === undefined) continue;
    const fromMapping = f in values && (flows[f] ?? 'always') === 'always' && typeof values[f] === 'string' && values[f] !== '';
    if (!fromMapping) values[f] = original as Json;
    flows[f] = 'always';
  }
  return { ...mapped, values, flows };
}
