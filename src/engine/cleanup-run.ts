// Carries out cleanup decisions (cleanup-policy.ts) through the same path as every other write:
// the intent is recorded before anything is sent, the write (user.active=false, a pseudonym,
// group removals) or the deletion goes to the target, and the link (with its cleanup state),
// the journal item and the settled intent are stored in one transaction from what the target
// confirmed. A crash between the two leaves the intent, so the next run re-reads that user
// (recovery.ts) and the link never claims more than the target confirmed.
import type { FieldChange, FieldValues, Json, TargetUserRef } from '../core/types.ts';
import { errorText } from '../core/errors.ts';
import type { Store } from '../store/index.ts';
import type { CleanupState, Link } from '../store/links.ts';
import type { CleanupReason } from '../config/cleanup-schema.ts';
import type { TargetRuntime } from './runtime.ts';
import type { Journal, JournalEntry } from './journal.ts';
import { REASON_TEXT, decideCleanup, pseudonymOf, type CleanupDecision } from './cleanup-policy.ts';
import { groupNames } from '../targets/group-delta.ts';
import { mapLimit } from './concurrency.ts';
import type { UserSyncReport } from './api.ts';
import { groupKey } from '../core/group-key.ts';

const ACCOUNT_TEXT = ['user.username', 'user.displayName', 'user.email'] as const;

/** One linked user a cleanup considers in one target. */
export interface CleanupCandidate {
  link: Link;
  reason: CleanupReason;
  /** Why the user is gone, said more exactly than the reason (e.g. "deleted in the identity provider (still restorable there)"). */
  detail?: string;
  /** The shadow's reason (soft-deleted, deleted, out-of-scope, not-returned), journaled as the item's reason. */
  tombstone?: string;
}

export interface PlannedCleanup extends CleanupCandidate {
  decision: CleanupDecision;
}

/** What one cleanup did with one user, for quarantine bookkeeping. */
export interface CleanupResult {
  sourceId: string;
  ok: boolean;
  error?: string;
}

/**
 * Decides for each candidate. When protected groups are configured, the account's groups are
 * read from the target (a protecting membership is usually a manual one, which the link does not
 * know); else the link's snapshot is enough.
 */
export async function planCleanups(t: TargetRuntime, candidates: CleanupCandidate[], now: Date): Promise<PlannedCleanup[]> {
  const config = t.config.cleanup;
  const needGroups = (config?.protected.groups.length ?? 0) > 0 && t.capabilities.fields.some((f) => f.name === 'groups');
  const out: PlannedCleanup[] = new Array(candidates.length);
  await mapLimit(candidates.map((c, i) => [c, i] as const), t.config.concurrency, async ([c, i]) => {
    let groups = [...new Set([...groupNames(c.link.applied.groups), ...c.link.managedGroups])];
    if (needGroups) {
      const actual = await t.connector.readUser(refOf(c.link), ['groups']).catch(() => null);
      if (actual) groups = groupNames(actual.values.groups);
    }
    out[i] = { ...c, decision: decideCleanup({ link: c.link, reason: c.reason, config, lifecycle: t.capabilities.lifecycle, groups, accessGroups: accessGroupsOf(t), now }) };
  });
  return out;
}

/** The target's configured product-access groups (removeAccess), when its settings name them. */
function accessGroupsOf(t: TargetRuntime): string[] {
  const v = (t.config as Record<string, unknown>).accessGroups;
  return Array.isArray(v) ? v.filter((g): g is string => typeof g === 'string') : [];
}

export function refOf(link: Link): TargetUserRef {
  return { key: link.targetKey, username: link.targetUsername ?? undefined };
}

export interface CleanupContext {
  store: Store;
  runId: string;
  journal: Journal;
  connectorId: string;
  dryRun: boolean;
  now: Date;
  /** Single-user runs: each user's step for the UI's report. */
  report?: UserSyncReport['targets'];
}

