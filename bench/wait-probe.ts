// Where a scenario's wall time goes beyond idsync's CPU (IDSYNC_BENCH_WAIT=1, issue 9): the event
// loop's idle and active time (performance.eventLoopUtilization), the main thread's time on a CPU
// and waiting for one (its schedstat: another process had the core), context switches, the time
// requests of each kind were in flight (summed, and as the union of intervals: the wall time with
// at least one such request open), and when the source's first page reached the engine.
// Installed by bench/worker.ts before the run; it wraps HttpClient.send and the Entra source's
// listUsers, so it costs a few microseconds a request and is off by default.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { HttpClient } from '../src/core/http.ts';
import { EntraSource } from '../src/sources/entra/connector.ts';

interface KindStats {
  count: number;
  sumMs: number;
  /** Wall time with at least one request of this kind in flight. */
  busyMs: number;
  open: number;
  openedAt: number;
}

/** The kind of a request, by its URL: Graph user pages, $batch, counts, groups, other Graph; Jira reads and writes. */
function kindOf(method: string, url: string): string {
  const path = url.replace(/^https?:\/\/[^/]+/, '');
  if (/\/_?jira|\/rest\/api\//.test(path)) return method === 'GET' ? 'jira read' : 'jira write';
  if (path.includes('/$batch')) return 'graph $batch';
  if (/\/users\/\$count/.test(path)) return 'graph count';
  if (/\/groups/.test(path)) return 'graph groups'; // the listing and every member page
  if (/\/users(\?|$)/.test(path)) return 'graph user page';
  if (/\/oauth2|\/token/.test(path)) return 'token';
  return `other ${method}`;
}

/**
 * The main thread's scheduler figures (Linux /proc/<pid>/task/<pid>/schedstat, nanoseconds): time
 * on a CPU and time runnable but waiting for one (another process had the core). Undefined
 * without /proc.
 */
function mainThreadSched(): { onCpuMs: number; runqueueMs: number } | undefined {
  try {
    const [onCpu, waiting] = readFileSync(`/proc/${process.pid}/task/${process.pid}/schedstat`, 'utf8').split(' ').map(Number);
    return { onCpuMs: onCpu! / 1e6, runqueueMs: waiting! / 1e6 };
  } catch {
    return undefined;
  }
}

export function installWaitProbe(): () => Record<string, unknown> {
  const kinds = new Map<string, KindStats>();
  const any = { open: 0, openedAt: 0, busyMs: 0 };
  const send = HttpClient.prototype.send;
  HttpClient.prototype.send = async function (this: HttpClient, req) {
    const kind = kindOf(req.method, this.resolve(req.url, req.query));
    let k = kinds.get(kind);
    if (!k) kinds.set(kind, (k = { count: 0, sumMs: 0, busyMs: 0, open: 0, openedAt: 0 }));
    const t = performance.now();
    if (k.open++ === 0) k.openedAt = t;
    if (any.open++ === 0) any.openedAt = t;
    try {
      return await send.call(this, req);
    } finally {
      const e = performance.now();
      k.count++;
      k.sumMs += e - t;
      if (--k.open === 0) k.busyMs += e - k.openedAt;
      if (--any.open === 0) any.busyMs += e - any.openedAt;
    }
  } as typeof send;
  // The source's pages as the engine's read-ahead (engine/concurrency.ts prefetch) receives them:
  // when the first one came (the membership plan and the first page are awaited before it), the
  // time prefetch waited for pages in all (it asks for the next page at once, so this is about
  // the listing's whole duration), and the longest wait for one page.
  const source = { pages: 0, firstPageMs: 0, waitMs: 0, longestWaitMs: 0 };
  const listUsers = EntraSource.prototype.listUsers;
  EntraSource.prototype.listUsers = async function* (this: EntraSource, query) {
    const called = performance.now();
    const it = listUsers.call(this, query)[Symbol.asyncIterator]();
    try {
      for (;;) {
        const asked = performance.now();
        const r = await it.next();
        const got = performance.now();
        source.waitMs += got - asked;
        source.longestWaitMs = Math.max(source.longestWaitMs, got - asked);
        if (r.done) return;
        if (source.pages++ === 0) source.firstPageMs = got - called;
        yield r.value;
      }
    } finally {
      await it.return?.();
    }
  };
  const ru0 = process.resourceUsage();
  const sched0 = mainThreadSched();
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  return () => {
    const elu = performance.eventLoopUtilization(elu0);
    const round = (n: number) => Math.round(n);
    const sched1 = mainThreadSched();
    // The event loop's active time is the main thread on a CPU, waiting for one, or blocked in a
    // system call (a file sync, a read of the store); the last is what remains of the other two.
    const mainThread = sched0 && sched1 ? { onCpuMs: round(sched1.onCpuMs - sched0.onCpuMs), runqueueMs: round(sched1.runqueueMs - sched0.runqueueMs) } : undefined;
    return {
      wallMs: round(performance.now() - t0),
      eventLoop: { utilization: Number(elu.utilization.toFixed(3)), idleMs: round(elu.idle), activeMs: round(elu.active) },
      mainThread: mainThread && { ...mainThread, activeNeitherMs: round(elu.active - mainThread.onCpuMs - mainThread.runqueueMs) },
      contextSwitches: { voluntary: process.resourceUsage().voluntaryContextSwitches - ru0.voluntaryContextSwitches, involuntary: process.resourceUsage().involuntaryContextSwitches - ru0.involuntaryContextSwitches },
      anyRequestInFlightMs: round(any.busyMs),
      requests: Object.fromEntries([...kinds].map(([kind, s]) => [kind, { count: s.count, sumMs: round(s.sumMs), busyMs: round(s.busyMs), meanMs: Number((s.sumMs / Math.max(1, s.count)).toFixed(2)) }])),
      source: { pages: source.pages, firstPageMs: round(source.firstPageMs), waitMs: round(source.waitMs), longestWaitMs: round(source.longestWaitMs) },
    };
  };
}
