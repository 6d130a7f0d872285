// Collects run items and counts while a run goes, writing items to the store in batches so a
// 100,000-user run journals its users without a write per user.
//
// What is listed: every user and target a run handled, except, in a run that projects everyone
// (a full read, a replay after a mapping change), a user found unchanged and linked as before.
// Such an item would say nothing but the user's name, and a no-change full sync would write one
// row per user of the directory for it (100,000 inserts, seconds of SQLite file I/O, on every
// full run). Those users are counted (`unchanged`) and, of them, `unchangedUnlisted`, so the
// run's result can say how many are not listed. Changes, errors, skips, holds, quarantines and
// first-contact matches are always listed; so is every user of a run that projects only some.
import type { FieldChange, ItemOperation, RunCounts } from '../core/types.ts';
import type { RunItem, RunRepo } from '../store/runs.ts';
import { emptyCounts } from '../store/runs.ts';
import { groupKey } from '../core/group-key.ts';

export interface JournalEntry {
  sourceId: string | null;
  label: string | null;
  targetId: string | null;
  operation: ItemOperation;
  error?: string | null;
  /** A write request was sent for this user. */
  wrote?: boolean;
  changes?: FieldChange[];
  details?: Record<string, unknown> | null;
}

/** A mapped write of a linked account (not a cleanup's disable, not a create: a failed one may be either, so it needs the before value) in which the target took `user.active` from active to false. */
function isDeactivated(item: JournalEntry): boolean {
  if (item.operation !== 'updated' && item.operation !== 'failed' && item.operation !== 'quarantined') return false;
  return !!item.wrote && !!item.changes?.some((c) => c.field === 'user.active' && c.after === false && c.before !== false && !c.error && (c.before !== undefined || item.operation !== 'failed'));
}

/** Groups a mapped write took the user out of (the target took the groups change): counted per group for the group-removal burst (cleanup-burst.ts). */
function removedGroups(item: JournalEntry): string[] {
  if (item.operation !== 'updated' && item.operation !== 'failed' && item.operation !== 'quarantined') return [];
  if (!item.wrote || item.details?.simulated) return [];
  const c = item.changes?.find((ch) => ch.field === 'groups');
  return c && !c.error ? (c.remove ?? []) : [];
}

/** An unchanged user linked as before: nothing to show but its name. */
function saysNothing(item: JournalEntry): boolean {
  return item.operation === 'unchanged' && !item.error && !item.details && !item.changes?.length && !item.wrote;
}

export class Journal {
  readonly counts: RunCounts = emptyCounts();
  private buffer: RunItem[] = [];
  private seq = 0;
  /**
   * Set once the run projects everyone (engine.ts): from then on an unchanged user linked as
   * before is counted, not listed (see the top of this file).
   */
  listsUnchanged = true;

  constructor(
    private readonly runs: RunRepo,
    private readonly runId: string,
    private readonly batchSize = 1000,
  ) {}

  async add(item: JournalEntry): Promise<void> {
    this.record(item);
    if (this.buffer.length >= this.batchSize) await this.flush();
  }

  /**
   * Counts and buffers an item without writing it yet: items of users whose link changes go to
   * the store with that link, in one transaction (takeFor + IntentRepo.settle).
   */
  record(item: JournalEntry): void {
    const key = item.operation;
    bump(this.counts, key);
    // An account the mapping took inactive (and the target confirmed): a removal for the deletion safety (cleanup-burst.ts).
    const deactivated = !item.details?.simulated && isDeactivated(item);
    if (deactivated) this.counts.deactivated = (this.counts.deactivated ?? 0) + 1;
    if (item.targetId) {
      this.counts.targets ??= {};
      const t = (this.counts.targets[item.targetId] ??= { created: 0, updated: 0, unchanged: 0, failed: 0, skipped: 0, missing: 0, usersWritten: 0, writes: 0 });
      bump(t, key);
      if (deactivated) t.deactivated = (t.deactivated ?? 0) + 1;
      for (const g of removedGroups(item)) {
        // Keyed by a name from the directory: no prototype, so a group called `__proto__` or `constructor` is counted like any other.
        t.groupsRemoved ??= Object.create(null) as Record<string, number>;
        t.groupsRemoved[groupKey(g)] = (t.groupsRemoved[groupKey(g)] ?? 0) + 1;
      }
    }
    if (!this.listsUnchanged && saysNothing(item)) {
      this.counts.unchangedUnlisted = (this.counts.unchangedUnlisted ?? 0) + 1;
      if (item.targetId) {
        const t = this.counts.targets![item.targetId]!;
        t.unchangedUnlisted = (t.unchangedUnlisted ?? 0) + 1;
      }
      return;
    }
    this.buffer.push({
      seq: ++this.seq,
      sourceId: item.sourceId,
      label: item.label,
      targetId: item.targetId,
      operation: item.operation,
      error: item.error ?? null,
      changes: item.changes ?? [],
      details: item.details ?? null,
    });
    if (item.wrote) {
      this.counts.usersWritten++;
      this.counts.writes = this.counts.usersWritten;
      if (item.targetId) {
        const t = this.counts.targets![item.targetId]!;
        t.writes = ++t.usersWritten;
      }
    }
  }

  /** The buffered items of these users in one target, handed over to be written by the caller; the others stay buffered. */
  takeFor(targetId: string, sourceIds: ReadonlySet<string>): RunItem[] {
    const taken: RunItem[] = [];
    const kept: RunItem[] = [];
    for (const item of this.buffer) (item.targetId === targetId && item.sourceId !== null && sourceIds.has(item.sourceId) ? taken : kept).push(item);
    this.buffer = kept;
    return taken;
  }

  /** Writes the buffer once it holds a batch. */
  async flushIfFull(): Promise<void> {
    if (this.buffer.length >= this.batchSize) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.buffer.length === 0) return;
    const batch = this.buffer;
    this.buffer = [];
    await this.runs.addItems(this.runId, batch);
  }
}

/** Counts one item of `key` (a function of its own: record() runs once per user and target). */
function bump(c: Omit<RunCounts, 'read' | 'targets'>, key: ItemOperation): void {
  // Cleanup counts are there only on runs that cleaned up (see RunCounts.disabled).
  if (key === 'disabled' || key === 'deleted' || key === 'anonymised' || key === 'quarantined') c[key] = (c[key] ?? 0) + 1;
  else c[key]++;
}