/** Performs (or, in a dry run, shows) the planned cleanups of one target. */
export async function executeCleanups(cx: CleanupContext, t: TargetRuntime, plans: PlannedCleanup[]): Promise<CleanupResult[]> {
  const results: CleanupResult[] = [];
  const nowIso = cx.now.toISOString();
  const acting = plans.filter((p) => p.decision.step === 'disable' || p.decision.step === 'removeAccess' || p.decision.step === 'anonymise' || p.decision.step === 'delete');
  const passive = plans.filter((p) => !acting.includes(p));

  // Reported only: kept, protected, or already done. The link is marked missing (once).
  const newlyMissing: string[] = [];
  for (const p of passive) {
    if (!p.link.missingSince) newlyMissing.push(p.link.sourceId);
    const d = p.decision;
    const entry: JournalEntry = {
      sourceId: p.link.sourceId,
      label: p.link.label,
      targetId: t.config.id,
      operation: d.step === 'protected' ? 'skipped' : 'missing',
      error: withDetail(d.why, p),
      details: { missingSince: p.link.missingSince ?? nowIso, reason: p.tombstone ?? p.reason, cleanup: d.step, ...(d.deleteDueAt ? { deleteDueAt: d.deleteDueAt } : {}), ...(d.step === 'protected' ? { protected: true } : {}) },
    };
    cx.report?.push({ targetId: t.config.id, matched: 'link', targetKey: p.link.targetKey, operation: entry.operation, changes: [], error: entry.error ?? undefined });
    await cx.journal.add(entry);
    results.push({ sourceId: p.link.sourceId, ok: true });
  }
  if (!cx.dryRun && newlyMissing.length > 0) await cx.store.links.setMissing(cx.connectorId, t.config.id, newlyMissing, nowIso);
  if (acting.length === 0) return results;

  // Plan every write first (reads only), record the intents in one statement, then write.
  const prepared = await Promise.all(acting.map((p) => prepare(t, p, cx)));
  if (cx.dryRun) {
    for (const w of prepared) {
      const entry = journalEntryOf(t, w, undefined, { simulated: true });
      cx.report?.push({ targetId: t.config.id, matched: 'link', targetKey: w.plan.link.targetKey, operation: entry.operation, changes: entry.changes ?? [], error: entry.error ?? undefined });
      cx.journal.record(entry);
      results.push({ sourceId: w.plan.link.sourceId, ok: true });
    }
    await cx.journal.flushIfFull();
    return results;
  }
  await cx.store.intents.record(
    prepared.map((w) => ({
      connectorId: cx.connectorId,
      targetId: t.config.id,
      sourceId: w.plan.link.sourceId,
      runId: cx.runId,
      op: 'update' as const,
      targetKey: w.plan.link.targetKey,
      username: w.plan.link.targetUsername,
      email: typeof w.plan.link.applied['user.email'] === 'string' ? (w.plan.link.applied['user.email'] as string) : null,
      label: w.plan.link.label,
      groupsAdd: [],
    })),
  );
  await mapLimit(prepared, t.config.concurrency, async (w) => {
    const done = await send(t, w, nowIso);
    const entry = journalEntryOf(t, w, done, {});
    cx.report?.push({ targetId: t.config.id, matched: 'link', targetKey: w.plan.link.targetKey, operation: entry.operation, changes: entry.changes ?? [], error: entry.error ?? undefined });
    cx.journal.record(entry);
    const key = { targetId: t.config.id, sourceId: w.plan.link.sourceId };
    const items = cx.journal.takeFor(t.config.id, new Set([w.plan.link.sourceId]));
    // What the target confirmed, the journal item and the settled intent: one transaction.
    await cx.store.intents.settle({
      connectorId: cx.connectorId,
      links: done.link ? [done.link] : [],
      removedLinks: done.deleted ? [key] : [],
      cleared: done.confirmed ? [key] : [],
      runId: cx.runId,
      items,
    });
    results.push({ sourceId: w.plan.link.sourceId, ok: !done.error, error: done.error });
  });
  await cx.journal.flushIfFull();
  return results;
}

interface PreparedCleanup {
  plan: PlannedCleanup;
  changes: FieldChange[];
  /** What the pseudonym replaces, as the target holds it now. */
  originals: FieldValues;
  /** Reading the account before the write failed (anonymise needs its values). */
  error?: string;
}

