// Who a run's complete read returned (issue 9), for the questions asked once the read is over:
// whom it left out (the sweep), how many linked users it left out (the read guard), and which
// (a quarantined read). One bit per shadow row, by the row's stable number (store/shadow.ts
// rowNumbers), in the run's memory: ~125 KB at 1,000,000 users, so memory stays flat in the
// directory's size and a full read that changes nothing writes nothing to say whom it saw (it
// wrote one run_seen row per user before). The answers scan the connector's rows (or a target's
// links) in pages against the bits. Ids returned that have no shadow row — a dry run's new users;
// a run that writes has none, every user it reads has a row by the end of its page — are still
// marked in the store (run_seen, store/shadow.ts SeenRepo), and asked of only when there are some.
//
// The marks belong to the one process running the run (runs of one connector never overlap):
// a process that dies loses them with the run, and nothing needs them afterwards — only the run
// that read everyone sweeps or quarantines, in the same process, after the read guard; what a
// quarantine holds is stored with it (the users and their planned cleanups), not as marks.
import type { LinkRepo } from '../store/links.ts';
import type { ShadowRepo, TombstoneReason } from '../store/shadow.ts';
import { keysetPages } from '../store/keyset.ts';

/** Bits per block of RowBits (8 KB each). */
const BLOCK_BITS = 1 << 16;

/**
 * A set of non-negative integers, one bit each, in blocks allocated when first touched: row
 * numbers are dense on SQLite (the rowid), but may have gaps on PostgreSQL (an identity column
 * skips the numbers of upserts that updated) and span several connectors' rows; untouched
 * ranges cost nothing.
 */
export class RowBits {
  private readonly blocks = new Map<number, Uint32Array>();
  private count = 0;

  add(n: number): void {
    const key = Math.floor(n / BLOCK_BITS);
    let block = this.blocks.get(key);
    if (!block) this.blocks.set(key, (block = new Uint32Array(BLOCK_BITS / 32)));
    const bit = n % BLOCK_BITS;
    const mask = 1 << (bit & 31);
    const word = bit >>> 5;
    if (block[word]! & mask) return;
    block[word] = block[word]! | mask;
    this.count++;
  }

  has(n: number): boolean {
    const block = this.blocks.get(Math.floor(n / BLOCK_BITS));
    if (!block) return false;
    const bit = n % BLOCK_BITS;
    return (block[bit >>> 5]! & (1 << (bit & 31))) !== 0;
  }

  /** How many distinct numbers were added. */
  get size(): number {
    return this.count;
  }
}

/** A user a complete read left out, with the tombstone its shadow row has already (if any). */
export interface NotReturned {
  sourceId: string;
  tombstone: TombstoneReason | null;
}

export class SeenMarks {
  /** Rows returned in scope. */
  private readonly inScope = new RowBits();
  /** Rows returned outside the connector's scope (a row in both counts as in scope). */
  private readonly outside = new RowBits();
  /** Ids this run marked in the store (no shadow row): while none, the store is not asked. */
  private unrowed = 0;

  constructor(
    private readonly shadow: ShadowRepo,
    private readonly links: LinkRepo,
    private readonly connectorId: string,
    readonly runId: string,
  ) {}

  /** Before the first mark: store marks of runs that are over (a process that died) go. */
  async start(): Promise<void> {
    await this.shadow.seen.clearStale(this.runId);
  }

  /** The run is over, whatever its end: its store marks go (the bits go with the process's memory of the run). */
  async end(): Promise<void> {
    if (this.unrowed > 0) await this.shadow.seen.clear(this.runId);
  }

  /**
   * Marks whom a page returned, in scope and outside it. `rowNoOf` gives the row numbers the
   * page's digests brought; ids without one are users new to the shadow: `rowsWritten` (the page
   * wrote their rows) asks the store for their new numbers in one query, and those still without
   * a row are marked in the store.
   */
  async mark(inScope: readonly string[], outside: readonly string[], rowNoOf: (id: string) => number | undefined, rowsWritten: boolean): Promise<void> {
    const unknown = [...inScope, ...outside].filter((id) => rowNoOf(id) === undefined);
    const fresh = rowsWritten && unknown.length > 0 ? await this.shadow.rowNumbersOf(this.connectorId, unknown) : new Map<string, number>();
    const numberOf = (id: string) => rowNoOf(id) ?? fresh.get(id);
    const rowless = async (ids: readonly string[], bits: RowBits, scoped: boolean) => {
      const without: string[] = [];
      for (const id of ids) {
        const n = numberOf(id);
        if (n === undefined) without.push(id);
        else bits.add(n);
      }
      if (without.length === 0) return;
      await this.shadow.seen.mark(this.runId, without, scoped);
      this.unrowed += without.length;
    };
    await rowless(inScope, this.inScope, true);
    await rowless(outside, this.outside, false);
  }

