// How far V8 lets the old generation grow past what is live before it collects again: the one
// heap setting idsync applies to its own processes (`idsync sync`, `idsync serve` and every other
// command, through src/cli/main.ts; the benchmark's workers call the same function).
//
// Why: a full sync keeps only a page's worth of users alive (docs/architecture.md, "Memory"), but
// each page lives across several awaits, is promoted to the old generation and dies there. With
// V8's defaults on a machine with more than ~16 GB the heap limit is 4 GB, and V8 then lets the
// old generation grow to up to 4 × what survived the last full collection before the next one.
// Peak RSS therefore rose with the run's length, not with what it holds: 578 MB for a
// 1,000,000-user no-change run whose live heap stayed under ~160 MB (docs/benchmarks.md, "Issue 9").
//
// Why this flag: `--max-old-space-size` (which also lowers the growth factor) is read only when the
// heap is created, so a running process cannot set it (checked on Node 20: `heap_size_limit` does
// not move), and a launcher process or a Worker would break signals and SIGKILL semantics.
// `--heap-growing-percent` is read at every full collection when V8 computes the next limit
// (factor 1 + percent / 100 instead of V8's own, up to 4), so setting it at start-up works; the
// heap limit, and with it the out-of-memory point, stays V8's.
//
// The administrator's own settings win: if NODE_OPTIONS or node's command line already name a heap
// flag (`--max-old-space-size`, the one of them NODE_OPTIONS accepts; on node's command line also
// `--heap-growing-percent`, `--max-heap-size`, `--optimize-for-size`), nothing is set: V8 then
// grows the heap by its own rule for that limit. NODE_OPTIONS refuses `--heap-growing-percent`,
// so IDSYNC_HEAP_GROWING_PERCENT sets the percentage instead (0: V8's own growth).
import { setFlagsFromString } from 'node:v8';

/** The growth idsync uses: the old generation may reach 1.5 × its live size before a full GC. */
export const HEAP_GROWING_PERCENT = 50;

const ADMIN_HEAP_FLAGS = ['--heap-growing-percent', '--max-old-space-size', '--max-heap-size', '--optimize-for-size'];

/** The V8 flag idsync would set, or undefined when the administrator's own settings decide (see above). */
export function heapGrowthFlag(env: { NODE_OPTIONS?: string; IDSYNC_HEAP_GROWING_PERCENT?: string }, execArgv: readonly string[]): string | undefined {
  const given = [...(env.NODE_OPTIONS ?? '').split(/\s+/), ...execArgv].map((a) => a.replace(/_/g, '-'));
  if (given.some((a) => ADMIN_HEAP_FLAGS.some((f) => a === f || a.startsWith(`${f}=`)))) return undefined;
  const asked = env.IDSYNC_HEAP_GROWING_PERCENT?.trim();
  if (!asked) return `--heap-growing-percent=${HEAP_GROWING_PERCENT}`;
  if (!/^\d+$/.test(asked)) throw new Error(`IDSYNC_HEAP_GROWING_PERCENT must be a whole number of per cent (0: V8's own heap growth), not "${asked}"`);
  return Number(asked) === 0 ? undefined : `--heap-growing-percent=${Number(asked)}`;
}

/** Applies idsync's heap growth to this process unless the administrator decided otherwise; returns the flag applied. */
export function applyHeapGrowth(env: NodeJS.ProcessEnv = process.env, execArgv: readonly string[] = process.execArgv): string | undefined {
  const flag = heapGrowthFlag(env, execArgv);
  if (flag) setFlagsFromString(flag);
  return flag;
}