async function prepare(t: TargetRuntime, plan: PlannedCleanup, cx: CleanupContext): Promise<PreparedCleanup> {
  const { link, decision: d } = plan;
  const changes: FieldChange[] = [];
  const originals: FieldValues = {};
  if (d.step === 'delete') return { plan, changes, originals };
  if (d.pseudonymise) {
    // The originals are what the target holds, not what the mapping last wanted: re-read them.
    let values: FieldValues = {};
    try {
      const actual = await t.connector.readUser(refOf(link), [...ACCOUNT_TEXT]);
      if (!actual) return { plan, changes, originals, error: 'the linked account no longer exists in the target' };
      values = actual.values;
    } catch (e) {
      return { plan, changes, originals, error: `reading the account before anonymising it failed: ${errorText(e)}` };
    }
    const pseudonym = pseudonymOf(cx.connectorId, link.sourceId);
    for (const f of ACCOUNT_TEXT) {
      const before = (values[f] ?? link.applied[f] ?? (f === 'user.username' ? link.targetUsername : null)) as Json;
      // Already the pseudonym (a run that died after writing it): keep the originals known before.
      if (before === pseudonym[f]) {
        if (link.cleanup?.originals?.[f] !== undefined) originals[f] = link.cleanup.originals[f]!;
        continue;
      }
      originals[f] = before;
      changes.push({ field: f, before, after: pseudonym[f] });
    }
  }
  // Already inactive as idsync last wrote it (the mapping deactivated it): nothing to send.
  if (d.disable && link.applied['user.active'] !== false) changes.push({ field: 'user.active', before: (link.applied['user.active'] ?? true) as Json, after: false });
  if (d.removeGroups.length > 0) {
    const before = [...new Set([...groupNames(link.applied.groups), ...link.managedGroups])].sort();
    const removing = new Set(d.removeGroups.map(groupKey));
    const after = before.filter((g) => !removing.has(groupKey(g)));
    changes.push({ field: 'groups', before, after, add: [], remove: d.removeGroups });
  }
  return { plan, changes, originals };
}

interface Sent {
  link?: Link;
  /** The account is gone: its link is removed. */
  deleted?: boolean;
  confirmed: boolean;
  changes: FieldChange[];
  error?: string;
}

async function send(t: TargetRuntime, w: PreparedCleanup, nowIso: string): Promise<Sent> {
  const { link, decision: d, reason } = w.plan;
  if (w.error) return { confirmed: true, changes: [], error: w.error };
  if (d.step === 'delete') {
    if (!t.connector.deleteUser) return { confirmed: true, changes: [], error: `${t.capabilities.kind} cannot delete accounts${t.capabilities.lifecycle.reasons?.delete ? `: ${t.capabilities.lifecycle.reasons.delete}` : ''}` };
    try {
      await t.connector.deleteUser(refOf(link));
      return { deleted: true, confirmed: true, changes: [] };
    } catch (e) {
      // Refused or cut short: the account may or may not be gone; the intent stays, the link stays.
      return { confirmed: false, changes: [], error: errorText(e) };
    }
  }
  if (w.changes.length === 0) {
    // Nothing left to write (e.g. the pseudonym was already in place): record the state.
    return { link: { ...link, missingSince: link.missingSince ?? nowIso, fingerprint: null, cleanup: stateAfter(link, d, reason, new Set(['user.active', 'groups', ...ACCOUNT_TEXT]), w.originals, nowIso) }, confirmed: true, changes: [] };
  }
  let result;
  try {
    result = await t.connector.write({ op: 'update', ref: refOf(link), desired: Object.fromEntries(w.changes.map((c) => [c.field, c.after as Json])), changes: w.changes, options: { createMissingGroups: false } });
  } catch (e) {
    return { confirmed: false, changes: w.changes, error: errorText(e) };
  }
  const failures = result.fields.filter((f) => !f.ok);
  const ok = new Set(result.fields.filter((f) => f.ok && !f.skipped).map((f) => f.field));
  for (const c of w.changes) if (!result.fields.some((f) => f.field === c.field)) ok.add(c.field);
  const applied: FieldValues = { ...link.applied };
  let managedGroups = link.managedGroups;
  let username = link.targetUsername;
  for (const c of w.changes) {
    if (!ok.has(c.field)) continue;
    if (c.field === 'groups') {
      const removed = new Set((c.remove ?? []).map(groupKey));
      managedGroups = managedGroups.filter((g) => !removed.has(groupKey(g)));
      if ('groups' in applied) applied.groups = groupNames(applied.groups).filter((g) => !removed.has(groupKey(g)));
    } else {
      applied[c.field] = c.after as Json;
      if (c.field === 'user.username') username = result.ref.username ?? (c.after as string);
    }
  }
  const newLink: Link = { ...link, targetKey: result.ref.key, targetUsername: username, applied, managedGroups, missingSince: link.missingSince ?? nowIso, fingerprint: null, cleanup: stateAfter(link, d, reason, ok, w.originals, nowIso) };
  const changes = w.changes.map((c) => {
    const f = failures.find((x) => x.field === c.field);
    return f ? { ...c, error: f.error } : c;
  });
  return { link: newLink, confirmed: failures.length === 0, changes, error: failures.length ? failures.map((f) => `${f.field}: ${f.error}`).join('; ') : undefined };
}

