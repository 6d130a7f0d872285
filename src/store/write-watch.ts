// Who wrote which rows, told to whoever holds a copy of them for the run (engine/digest-preload.ts:
// a full read's digests loaded up front). Every write of shadow rows and links through the store
// says the ids it names here, before the statement runs, so a copy never answers a row this
// process has written as it was before: a listener marks the ids and asks the store for them again.
// A write that does not name its rows (a connector's deletion) says `all`.

/** The rows a write may have changed: shadow rows of a connector, or links of a connector's target. */
export type WrittenRows =
  | { table: 'shadow'; connectorId: string; ids: readonly string[] }
  | { table: 'links'; connectorId: string; targetId: string; ids: readonly string[] }
  | { table: 'all'; connectorId: string };

export class WriteWatch {
  private readonly listeners = new Set<(w: WrittenRows) => void>();

  /** Calls `fn` for every write from now on; the function returned stops it. */
  subscribe(fn: (w: WrittenRows) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  wrote(w: WrittenRows): void {
    for (const fn of this.listeners) fn(w);
  }

  /** Links of several targets (an upsert names each link's target). */
  wroteLinks(links: ReadonlyArray<{ connectorId: string; targetId: string; sourceId: string }>): void {
    if (this.listeners.size === 0 || links.length === 0) return;
    const byTarget = new Map<string, { connectorId: string; targetId: string; ids: string[] }>();
    for (const l of links) {
      const k = `${l.connectorId}\u0000${l.targetId}`;
      (byTarget.get(k) ?? byTarget.set(k, { connectorId: l.connectorId, targetId: l.targetId, ids: [] }).get(k)!).ids.push(l.sourceId);
    }
    for (const g of byTarget.values()) this.wrote({ table: 'links', ...g });
  }
}
