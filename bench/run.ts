// `npm run bench -- --users N [--json] [--only initial,nochange,changed,reconcile,user]`
//
// Runs idsync against the emulators (Entra ID tenant + Jira DC, in a separate process so they
// do not share idsync's event loop) and reports, per scenario: wall time, the transport floor
// (a bare client sending the same HTTP requests, see floor.ts), their ratio, idsync's peak RSS
// and request counts.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { SuiteInfo } from '../emulators/launch.ts';
import { Store } from '../src/store/index.ts';
import { SyncEngine } from '../src/engine/engine.ts';
import { demoConnector, demoSecrets } from '../src/cli/demo.ts';
import type { RecordedRequest } from '../src/core/http.ts';
import { replayFloor, rssSampler } from './floor.ts';

interface ScenarioResult {
  scenario: string;
  wallMs: number;
  floorMs: number;
  ratio: number;
  peakRssMb: number;
  requests: number;
  writes: number;
  counts?: Record<string, number>;
  p50Ms?: number;
  p95Ms?: number;
  floorP50Ms?: number;
}

const args = process.argv.slice(2);
const arg = (name: string, dflt: string) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1]! : dflt;
};
const users = Number(arg('--users', '10000'));
const json = args.includes('--json');
const only = new Set(arg('--only', 'initial,nochange,changed,reconcile,user').split(','));
const userSamples = Number(arg('--user-samples', '50'));
const log = (s: string) => {
  if (!json) process.stderr.write(s + '\n');
};

interface EmulatorProcess {
  info: SuiteInfo;
  /** Sends a command to the emulator process (see emulators/launch.ts) and returns its answer. */
  command(c: Record<string, unknown>): Promise<unknown>;
  stop(): void;
}