/** The cleanup state after a write: only what the target confirmed is recorded as done. */
function stateAfter(link: Link, d: CleanupDecision, reason: CleanupReason, ok: ReadonlySet<string>, originals: FieldValues, nowIso: string): CleanupState {
  const prev = link.cleanup ?? null;
  const state: CleanupState = { ...prev, reason };
  if (d.disable && ok.has('user.active')) state.disabledAt = prev?.disabledAt ?? nowIso;
  if (d.step === 'removeAccess' && ok.has('groups')) state.accessRemovedAt = prev?.accessRemovedAt ?? nowIso;
  if (d.pseudonymise) {
    const kept: FieldValues = { ...prev?.originals };
    for (const [f, v] of Object.entries(originals)) if (ok.has(f)) kept[f] = v;
    state.originals = kept;
    if (ACCOUNT_TEXT.every((f) => f in kept)) state.anonymisedAt = prev?.anonymisedAt ?? nowIso;
  }
  if (d.removeGroups.length && ok.has('groups')) state.removedGroups = [...new Set([...(prev?.removedGroups ?? []), ...d.removeGroups])].sort();
  if (d.deleteDueAt) state.deleteDueAt = d.deleteDueAt;
  return state;
}

function journalEntryOf(t: TargetRuntime, w: PreparedCleanup, sent: Sent | undefined, extra: Record<string, unknown>): JournalEntry {
  const { link, decision: d } = w.plan;
  const operation: JournalEntry['operation'] = (sent?.error ?? w.error) ? 'failed' : d.step === 'delete' ? 'deleted' : d.step === 'anonymise' ? 'anonymised' : 'disabled';
  const error = sent?.error ?? w.error;
  return {
    sourceId: link.sourceId,
    label: link.label,
    targetId: t.config.id,
    operation,
    error: error ? `cleanup (${d.step}) failed: ${error}` : withDetail(d.why, w.plan),
    changes: sent?.changes ?? w.changes,
    // Written: something was sent to the target (a deletion, or changes); a state merely recorded is not a write.
    wrote: !!sent && !w.error && (sent.deleted === true || sent.changes.length > 0),
    details: { matched: 'link', targetKey: link.targetKey, reason: w.plan.tombstone ?? w.plan.reason, cleanup: d.step, ...(d.deleteDueAt && d.step !== 'delete' ? { deleteDueAt: d.deleteDueAt } : {}), ...extra },
  };
}

/** The decision's text with its opening (the coarse reason, see REASON_TEXT) said as exactly as the candidate knows it. */
function withDetail(why: string, c: CleanupCandidate): string {
  const opening = REASON_TEXT[c.reason];
  return c.detail && why.startsWith(opening) ? `${c.detail}${why.slice(opening.length)}` : why;
}