  /** How many distinct users the read returned in scope. */
  async count(): Promise<number> {
    return this.inScope.size + (this.unrowed > 0 ? await this.shadow.seen.count(this.runId) : 0);
  }

  /** The shadow rows the read did not return (in scope or out), `page` rows scanned at a time. */
  async *shadowNotReturned(page: number): AsyncGenerator<NotReturned[]> {
    for await (const rows of keysetPages('', page, (after) => this.shadow.rowNumbers(this.connectorId, after, page), (r) => r.sourceId)) {
      const ids = await this.notMarked(rows, false);
      if (ids.length === 0) continue;
      const digests = await this.shadow.digestsOf(this.connectorId, ids);
      // A row gone meanwhile (its connector deleted) is nobody to sweep.
      yield ids.filter((id) => digests.has(id)).map((id) => ({ sourceId: id, tombstone: digests.get(id)!.tombstone }));
    }
  }

  /** Users linked in a target whom the shadow never held (linked before it existed) and the read did not return. */
  async *linkedWithoutShadowNotReturned(targetId: string, page: number): AsyncGenerator<string[]> {
    yield* keysetPages('', page, (after) => this.links.notSeenWithoutShadow(this.connectorId, targetId, this.runId, after, page), (id) => id);
  }

  /** Users linked in a target (not missing) whom the read did not return in scope, `page` links scanned at a time. */
  async *linkedNotReturned(targetId: string, page: number): AsyncGenerator<string[]> {
    for await (const rows of this.activeRowNumbers(targetId, page)) {
      const ids = await this.notMarked(rows, true);
      if (ids.length > 0) yield ids;
    }
  }

  /** The read guard's counts: users linked in a target (not missing), and how many of them the read did not return in scope. */
  async readDrop(targetId: string): Promise<{ linked: number; notReturned: number }> {
    let linked = 0;
    let notReturned = 0;
    for await (const rows of this.activeRowNumbers(targetId, SCAN_PAGE)) {
      linked += rows.length;
      notReturned += (await this.notMarked(rows, true)).length;
    }
    return { linked, notReturned };
  }

  /** A target's links not missing, with their users' shadow row numbers, `page` at a time. */
  private activeRowNumbers(targetId: string, page: number): AsyncGenerator<Array<{ sourceId: string; rowNo: number | null }>> {
    return keysetPages('', page, (after) => this.links.activeRowNumbers(this.connectorId, targetId, after, page), (r) => r.sourceId);
  }

  /** Which of these ids the read returned outside the connector's scope only. */
  async outsideOnly(ids: readonly string[]): Promise<Set<string>> {
    const numbers = await this.shadow.rowNumbersOf(this.connectorId, ids);
    const out = new Set<string>();
    for (const [id, n] of numbers) if (this.outside.has(n) && !this.inScope.has(n)) out.add(id);
    const rowless = ids.filter((id) => !numbers.has(id));
    if (this.unrowed > 0 && rowless.length > 0) for (const id of await this.shadow.seen.outside(this.runId, rowless)) out.add(id);
    return out;
  }

  /**
   * The ids of these rows the read did not return (`scoped`: in scope). A row not marked by its
   * number is looked for in the store's marks too, when there are any: a user marked before it had
   * a row counts as returned whatever its row says now.
   */
  private async notMarked(rows: ReadonlyArray<{ sourceId: string; rowNo: number | null }>, scoped: boolean): Promise<string[]> {
    const ids: string[] = [];
    for (const r of rows) {
      if (r.rowNo !== null && (this.inScope.has(r.rowNo) || (!scoped && this.outside.has(r.rowNo)))) continue;
      ids.push(r.sourceId);
    }
    if (this.unrowed === 0 || ids.length === 0) return ids;
    const marked = await this.shadow.seen.marked(this.runId, ids, scoped);
    return ids.filter((id) => !marked.has(id));
  }
}

/** Links per page of the read guard's count. */
const SCAN_PAGE = 2000;
