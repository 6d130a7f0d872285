// A prefix index for emulated user searches ("starts with" on username, email, name words), so
// a search in a directory of 100,000 users costs a binary search instead of a scan. Entries are
// only ever added: callers verify each hit against the live record, which makes entries left
// behind by renames and deletions harmless. New entries wait in a small unsorted list; full, it
// is sorted into a run, and runs of similar size are merged (each run is more than twice the
// next), so an insert costs O(log n) amortized and a search one binary search per run (about a
// dozen at a million users). Re-sorting everything every 1,024 entries made filling the Jira
// emulator quadratic: 150,000 users took 75 s, a million would have taken hours.

const MERGE_AT = 1024;
type Entry = [term: string, id: string];

const byTerm = (a: Entry, b: Entry) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);

/** Merges two sorted runs into one (linear). */
function mergeRuns(a: Entry[], b: Entry[]): Entry[] {
  const out: Entry[] = new Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) out[k++] = a[i]![0] <= b[j]![0] ? a[i++]! : b[j++]!;
  while (i < a.length) out[k++] = a[i++]!;
  while (j < b.length) out[k++] = b[j++]!;
  return out;
}

export class PrefixIndex {
  /** Sorted runs, largest first; each less than half its predecessor. */
  private runs: Entry[][] = [];
  private recent: Entry[] = [];

  add(id: string, terms: Iterable<string>): void {
    for (const t of terms) if (t) this.recent.push([t.toLowerCase(), id]);
    if (this.recent.length >= MERGE_AT) this.flush();
  }

  clear(): void {
    this.runs = [];
    this.recent = [];
  }

  /** Ids with a term starting with `prefix` (lower-case), each once, in no particular order. */
  candidates(prefix: string): Set<string> {
    const q = prefix.toLowerCase();
    const out = new Set<string>();
    for (const run of this.runs) {
      let lo = 0;
      let hi = run.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (run[mid]![0] < q) lo = mid + 1;
        else hi = mid;
      }
      for (let i = lo; i < run.length && run[i]![0].startsWith(q); i++) out.add(run[i]![1]);
    }
    for (const [t, id] of this.recent) if (t.startsWith(q)) out.add(id);
    return out;
  }

  private flush(): void {
    let run = this.recent.sort(byTerm);
    this.recent = [];
    // Like a binary counter: a new run swallows every earlier run not more than twice its size.
    while (this.runs.length && this.runs[this.runs.length - 1]!.length <= run.length * 2) run = mergeRuns(this.runs.pop()!, run);
    this.runs.push(run);
  }
}
