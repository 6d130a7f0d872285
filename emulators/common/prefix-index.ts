// A prefix index for emulated user searches ("starts with" on username, email, name words), so
// a search in a directory of 100,000 users costs a binary search instead of a scan. Entries are
// only ever added: callers verify each hit against the live record, which makes entries left
// behind by renames and deletions harmless. New entries wait in a small unsorted list that is
// merged into the sorted one now and then, keeping inserts cheap.

const MERGE_AT = 1024;

export class PrefixIndex {
  private sorted: Array<[term: string, id: string]> = [];
  private recent: Array<[term: string, id: string]> = [];

  add(id: string, terms: Iterable<string>): void {
    for (const t of terms) if (t) this.recent.push([t.toLowerCase(), id]);
    if (this.recent.length >= MERGE_AT) this.merge();
  }

  clear(): void {
    this.sorted = [];
    this.recent = [];
  }

  /** Ids with a term starting with `prefix` (lower-case), each once, in no particular order. */
  candidates(prefix: string): Set<string> {
    const q = prefix.toLowerCase();
    const out = new Set<string>();
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.sorted[mid]![0] < q) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.sorted.length && this.sorted[i]![0].startsWith(q); i++) out.add(this.sorted[i]![1]);
    for (const [t, id] of this.recent) if (t.startsWith(q)) out.add(id);
    return out;
  }

  private merge(): void {
    this.sorted = this.sorted.concat(this.recent).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    this.recent = [];
  }
}