async function startEmulatorProcess(): Promise<EmulatorProcess> {
  const launch = fileURLToPath(new URL('../emulators/launch.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', '--max-old-space-size=8192', launch, '--users', String(users)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const rl = createInterface({ input: child.stdout! });
  const answers: Array<(line: string) => void> = [];
  rl.on('line', (line) => answers.shift()?.(line));
  const next = () =>
    new Promise<string>((resolve, reject) => {
      answers.push(resolve);
      child.once('exit', (code) => reject(new Error(`emulator process exited with ${code}`)));
    });
  const info = JSON.parse(await next()) as SuiteInfo;
  return {
    info,
    async command(c) {
      const answer = next();
      child.stdin!.write(JSON.stringify(c) + '\n');
      return JSON.parse(await answer);
    },
    stop: () => child.kill('SIGTERM'),
  };
}

function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

async function main(): Promise<void> {
  log(`idsync benchmark: ${users} users · ${cpus().length} × ${cpus()[0]?.model} · ${(totalmem() / 2 ** 30).toFixed(0)} GiB · Node ${process.version}`);
  const t0 = performance.now();
  const emu = await startEmulatorProcess();
  log(`emulators up in ${((performance.now() - t0) / 1000).toFixed(1)} s (Graph ${emu.info.graph.url}, Jira ${emu.info.jira.url})`);
  const dataDir = mkdtempSync(join(tmpdir(), 'idsync-bench-'));
  const store = await Store.open({ dataDir });
  const info = { ...emu.info, confluence: undefined };
  const connector = demoConnector(info);
  await store.connectors.save(connector, { secrets: demoSecrets(info) });
  let recorded: RecordedRequest[] = [];
  const engine = new SyncEngine(store, { ca: info.graph.ca, recorder: (r) => recorded.push(r) });
  const concurrency = connector.targets[0]!.concurrency;
  // Paged reads (Graph listings) must replay one after another; everything else in parallel.
  const isChained = (r: RecordedRequest) => r.method === 'GET' && r.url.startsWith(info.graph.url) && /\/v1\.0\/users(\?|$)/.test(r.url);
  const results: ScenarioResult[] = [];

  const fullSync = async (scenario: string, reconcile = false) => {
    recorded = [];
    const rss = rssSampler();
    const started = performance.now();
    const { run } = await engine.run({ connector, kind: 'full', trigger: 'bench', reconcile });
    const wallMs = performance.now() - started;
    const peak = rss.stop();
    if (run.status === 'failed') throw new Error(`${scenario}: run failed: ${run.error}`);
    const reqs = recorded;
    const floorMs = await replayFloor(reqs, { concurrency, ca: info.graph.ca, isChained });
    const r: ScenarioResult = {
      scenario,
      wallMs,
      floorMs,
      ratio: wallMs / floorMs,
      peakRssMb: peak / 2 ** 20,
      requests: reqs.length,
      writes: reqs.filter((x) => x.method !== 'GET' && !x.url.includes('/oauth2/')).length,
      counts: { ...run.counts },
    };
    results.push(r);
    log(`${scenario.padEnd(10)} ${(wallMs / 1000).toFixed(2)} s (floor ${(floorMs / 1000).toFixed(2)} s, ×${r.ratio.toFixed(2)}), peak RSS ${r.peakRssMb.toFixed(0)} MB, ${r.requests} requests, ${r.writes} writes · ${JSON.stringify(run.counts)}`);
  };

  await fullSync('initial');
  if (only.has('nochange')) await fullSync('nochange');
  if (only.has('changed')) {
    const changed = (await emu.command({ cmd: 'mutate', fraction: 0.01, seed: 99 })) as { changed: number };
    log(`changed ${changed.changed} users in the tenant`);
    await fullSync('changed');
  }
  if (only.has('reconcile')) await fullSync('reconcile', true);

  if (only.has('user')) {
    const sample = (await emu.command({ cmd: 'sample', count: userSamples })) as Array<{ userPrincipalName: string }>;
    const times: number[] = [];
    const floors: number[] = [];
    const rss = rssSampler();
    let requests = 0;
    for (const u of sample) {
      recorded = [];
      const started = performance.now();
      const { run } = await engine.run({ connector, kind: 'user', userRef: u.userPrincipalName, trigger: 'bench' });
      times.push(performance.now() - started);
      if (run.status === 'failed') throw new Error(`user sync failed: ${run.error}`);
      requests += recorded.length;
      floors.push(await replayFloor(recorded, { concurrency: 1, ca: info.graph.ca, isChained: () => true }));
    }
    const r: ScenarioResult = {
      scenario: 'user',
      wallMs: times.reduce((a, b) => a + b, 0),
      floorMs: floors.reduce((a, b) => a + b, 0),
      ratio: percentile(times, 50) / percentile(floors, 50),
      peakRssMb: rss.stop() / 2 ** 20,
      requests,
      writes: 0,
      p50Ms: percentile(times, 50),
      p95Ms: percentile(times, 95),
      floorP50Ms: percentile(floors, 50),
    };
    results.push(r);
    log(`user       p50 ${r.p50Ms!.toFixed(1)} ms, p95 ${r.p95Ms!.toFixed(1)} ms (floor p50 ${r.floorP50Ms!.toFixed(1)} ms, ×${r.ratio.toFixed(2)}) over ${sample.length} users`);
  }

  await store.close();
  emu.stop();
  rmSync(dataDir, { recursive: true, force: true });
  const machine = { cpus: cpus().length, cpu: cpus()[0]?.model, memGiB: Math.round(totalmem() / 2 ** 30), node: process.version };
  if (json) process.stdout.write(JSON.stringify({ users, machine, results }, null, 2) + '\n');
  else printTable(results);
  process.exit(0);
}

function printTable(results: ScenarioResult[]): void {
  const rows = [['scenario', 'wall', 'floor', 'ratio', 'peak RSS', 'requests', 'writes']];
  for (const r of results) {
    rows.push([
      r.scenario,
      r.p50Ms !== undefined ? `p50 ${r.p50Ms.toFixed(1)} ms` : `${(r.wallMs / 1000).toFixed(2)} s`,
      r.floorP50Ms !== undefined ? `p50 ${r.floorP50Ms.toFixed(1)} ms` : `${(r.floorMs / 1000).toFixed(2)} s`,
      `${r.ratio.toFixed(2)}×`,
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
