// One benchmark scenario in a fresh process, as `idsync sync` would run it, so its peak RSS is
// its own. Records every HTTP request it sends to an NDJSON file (the orchestrator replays
// them as the transport floor) and prints one JSON line with its measurements.
//
//   node --import tsx bench/worker.ts <job.json>
// job: { info: SuiteInfo, dataDir, scenario: 'full' | 'incremental' | 'users' | 'seed', reconcile?, userRefs?, recordFile, ldap?, ldapRecordFile? }
// `seed` leaves the store and the Jira emulator as an initial sync would (bench/seed-direct.ts).
// With `ldap` (a running slapd, bench/ldap.ts) the connector reads that directory instead of the
// Graph tenant, and every LDAP search it starts is written to ldapRecordFile for the LDAP floor.
import { closeSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { writeHeapSnapshot } from 'node:v8';
import { applyHeapGrowth } from '../src/core/heap-growth.ts';
import type { SuiteInfo } from '../emulators/launch.ts';
import { Store } from '../src/store/index.ts';
import { SyncEngine } from '../src/engine/engine.ts';
import { demoConnector, demoLdapConnector } from '../src/cli/demo.ts';
import { LdapConnection, type SearchSpec } from '../src/sources/ldap/connection.ts';
import type { Slapd } from '../emulators/ldap/slapd.ts';
import type { RecordedSearch } from './ldap.ts';
import { seedDirect } from './seed-direct.ts';
import { installWaitProbe } from './wait-probe.ts';

interface Job {
  info: SuiteInfo;
  dataDir: string;
  scenario: 'full' | 'incremental' | 'users' | 'seed';
  reconcile?: boolean;
  userRefs?: string[];
  recordFile: string;
  /** The slapd to read (what demoLdapConnector uses of it). */
  ldap?: Pick<Slapd, 'ldapsUrl' | 'ca' | 'reader' | 'layout'>;
  ldapRecordFile?: string;
}

// The heap setting `idsync sync` / `idsync serve` apply (bin/idsync.mjs), from the same function, so
// the worker's peak RSS is the product's; V8 flags given to the worker (IDSYNC_BENCH_NODE_FLAGS,
// IDSYNC_BENCH_NOCHANGE_FLAGS) win over it as an administrator's NODE_OPTIONS would.
const heapGrowth = applyHeapGrowth();
const job = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as Job;
// Recording must not distort what it measures: requests are kept as compact lines written in
// large chunks, and each origin's headers (the same on every request) are written once at the
// end. The files hold emulator tokens: private to this user, deleted by the orchestrator.
const fd = openSync(job.recordFile, 'w', 0o600);
const headersByOrigin: Record<string, Record<string, string>> = {};
let pending: string[] = [];
const flush = () => {
  if (pending.length) writeSync(fd, pending.join('\n') + '\n');
  pending = [];
};
let current = 0;
const store = await Store.open({ dataDir: job.dataDir });
const connector = job.ldap ? demoLdapConnector({ ...job.info, confluence: undefined }, job.ldap as Slapd) : demoConnector({ ...job.info, confluence: undefined });
// Each search the LDAP source starts (once, not per page), as the floor replays it with bare ldapts.
const ldapSearches: RecordedSearch[] = [];
if (job.ldapRecordFile) {
  const search = LdapConnection.prototype.search;
  LdapConnection.prototype.search = function (this: LdapConnection, spec: SearchSpec, ...rest: [string, AbortSignal?]) {
    ldapSearches.push({ base: spec.base, scope: spec.scope, filter: spec.filter, attributes: spec.attributes, pageSize: spec.pageSize, sizeLimit: spec.sizeLimit, controls: spec.controls?.length ?? 0 });
    return search.call(this, spec, ...rest);
  };
}
const engine = new SyncEngine(store, {
  ca: job.info.graph.ca,
  recorder: (r) => {
    const origin = r.url.slice(0, r.url.indexOf('/', 8));
    const kind = `${origin} ${r.body === undefined ? 'nobody' : 'body'}`;
    headersByOrigin[kind] ??= r.headers;
    pending.push(JSON.stringify([current, r.method, r.url, r.body ?? null]));
    if (pending.length >= 5000) flush();
  },
});

const result: Record<string, unknown> = {};
// Where memory goes: the largest heap, external and array-buffer figures seen (sampled every
// 100 ms), and with IDSYNC_BENCH_HEAP=DIR the heap after a GC, plus a heap snapshot, when the
// run reaches the sweep.
const peaks = { heapUsedMb: 0, heapTotalMb: 0, externalMb: 0, arrayBuffersMb: 0 };
const sample = () => {
  const m = process.memoryUsage();
  peaks.heapUsedMb = Math.max(peaks.heapUsedMb, m.heapUsed / 2 ** 20);
  peaks.heapTotalMb = Math.max(peaks.heapTotalMb, m.heapTotal / 2 ** 20);
  peaks.externalMb = Math.max(peaks.externalMb, m.external / 2 ** 20);
  peaks.arrayBuffersMb = Math.max(peaks.arrayBuffersMb, m.arrayBuffers / 2 ** 20);
};
const sampler = setInterval(sample, 100);
sampler.unref();
const heapDir = process.env.IDSYNC_BENCH_HEAP;
let snapped = false;
let phase = 'start';
const t0 = performance.now();
// With IDSYNC_BENCH_HEAP the live heap (after a full GC) is sampled every second: its largest
// value, when and in which phase, says what the run holds at once (the GCs cost some wall time;
// IDSYNC_BENCH_HEAP_MS sets the interval).
if (heapDir) {
  const live = setInterval(() => {
    (globalThis as { gc?: () => void }).gc?.();
    const mb = process.memoryUsage().heapUsed / 2 ** 20;
    if (mb > Number(result.liveHeapMaxMb ?? 0)) Object.assign(result, { liveHeapMaxMb: mb, liveHeapMaxAtS: (performance.now() - t0) / 1000, liveHeapMaxPhase: phase });
    // IDSYNC_BENCH_HEAP_SNAPSHOT_MB: one heap snapshot the first time the live heap passes this size.
    const over = Number(process.env.IDSYNC_BENCH_HEAP_SNAPSHOT_MB);
    if (over && !result.heapSnapshot && mb >= over) result.heapSnapshot = writeHeapSnapshot(`${heapDir}/live-${Math.round(mb)}mb-${process.pid}.heapsnapshot`);
  }, Number(process.env.IDSYNC_BENCH_HEAP_MS ?? 1000));
  live.unref();
}
const onProgress = (p: { phase: string }) => {
  phase = p.phase;
  if (!heapDir || snapped || p.phase !== 'checking-missing') return;
  snapped = true;
  (globalThis as { gc?: () => void }).gc?.();
  result.heapAtSweepMb = process.memoryUsage().heapUsed / 2 ** 20;
  result.rssAtSweepMb = process.memoryUsage().rss / 2 ** 20;
};
if (job.scenario === 'seed') {
  const cpuBefore = process.cpuUsage();
  const seeded = await seedDirect(store, connector, { ca: job.info.graph.ca }, job.info.jira.url, (s) => process.stderr.write(s + '\n'));
  const cpu = process.cpuUsage(cpuBefore);
  Object.assign(result, { status: 'succeeded', wallMs: seeded.ms, cpuMs: (cpu.user + cpu.system) / 1000, seeded });
} else if (job.scenario === 'full' || job.scenario === 'incremental') {
  // IDSYNC_BENCH_WAIT=1: where the wall time goes beyond the CPU (bench/wait-probe.ts).
  const waits = process.env.IDSYNC_BENCH_WAIT ? installWaitProbe() : undefined;
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const { run } = await engine.run({ connector, kind: job.scenario, trigger: 'bench', reconcile: job.reconcile, onProgress });
  result.wallMs = performance.now() - started;
  // idsync's own CPU time (user + system, microseconds): steadier than wall time on a busy machine.
  const cpu = process.cpuUsage(cpuBefore);
  result.cpuMs = (cpu.user + cpu.system) / 1000;
  // Of which in the kernel (system calls: the store's file I/O, sockets).
  result.cpuSystemMs = cpu.system / 1000;
  if (waits) result.waits = waits();
  result.status = run.status;
  result.error = run.error;
  result.counts = run.counts;
  result.notice = run.notice;
} else {
  const times: number[] = [];
  for (const [i, ref] of (job.userRefs ?? []).entries()) {
    current = i;
    const started = performance.now();
    const { run } = await engine.run({ connector, kind: 'user', userRef: ref, trigger: 'bench' });
    times.push(performance.now() - started);
    if (run.status === 'failed') {
      result.status = 'failed';
      result.error = run.error;
    }
  }
  result.times = times;
  result.status ??= 'succeeded';
}
// maxRSS is the process's peak resident set size, in kilobytes.
result.peakRssMb = process.resourceUsage().maxRSS / 1024;
sample();
result.memory = peaks;
// Which heap growth the worker ran with: idsync's flag, or none when given V8 flags decided.
result.heapGrowth = heapGrowth ?? 'V8 flags given to the worker';
await store.close();
flush();
closeSync(fd);
if (job.ldapRecordFile) writeFileSync(job.ldapRecordFile, JSON.stringify(ldapSearches), { mode: 0o600 });
writeFileSync(`${job.recordFile}.headers.json`, JSON.stringify(headersByOrigin), { mode: 0o600 });
process.stdout.write(JSON.stringify(result) + '\n');
process.exit(0);
