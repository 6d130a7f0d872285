// Approving held deactivations (deactivation-guard.ts): each user is re-checked first (the
// engine reads it again from the source: for inbound SCIM that is the store of what was
// pushed), the target's mapping decides again, and only a user it still maps inactive is
// deactivated. The write goes the way every write goes: the intent is recorded before it is
// sent, and the link (its snapshot now saying inactive), the journal item and the settled intent
// are stored in one transaction from what the target confirmed.
import type { FieldChange, SourceUser } from '../core/types.ts';
import { errorText } from '../core/errors.ts';
import type { Link } from '../store/links.ts';
import type { Journal } from './journal.ts';
import type { Store } from '../store/index.ts';
import type { TargetRuntime } from './runtime.ts';
import { refOf } from './cleanup-run.ts';
import { mapLimit } from './concurrency.ts';

export type DeactivationVerdict = { deactivate: true } | { deactivate: false; note: string; stillHeld: boolean };

/** Whether the target's mapping still takes the user's linked account inactive. */
export async function deactivationVerdict(t: TargetRuntime, user: SourceUser, link: Link): Promise<DeactivationVerdict> {
  if (link.applied['user.active'] === false) return { deactivate: false, note: 'already inactive in the target as idsync last wrote it: nothing to do', stillHeld: false };
  let mapped;
  try {
    mapped = await t.mapping.evaluate(user, { targetUsernameOf: () => null });
  } catch (e) {
    return { deactivate: false, note: `the mapping could not be evaluated again (${errorText(e)}); still held`, stillHeld: true };
  }
  const failed = mapped.errors.find((e) => e.field === 'user.active');
  if (failed) return { deactivate: false, note: `the mapping of user.active failed (${failed.message}); still held`, stillHeld: true };
  const value = mapped.values['user.active'];
  if (value === false) return { deactivate: true };
  return { deactivate: false, note: `active again in the identity provider (the mapping now gives user.active ${JSON.stringify(value ?? null)}): not deactivated`, stillHeld: false };
}

export interface DeactivationContext {
  store: Store;
  runId: string;
  journal: Journal;
  connectorId: string;
  quarantineId: string;
}

/** Writes user.active false for each link; the result per source id (ok, or the error). */
export async function approveDeactivations(cx: DeactivationContext, t: TargetRuntime, links: Link[]): Promise<Array<{ sourceId: string; ok: boolean; error?: string }>> {
  if (links.length === 0) return [];
  await cx.store.intents.record(
    links.map((l) => ({
      connectorId: cx.connectorId,
      targetId: t.config.id,
      sourceId: l.sourceId,
      runId: cx.runId,
      op: 'update' as const,
      targetKey: l.targetKey,
      username: l.targetUsername,
      email: typeof l.applied['user.email'] === 'string' ? (l.applied['user.email'] as string) : null,
      label: l.label,
      groupsAdd: [],
    })),
  );
  const results: Array<{ sourceId: string; ok: boolean; error?: string }> = [];
  await mapLimit(links, t.config.concurrency, async (link) => {
    const change: FieldChange = { field: 'user.active', before: link.applied['user.active'] ?? true, after: false };
    let error: string | undefined;
    let confirmed = false;
    let newLink: Link | undefined;
    try {
      const result = await t.connector.write({ op: 'update', ref: refOf(link), desired: { 'user.active': false }, changes: [change], options: { createMissingGroups: false } });
      const f = result.fields.find((x) => x.field === 'user.active');
      if (f && !f.ok) error = `user.active: ${f.error}`;
      else {
        confirmed = true;
        // The snapshot says inactive only now, the target having confirmed it; the next sync plans the user in full.
        newLink = { ...link, targetKey: result.ref.key, applied: { ...link.applied, 'user.active': false }, fingerprint: null };
      }
      if (f && !f.ok) confirmed = true; // refused: nothing changed, the intent can go
    } catch (e) {
      // Cut short: the account may or may not be inactive; the intent stays (re-read next run).
      error = errorText(e);
    }
    cx.journal.record({
      sourceId: link.sourceId,
      label: link.label,
      targetId: t.config.id,
      operation: error ? 'failed' : 'updated',
      error: error ? `deactivation failed: ${error}` : `deactivated in the identity provider: approved in quarantine ${cx.quarantineId}`,
      changes: [error ? { ...change, error } : change],
      wrote: true,
      details: { matched: 'link', targetKey: link.targetKey, reason: 'deactivated', quarantineId: cx.quarantineId },
    });
    const key = { targetId: t.config.id, sourceId: link.sourceId };
    await cx.store.intents.settle({ connectorId: cx.connectorId, links: newLink ? [newLink] : [], cleared: confirmed ? [key] : [], runId: cx.runId, items: cx.journal.takeFor(t.config.id, new Set([link.sourceId])) });
    results.push({ sourceId: link.sourceId, ok: !error, error });
  });
  await cx.journal.flushIfFull();
  return results;
}
