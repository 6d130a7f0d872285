// The latency scenario: how long a change made in Entra takes to reach Jira when idsync runs
// as deployed. An `idsync serve` child process (its scheduler, job queue and engine, on the
// benchmark's store) syncs the connector incrementally every `schedule.incremental` (the demo
// connector's 1m, the default); the orchestrator changes users' job titles through the Graph
// emulator's control API at random moments and polls the Jira emulator's control API for each
// value. The latency of a change is from its PATCH to the first poll that sees the value; polls
// are 250 ms apart, so that is the resolution.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';

export interface LatencyOptions {
  dataDir: string;
  graphCa: string;
  jiraUrl: string;
  /** Changes to make, at random moments spread over `durationMs`. */
  changes: number;
  durationMs: number;
  /** Users to change: id and Jira user key. */
  users: Array<{ id: string; key: string }>;
  graphControl(path: string, method: string, body?: unknown): Promise<unknown>;
  log(s: string): void;
  /** Seeded random source, so two runs change users at the same moments. */
  random(): number;
}

export interface LatencyResult {
  latenciesMs: number[];
  /** Changes not seen in Jira within the patience after the last change. */
  lost: number;
  /** The serve process's peak RSS (VmHWM), MB. */
  servePeakRssMb: number;
}

const POLL_MS = 250;
/** After the last change: one interval, a run and some slack. */
const PATIENCE_MS = 150_000;

export async function measureLatency(o: LatencyOptions): Promise<LatencyResult> {
  const bin = fileURLToPath(new URL('../bin/idsync.mjs', import.meta.url));
  // IDSYNC_EXTRA_CA: the Graph emulator's certificate, as an administrator would give a private CA.
  const child = spawn(process.execPath, [bin, '--data-dir', o.dataDir, 'serve', '--port', '0', '--json'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, IDSYNC_EXTRA_CA: o.graphCa },
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const lines = createInterface({ input: child.stdout! });
  const announced = await Promise.race([
    new Promise<string>((resolve) => lines.once('line', resolve)),
    exited.then((code) => {
      throw new Error(`idsync serve exited with ${code}: ${stderr}`);
    }),
  ]);
  o.log(`idsync serve (pid ${child.pid}) at ${(JSON.parse(announced) as { url: string }).url}`);
  let peakKb = 0;
  const sampleRss = () => {
    try {
      const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (m) peakKb = Math.max(peakKb, Number(m[1]));
    } catch {
      // not on Linux, or gone: no figure
    }
  };
  try {
    const moments = Array.from({ length: o.changes }, () => o.random() * o.durationMs).sort((a, b) => a - b);
    const pending = new Map<string, { at: number; title: string }>();
    const latencies: number[] = [];
    const start = performance.now();
    const stamp = Date.now().toString(36);
    let made = 0;
    let lastChange = start;
    while (made < moments.length || pending.size) {
      const now = performance.now();
      while (made < moments.length && now - start >= moments[made]!) {
        // A user not waiting for an earlier change, so each change is seen on its own.
        const user = o.users.find((u) => !pending.has(u.key));
        if (!user) break; // every sampled user is waiting: poll first
        o.users.push(o.users.splice(o.users.indexOf(user), 1)[0]!);
        const title = `Latency ${stamp} ${made}`;
        await o.graphControl(`/users/${user.id}`, 'PATCH', { jobTitle: title });
        pending.set(user.key, { at: performance.now(), title });
        lastChange = performance.now();
        made++;
      }
      for (const [key, p] of pending) {
        const res = await request(`${o.jiraUrl}/_emulator/users/${encodeURIComponent(key)}`);
        const body = (await res.body.json()) as { properties?: Record<string, unknown> };
        if (body.properties?.jobTitle === p.title) {
          latencies.push(performance.now() - p.at);
          pending.delete(key);
          o.log(`change seen in Jira after ${((performance.now() - p.at) / 1000).toFixed(1)} s (${latencies.length}/${o.changes})`);
        }
      }
      sampleRss();
      if (child.exitCode !== null) throw new Error(`idsync serve exited with ${child.exitCode}: ${stderr}`);
      if (made === moments.length && performance.now() - lastChange > PATIENCE_MS) break;
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    sampleRss();
    return { latenciesMs: latencies, lost: pending.size, servePeakRssMb: peakKb / 1024 };
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}
