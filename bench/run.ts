// `npm run bench -- --users N [--json] [--only initial,nochange,changed,reconcile,incremental,user,ldap,scim]`
//
// ldap: a real slapd with N users into a fresh Jira DC emulator (bench/ldap.ts); scim: N users
// pushed by --scim-clients concurrent SCIM clients (bench/scim-push.ts). Each runs without the
// Graph tenant when only they are asked for.
//
// Measures idsync against the emulators (Entra ID tenant + Jira DC). The emulators run in one
// process, each scenario in a fresh worker process (bench/worker.ts) as `idsync sync` would,
// and this orchestrator replays each scenario's recorded requests with a bare HTTP client:
// the transport floor (bench/floor.ts). Reported per scenario: wall time, floor, their ratio,
// the worker's peak RSS, request and write counts.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, createReadStream } from 'node:fs';
import { tmpdir, cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { SuiteInfo } from '../emulators/launch.ts';
import { Store } from '../src/store/index.ts';
import { demoConnector, demoSecrets } from '../src/cli/demo.ts';
import type { RecordedRequest } from '../src/core/http.ts';
import { replayFloor } from './floor.ts';
import { Agent, request } from 'undici';
import { measureLatency } from './latency.ts';
import { ldapBench } from './ldap.ts';

interface ScenarioResult {
  scenario: string;
  wallMs: number;
  floorMs: number;
  /** Against today's floor definition (bench/floor.ts): the figure the goals are set against. */
  ratio: number;
  /** Beside it: a floor that also parses every JSON answer it receives. */
  floorParsedMs?: number;
  ratioParsed?: number;
  /** idsync's own CPU time (user + system) in the scenario, when measured. */
  cpuMs?: number;
  /** Of cpuMs, the time in the kernel (system calls). */
  cpuSystemMs?: number;
  peakRssMb: number;
  /** V8 flags the worker ran with (IDSYNC_BENCH_NOCHANGE_FLAGS). */
  nodeFlags?: string;
  /** The worker's peak heap, external and array buffers (MB), and the heap at the sweep with IDSYNC_BENCH_HEAP. */
  memory?: Record<string, number>;
  requests: number;
  writes: number;
  counts?: Record<string, number>;
  /** IDSYNC_BENCH_WAIT: where the wall time went beyond the CPU (bench/wait-probe.ts), and the emulators' CPU. */
  waits?: Record<string, unknown>;
  p50Ms?: number;
  p95Ms?: number;
  floorP50Ms?: number;
  /** incremental: Graph calls (token requests excluded), delta pages among them, users changed and written. */
  graphRequests?: number;
  /** Graph calls as Graph throttles them: each request inside a $batch counted. */
  graphCalls?: number;
  deltaPages?: number;
  changes?: number;
  usersWritten?: number;
  strayWrites?: number;
  /** latency: the fastest and slowest change, and changes never seen in Jira. */
  minMs?: number;
  /** latency: every change's latency, sorted (the distribution), and its deciles p10…p90. */
  latenciesMs?: number[];
  decilesMs?: number[];
  maxMs?: number;
  lost?: number;
  /** ldap: the LDAP floor plus the replay of the Jira requests, and the ratio to it. */
  floorWithTargetMs?: number | null;
  ratioWithTarget?: number | null;
  ldapSearches?: number;
  ldapEntries?: number;
  seedMs?: number;
  /** scim: bench/scim-push.ts's figures. */
  scim?: Record<string, unknown>;
}

const args = process.argv.slice(2);
const arg = (name: string, dflt: string) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1]! : dflt;
};
if (args.includes('--help')) {
  console.log('usage: npm run bench -- [--users N (10000)] [--only initial,nochange,changed,reconcile,incremental,latency,user,ldap,scim] [--seed-direct] [--user-samples 50] [--changes 100] [--latency-changes 20] [--latency-seconds 180] [--repeat 3] [--scim-clients 8] [--no-target-floor] [--json]');
  console.log('--seed-direct: instead of the initial sync, put the store (shadow, links, fingerprints) and the Jira emulator in the state it leaves (bench/seed-direct.ts), for no-change and incremental runs at 1,000,000 users.');
  console.log('ldap: a real slapd (Debian slapd) seeded with N users, full read + initial sync into Jira and a no-change sync, against a bare ldapts paged search of the same entries.');
  console.log('scim: N users created by --scim-clients concurrent SCIM clients, pushed into Jira: answers/s, latency, time until all are in Jira, runs, lost.');
  console.log('IDSYNC_BENCH_PROFILE=DIR writes a CPU profile of each scenario into DIR.');
  process.exit(0);
}
const users = Number(arg('--users', '10000'));
/** The store and Jira as an initial sync leaves them, seeded directly instead of synced (bench/seed-direct.ts). */
const seedDirectly = args.includes('--seed-direct');
const json = args.includes('--json');
const only = new Set(arg('--only', 'initial,nochange,changed,reconcile,incremental,latency,user,ldap,scim').split(','));
/** Scenarios that need no Graph tenant: with only these, the Entra emulator is not started. */
const STANDALONE = new Set(['ldap', 'scim']);
const scimClients = Number(arg('--scim-clients', '8'));
const userSamples = Number(arg('--user-samples', '50'));
const incrementalChanges = Number(arg('--changes', '100'));
/** Latency: this many changes at random moments over this many seconds (default: about 5 minutes in all). */
const latencyChanges = Number(arg('--latency-changes', '20'));
const latencySeconds = Number(arg('--latency-seconds', '180'));
/** The no-change sync is short and sensitive to noise: it runs this many times, the median counts. */
const repeat = Math.max(1, Number(arg('--repeat', '3')));
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const log = (s: string) => {
  if (!json) process.stderr.write(s + '\n');
};

