// The directory's change log: every mutation of a user or group, in order, with a sequence
// number. A delta token holds a position in this log; a delta round reports the objects whose
// entries lie between the token's position and the position when the round began, as Graph's
// directory change tracking does. Entries name the properties they changed, so a round that
// tracks only some properties ($select) can leave out changes to the others.

export type ChangeEntry =
  | { kind: 'user'; id: string; op: 'created' | 'restored' | 'softDeleted' | 'hardDeleted' }
  | { kind: 'user'; id: string; op: 'changed'; props: string[] }
  /** `previous`: the manager before (for `manager@delta` removals). */
  | { kind: 'user'; id: string; op: 'manager'; previous: string | null }
  | { kind: 'group'; id: string; op: 'memberAdded' | 'memberRemoved'; member: string }
  | { kind: 'group'; id: string; op: 'changed'; props: string[] }
  | { kind: 'group'; id: string; op: 'created' | 'deleted' };

export class ChangeLog {
  private readonly entries: Array<ChangeEntry & { seq: number }> = [];
  /** A random epoch: tokens of another log (a replaced org, a restarted emulator) are not this log's. */
  readonly epoch = Math.random().toString(36).slice(2, 10);

  /** The position after the last entry (what a token taken now holds). */
  get head(): number {
    return this.entries.length;
  }

  add(entry: ChangeEntry): void {
    this.entries.push({ ...entry, seq: this.entries.length + 1 });
  }

  /** Entries after position `from` up to and including position `to`, in order. */
  between(from: number, to: number): ReadonlyArray<ChangeEntry & { seq: number }> {
    return this.entries.slice(from, to);
  }
}