interface EmulatorProcess {
  info: SuiteInfo;
  /** Sends a command to the emulator process (see emulators/launch.ts) and returns its answer. */
  command(c: Record<string, unknown>): Promise<unknown>;
  stop(): void;
  /** The emulator process's CPU time so far (user + system, ms; Linux /proc): is the emulator the bottleneck? */
  cpuMs(): number;
}

/** CPU time (user + system, ms) of a process, from /proc/<pid>/stat; NaN where there is no /proc. */
function processCpuMs(pid: number | undefined): number {
  try {
    // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th, in clock ticks (100 Hz on Linux).
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return NaN;
  }
}

async function startEmulatorProcess(): Promise<EmulatorProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--max-old-space-size=8192', here('../emulators/launch.ts'), '--users', String(users)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const rl = createInterface({ input: child.stdout! });
  const answers: Array<(line: string) => void> = [];
  rl.on('line', (line) => answers.shift()?.(line));
  child.once('exit', (code) => {
    if (answers.length) console.error(`emulator process exited with ${code}`);
  });
  const next = () => new Promise<string>((resolve) => answers.push(resolve));
  const info = JSON.parse(await next()) as SuiteInfo;
  return {
    info,
    async command(c) {
      const answer = next();
      child.stdin!.write(JSON.stringify(c) + '\n');
      return JSON.parse(await answer);
    },
    stop: () => child.kill('SIGTERM'),
    cpuMs: () => processCpuMs(child.pid),
  };
}

/** Runs one scenario in a fresh worker process and returns its JSON line. */
async function runWorker(job: Record<string, unknown>, dir: string, nodeFlags?: string): Promise<Record<string, any>> {
  const jobFile = join(dir, 'job.json');
  writeFileSync(jobFile, JSON.stringify(job), { mode: 0o600 });
  // IDSYNC_BENCH_PROFILE=DIR writes a CPU profile of every scenario's worker into DIR.
  const profile = process.env.IDSYNC_BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.IDSYNC_BENCH_PROFILE}`] : [];
  // IDSYNC_BENCH_HEAP=DIR: the heap after a GC when the run reaches the sweep (bench/worker.ts).
  const heap = process.env.IDSYNC_BENCH_HEAP ? ['--expose-gc'] : [];
  // IDSYNC_BENCH_NODE_FLAGS: V8 flags for the scenario workers (e.g. heap sizes), to compare.
  const flags = (nodeFlags ?? process.env.IDSYNC_BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...profile, ...heap, ...flags, '--import', 'tsx', here('./worker.ts'), jobFile], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`benchmark worker exited with ${code}`);
  return JSON.parse(out.trim().split('\n').pop()!);
}

/** A worker's memory figures beside its peak RSS: peak heap, external, and the heap at the sweep when measured. */
function memoryText(w: Record<string, any>): string {
  const m = w.memory as Record<string, number> | undefined;
  if (!m) return '';
  const at = w.heapAtSweepMb !== undefined ? `; at the sweep after GC: heap ${Number(w.heapAtSweepMb).toFixed(0)} MB, RSS ${Number(w.rssAtSweepMb).toFixed(0)} MB; live heap max ${Number(w.liveHeapMaxMb).toFixed(0)} MB at ${Number(w.liveHeapMaxAtS).toFixed(1)} s (${w.liveHeapMaxPhase})` : '';
  return `peak heap ${m.heapUsedMb!.toFixed(0)} MB of ${m.heapTotalMb!.toFixed(0)}, external ${m.externalMb!.toFixed(0)} MB${at}`;
}

/** Reads a worker's recorded requests (see worker.ts for the format). */
async function readRecords(file: string): Promise<Array<RecordedRequest & { u: number }>> {
  const headers = JSON.parse(readFileSync(`${file}.headers.json`, 'utf8')) as Record<string, Record<string, string>>;
  const records: Array<RecordedRequest & { u: number }> = [];
  for await (const line of createInterface({ input: createReadStream(file) })) {
    if (!line) continue;
    const [u, method, url, body] = JSON.parse(line) as [number, string, string, string | null];
    const origin = url.slice(0, url.indexOf('/', 8));
    records.push({ u, method, url, body: body ?? undefined, headers: headers[`${origin} ${body === null ? 'nobody' : 'body'}`] ?? {}, status: 0 });
  }
  return records;
}

/** The demo mapping's Jira username: the UPN's local part, lower-cased (no guests are sampled). */
const jiraUsername = (upn: string) => upn.slice(0, upn.indexOf('@')).toLowerCase();

/** A small seeded random source (mulberry32), so runs change users at the same moments. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

async function main(): Promise<void> {
  const machine = { cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', memGiB: Math.round(totalmem() / 2 ** 30), node: process.version };
  log(`idsync benchmark: ${users} users · ${machine.cpus} × ${machine.cpu} · ${machine.memGiB} GiB · Node ${machine.node}`);
  if ([...only].every((s) => STANDALONE.has(s))) {
    const dir = mkdtempSync(join(tmpdir(), 'idsync-bench-'));
    const results = await standaloneScenarios(dir);
    rmSync(dir, { recursive: true, force: true });
    finish(machine, results);
    return;
  }
  const t0 = performance.now();
  const emu = await startEmulatorProcess();
  log(`emulators up in ${((performance.now() - t0) / 1000).toFixed(1)} s (Graph ${emu.info.graph.url}, Jira ${emu.info.jira.url})`);
  // The Graph emulator's control API (emulators/graph/README.md), over its own TLS certificate.
  const controlAgent = new Agent({ connect: { ca: emu.info.graph.ca } });
  const graphControl = async (path: string, method: string, body?: unknown) => {
    const res = await request(`${emu.info.graph.url}/_emulator${path}`, { method: method as 'PATCH', dispatcher: controlAgent, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.body.text();
    if (res.statusCode >= 300) throw new Error(`control ${method} ${path}: ${res.statusCode} ${text}`);
    return text ? JSON.parse(text) : undefined;
  };
  const jiraUserKey = async (username: string) => {
    const res = await request(`${emu.info.jira.url}/rest/api/2/user?username=${encodeURIComponent(username)}`, { headers: { authorization: `Bearer ${emu.info.jira.pat}` } });
    const body = (await res.body.json()) as { key?: string };
    if (res.statusCode !== 200 || !body.key) throw new Error(`Jira user ${username}: ${res.statusCode}`);
    return body.key;
  };
  const dir = mkdtempSync(join(tmpdir(), 'idsync-bench-'));
  const dataDir = join(dir, 'data');
  const info = { ...emu.info, confluence: undefined };
  const connector = demoConnector(info);
  const store = await Store.open({ dataDir });
  await store.connectors.save(connector, { secrets: demoSecrets(info) });
  await store.close();
  const concurrency = connector.targets[0]!.concurrency;
  const recordFile = join(dir, 'requests.ndjson');
  // Paged reads of the identity provider form a chain (each page names the next).
  const isChained = (r: RecordedRequest) => r.method === 'GET' && r.url.startsWith(info.graph.url) && /\/v1\.0\/users(\/(microsoft\.graph\.)?delta)?(\?|$)/.test(r.url);
  const isGraph = (r: RecordedRequest) => r.url.startsWith(info.graph.url) && r.url.includes('/v1.0/');
  const isWrite = (r: RecordedRequest) => r.method !== 'GET' && !r.url.startsWith(info.graph.url);
  const results: ScenarioResult[] = [];

  /** A worker's run and the requests it recorded, as a scenario's result against both floors. */
  const measure = async (scenario: string, w: Record<string, any>, reqs: RecordedRequest[]): Promise<ScenarioResult> => {
    const floorMs = await replayFloor(reqs, { concurrency, ca: info.graph.ca, isChained });
    const floorParsedMs = await replayFloor(reqs, { concurrency, ca: info.graph.ca, isChained, parse: true });
    return {
      scenario,
      wallMs: w.wallMs,
      floorMs,
      ratio: w.wallMs / floorMs,
      floorParsedMs,
      ratioParsed: w.wallMs / floorParsedMs,
      cpuMs: w.cpuMs,
      cpuSystemMs: w.cpuSystemMs,
      peakRssMb: w.peakRssMb,
      memory: { ...w.memory, ...(w.heapAtSweepMb !== undefined ? { heapAtSweepMb: w.heapAtSweepMb, rssAtSweepMb: w.rssAtSweepMb, liveHeapMaxMb: w.liveHeapMaxMb, liveHeapMaxAtS: w.liveHeapMaxAtS } : {}) },
      requests: reqs.length,
      writes: reqs.filter(isWrite).length,
      counts: w.counts,
    };
  };

  const fullSync = async (scenario: string, reconcile = false, record = true, nodeFlags?: string) => {
    const emuCpu0 = emu.cpuMs();
    const w = await runWorker({ info, dataDir, scenario: 'full', reconcile, recordFile }, dir, nodeFlags);
    if (w.status === 'failed') throw new Error(`${scenario}: run failed: ${w.error}`);
    // The emulators' CPU during the worker (its start-up and store opening included: the emulators idle then).
    const emuCpuRun = emu.cpuMs() - emuCpu0;
    const reqs = await readRecords(recordFile);
    const emuCpu1 = emu.cpuMs();
    const r = await measure(scenario, w, reqs);
    if (w.waits) {
      // IDSYNC_BENCH_WAIT (bench/wait-probe.ts): the emulators' CPU in the run and in the two floor replays.
      r.waits = { ...w.waits, emulatorCpuMs: { run: emuCpuRun, floors: emu.cpuMs() - emuCpu1 } };
      log(`${scenario.padEnd(10)} waits ${JSON.stringify(r.waits)}`);
    }
    if (record) results.push(r);
    log(`${scenario.padEnd(10)} ${(r.wallMs / 1000).toFixed(2)} s (floor ${(r.floorMs / 1000).toFixed(2)} s, ×${r.ratio.toFixed(2)}; parsing floor ${(r.floorParsedMs! / 1000).toFixed(2)} s, ×${r.ratioParsed!.toFixed(2)}), idsync CPU ${(w.cpuMs / 1000).toFixed(2)} s (system ${(w.cpuSystemMs / 1000).toFixed(2)} s), peak RSS ${r.peakRssMb.toFixed(0)} MB (${memoryText(w)}), ${r.requests} requests, ${r.writes} writes · ${JSON.stringify(w.counts)}`);
    return r;
  };

  /**
   * Incremental: a first incremental run seeds the checkpoint (Graph delta's initial round), then
   * `changes` users get a new job title through the Graph emulator's control API and one
   * incremental run must read only the changes (goal: Graph requests ≤ changes + pages) and
   * write exactly those users' jobTitle property, nothing else.
   */
  const incrementalScenario = async () => {
    const seed = await runWorker({ info, dataDir, scenario: 'incremental', recordFile }, dir);
    if (seed.status === 'failed') throw new Error(`incremental seeding failed: ${seed.error}`);
    const seedReqs = await readRecords(recordFile);
    log(`incremental seeding round: ${(seed.wallMs / 1000).toFixed(2)} s, ${seedReqs.filter(isGraph).length} Graph requests, ${seedReqs.filter(isWrite).length} writes · ${JSON.stringify(seed.counts)}`);
    const sample = (await emu.command({ cmd: 'sample', count: incrementalChanges })) as Array<{ id: string; userPrincipalName: string }>;
    const stamp = Date.now().toString(36);
    for (const [i, u] of sample.entries()) await graphControl(`/users/${u.id}`, 'PATCH', { jobTitle: `Bench ${stamp} ${i}` });
    const w = await runWorker({ info, dataDir, scenario: 'incremental', recordFile }, dir);
    if (w.status === 'failed') throw new Error(`incremental: run failed: ${w.error}`);
    const reqs = await readRecords(recordFile);
    const graphReqs = reqs.filter(isGraph);
    // Graph throttles each request inside a $batch on its own: those count as calls too.
    const graphCalls = graphReqs.reduce((n, r) => n + (r.url.endsWith('/$batch') && r.body ? (JSON.parse(r.body) as { requests: unknown[] }).requests.length : 1), 0);
    const pages = graphReqs.filter((r) => /\/users\/(microsoft\.graph\.)?delta/.test(r.url)).length;
    const writes = reqs.filter(isWrite);
    // Exactly the changed users, only their jobTitle: every write names one of them and the field.
    // Jira DC addresses a user's properties by its key: the changed users' keys, and the title each must get.
    const titleByKey = new Map<string, string>();
    for (const [i, u] of sample.entries()) titleByKey.set(await jiraUserKey(jiraUsername(u.userPrincipalName)), `Bench ${stamp} ${i}`);
    const written = new Set<string>();
    const stray: string[] = [];
    for (const r of writes) {
      const key = new URL(r.url).searchParams.get('userKey');
      const title = key ? titleByKey.get(key) : undefined;
      if (title !== undefined && /\/user\/properties\/jobTitle\?/.test(r.url) && r.method === 'PUT' && r.body === JSON.stringify(title)) written.add(key!);
      else stray.push(`${r.method} ${r.url.slice(r.url.indexOf('/rest/'))} ${r.body ?? ''}`);
    }
    log(`incremental Graph requests: ${graphReqs.map((r) => r.method + ' ' + r.url.slice(r.url.indexOf('/v1.0/'), r.url.indexOf('/v1.0/') + 60)).join(' | ')}`);
    const r: ScenarioResult = {
      ...(await measure(`incremental (${sample.length} changed)`, w, reqs)),
      graphRequests: graphReqs.length,
      graphCalls,
      deltaPages: pages,
      changes: sample.length,
      usersWritten: written.size,
      strayWrites: stray.length,
    };
    results.push(r);
    log(`incremental ${(r.wallMs / 1000).toFixed(2)} s (floor ${(r.floorMs / 1000).toFixed(2)} s, ×${r.ratio.toFixed(2)}), idsync CPU ${(w.cpuMs / 1000).toFixed(2)} s, peak RSS ${r.peakRssMb.toFixed(0)} MB, ${graphReqs.length} Graph requests, ${graphCalls} calls counting $batch parts (${pages} delta pages; goal ≤ ${sample.length} + pages), ${writes.length} writes: ${written.size}/${sample.length} changed users' jobTitle, ${stray.length} other${stray.length ? ': ' + stray.slice(0, 5).join(', ') : ''} · ${JSON.stringify(w.counts)}`);
  };

  if (seedDirectly) {
    const w = await runWorker({ info, dataDir, scenario: 'seed', recordFile }, dir);
    if (w.status === 'failed') throw new Error(`seed-direct failed: ${w.error}`);
    log(`seed-direct: ${w.seeded.read} users read, ${w.seeded.linked} linked, ${w.seeded.notCreatable} not creatable, in ${(w.wallMs / 1000).toFixed(1)} s (CPU ${(w.cpuMs / 1000).toFixed(1)} s, peak RSS ${w.peakRssMb.toFixed(0)} MB)`);
  } else await fullSync('initial');
  if (only.has('nochange')) {
    const runs: ScenarioResult[] = [];
    // IDSYNC_BENCH_NOCHANGE_FLAGS="A|B|…": repetition i runs with V8 flags variant i mod n (compare heap settings on one seeded store).
    const variants = process.env.IDSYNC_BENCH_NOCHANGE_FLAGS?.split('|');
    for (let i = 0; i < repeat; i++) {
      const v = variants?.[i % variants.length];
      if (v !== undefined) log(`nochange with V8 flags: ${v || '(none)'}`);
      runs.push({ ...(await fullSync('nochange', false, false, v)), nodeFlags: v });
    }
    // One result per flags variant (the median of its runs); without variants, the median of all.
    for (const v of variants ?? [undefined]) {
      const mine = runs.filter((r) => r.nodeFlags === v);
      if (mine.length === 0) continue;
      const median = [...mine].sort((a, b) => a.ratio - b.ratio)[Math.floor(mine.length / 2)]!;
      const flags = v ? ` [${v}]` : variants ? ' [default V8 flags]' : '';
      results.push({ ...median, scenario: `${mine.length > 1 ? `nochange (median of ${mine.length})` : 'nochange'}${flags}` });
    }
  }
  if (only.has('changed')) {
    const changed = (await emu.command({ cmd: 'mutate', fraction: 0.01, seed: 99 })) as { changed: number };
    log(`changed ${changed.changed} users in the tenant`);
    await fullSync('changed');
  }
  if (only.has('reconcile')) await fullSync('reconcile', true);

  if (only.has('incremental')) await incrementalScenario();

  if (only.has('latency')) {
    if (!only.has('incremental')) {
      const seed = await runWorker({ info, dataDir, scenario: 'incremental', recordFile }, dir);
      if (seed.status === 'failed') throw new Error(`incremental seeding failed: ${seed.error}`);
    }
    const sample = (await emu.command({ cmd: 'sample', count: latencyChanges })) as Array<{ id: string; userPrincipalName: string }>;
    const users = [];
    for (const u of sample) users.push({ id: u.id, key: await jiraUserKey(jiraUsername(u.userPrincipalName)) });
    log(`latency: ${latencyChanges} changes at random moments over ${latencySeconds} s, idsync serve with schedule.incremental ${connector.schedule?.incremental}`);
    const l = await measureLatency({ dataDir, graphCa: info.graph.ca, jiraUrl: info.jira.url, changes: latencyChanges, durationMs: latencySeconds * 1000, users, graphControl, log, random: mulberry32(42) });
    const r: ScenarioResult = {
      scenario: `latency (${latencyChanges} changes, interval ${connector.schedule?.incremental})`,
      // The sum of the latencies (not a run's wall time: the scenario is the serve process's schedule).
      wallMs: l.latenciesMs.reduce((a, b) => a + b, 0),
      floorMs: 0,
      ratio: 0,
      peakRssMb: l.servePeakRssMb,
      requests: 0,
      writes: 0,
      p50Ms: l.latenciesMs.length ? percentile(l.latenciesMs, 50) : NaN,
      p95Ms: l.latenciesMs.length ? percentile(l.latenciesMs, 95) : NaN,
      maxMs: Math.max(...l.latenciesMs),
      minMs: Math.min(...l.latenciesMs),
      lost: l.lost,
      changes: latencyChanges,
      latenciesMs: [...l.latenciesMs].sort((a, b) => a - b),
      decilesMs: l.latenciesMs.length ? [10, 20, 30, 40, 50, 60, 70, 80, 90].map((p) => percentile(l.latenciesMs, p)) : [],
    };
    results.push(r);
    log(`latency    p50 ${(r.p50Ms! / 1000).toFixed(1)} s, p95 ${(r.p95Ms! / 1000).toFixed(1)} s, max ${(r.maxMs! / 1000).toFixed(1)} s, min ${(r.minMs! / 1000).toFixed(1)} s over ${l.latenciesMs.length} changes (${l.lost} not seen), serve peak RSS ${r.peakRssMb.toFixed(0)} MB; deciles p10…p90 ${r.decilesMs!.map((v) => (v / 1000).toFixed(1)).join(' / ')} s`);
  }

  if (only.has('user')) {
    const sample = (await emu.command({ cmd: 'sample', count: userSamples })) as Array<{ userPrincipalName: string }>;
    const w = await runWorker({ info, dataDir, scenario: 'users', userRefs: sample.map((s) => s.userPrincipalName), recordFile }, dir);
    if (w.status === 'failed') throw new Error(`user sync failed: ${w.error}`);
    const reqs = await readRecords(recordFile);
    const floors: number[] = [];
    for (let i = 0; i < sample.length; i++) {
      floors.push(await replayFloor(reqs.filter((r) => r.u === i), { concurrency: 1, ca: info.graph.ca, isChained: () => true }));
    }
    const times = w.times as number[];
    const r: ScenarioResult = {
      scenario: 'user',
      wallMs: times.reduce((a, b) => a + b, 0),
      floorMs: floors.reduce((a, b) => a + b, 0),
      ratio: percentile(times, 50) / percentile(floors, 50),
      peakRssMb: w.peakRssMb,
      requests: reqs.length,
      writes: reqs.filter(isWrite).length,
      p50Ms: percentile(times, 50),
      p95Ms: percentile(times, 95),
      floorP50Ms: percentile(floors, 50),
    };
    results.push(r);
    log(`user       p50 ${r.p50Ms!.toFixed(1)} ms, p95 ${r.p95Ms!.toFixed(1)} ms (floor p50 ${r.floorP50Ms!.toFixed(1)} ms, ×${r.ratio.toFixed(2)}) over ${sample.length} users`);
  }

  emu.stop();
  results.push(...(await standaloneScenarios(dir)));
  rmSync(dir, { recursive: true, force: true });
  finish(machine, results);
}

function finish(machine: Record<string, unknown>, results: ScenarioResult[]): void {
  if (json) process.stdout.write(JSON.stringify({ users, machine, results }, null, 2) + '\n');
  else printTable(results);
  process.exit(0);
}

/** The scenarios with their own source (ldap, scim), in `dir`. */
async function standaloneScenarios(dir: string): Promise<ScenarioResult[]> {
  const results: ScenarioResult[] = [];
  if (only.has('ldap')) results.push(...(await ldapBench({ users, repeat, targetFloor: !args.includes('--no-target-floor'), dir, log, runWorker, readRecords })));
  if (only.has('scim')) {
    const s = await scimPush(users, scimClients);
    const latency = s.latencyMs as { p50: string; p95: string };
    log(`scim       ${s.users} users by ${s.clients} clients: ${s.answersPerSecond} answers/s, p50 ${latency.p50} ms, p95 ${latency.p95} ms, all answered ${s.allAnsweredSeconds} s, all in Jira ${s.allInJiraSeconds} s, ${s.pushRuns} push runs, ${s.inStore} in the store, ${s.inJira} in Jira, ${s.lost} lost, ${s.failedAnswers} failed answers, peak RSS ${s.peakRssMb} MB`);
    results.push({
      scenario: `scim push (${s.clients} clients)`,
      wallMs: Number(s.allInJiraSeconds) * 1000,
      floorMs: 0,
      ratio: 0,
      peakRssMb: Number(s.peakRssMb),
      requests: Number(s.users),
      writes: 0,
      p50Ms: Number(latency.p50),
      p95Ms: Number(latency.p95),
      lost: Number(s.lost),
      scim: s,
    });
  }
  return results;
}

/** bench/scim-push.ts in its own process (idsync serve, the Jira emulator and the clients); its JSON line. */
async function scimPush(n: number, clients: number): Promise<Record<string, unknown>> {
  const child = spawn(process.execPath, ['--import', 'tsx', here('./scim-push.ts'), '--users', String(n), '--clients', String(clients)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`SCIM push benchmark exited with ${code}`);
  return JSON.parse(out.trim().split('\n').pop()!);
}

function printTable(results: ScenarioResult[]): void {
  const rows = [['scenario', 'wall', 'floor', 'ratio', 'ratio (parsing floor)', 'idsync CPU', 'peak RSS', 'requests', 'writes']];
  for (const r of results) {
    if (r.scim) {
      const s = r.scim;
      rows.push([r.scenario, `${s.answersPerSecond} answers/s, p50 ${r.p50Ms} ms, p95 ${r.p95Ms} ms, all in Jira ${s.allInJiraSeconds} s`, '', '', '', '', `${r.peakRssMb.toFixed(0)} MB`, String(r.requests), `${s.pushRuns} runs, ${r.lost} lost`]);
      continue;
    }
    if (r.maxMs !== undefined) {
      const sec = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
      rows.push([r.scenario, `p50 ${sec(r.p50Ms!)}, p95 ${sec(r.p95Ms!)}, max ${sec(r.maxMs)}`, '', '', '', '', `${r.peakRssMb.toFixed(0)} MB (serve)`, '', '']);
      continue;
    }
    rows.push([
      r.scenario,
      r.p50Ms !== undefined ? `p50 ${r.p50Ms.toFixed(1)} ms` : `${(r.wallMs / 1000).toFixed(2)} s`,
      r.floorP50Ms !== undefined ? `p50 ${r.floorP50Ms.toFixed(1)} ms` : `${(r.floorMs / 1000).toFixed(2)} s`,
      `${r.ratio.toFixed(2)}×`,
      r.ratioParsed !== undefined ? `${r.ratioParsed.toFixed(2)}×` : typeof r.ratioWithTarget === 'number' ? `${r.ratioWithTarget.toFixed(2)}× (LDAP + Jira floor)` : '',
      r.cpuMs !== undefined ? `${(r.cpuMs / 1000).toFixed(2)} s` : '',
      `${r.peakRssMb.toFixed(0)} MB`,
      String(r.requests),
      String(r.writes),
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join('  '));
}

main().catch((e) => {
  console.error(`benchmark failed: ${e instanceof Error ? e.message : e}`);
  process.exit(1);
});
