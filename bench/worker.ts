// One benchmark scenario in a fresh process, as `idsync sync` would run it, so its peak RSS is
// its own. Records every HTTP request it sends to an NDJSON file (the orchestrator replays
// them as the transport floor) and prints one JSON line with its measurements.
//
//   node --import tsx bench/worker.ts <job.json>
// job: { info: SuiteInfo, dataDir, scenario: 'full' | 'users', reconcile?, userRefs?, recordFile }
import { createWriteStream, readFileSync } from 'node:fs';
import type { SuiteInfo } from '../emulators/launch.ts';
import { Store } from '../src/store/index.ts';
import { SyncEngine } from '../src/engine/engine.ts';
import { demoConnector } from '../src/cli/demo.ts';

interface Job {
  info: SuiteInfo;
  dataDir: string;
  scenario: 'full' | 'users';
  reconcile?: boolean;
  userRefs?: string[];
  recordFile: string;
}

const job = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as Job;
// The file holds request headers (emulator tokens): private to this user, deleted by the orchestrator.
const out = createWriteStream(job.recordFile, { mode: 0o600 });
let current = 0;
const store = await Store.open({ dataDir: job.dataDir });
const connector = demoConnector({ ...job.info, confluence: undefined });
const engine = new SyncEngine(store, {
  ca: job.info.graph.ca,
  recorder: (r) => out.write(JSON.stringify({ u: current, ...r }) + '\n'),
});

const result: Record<string, unknown> = {};
if (job.scenario === 'full') {
  const started = performance.now();
  const { run } = await engine.run({ connector, kind: 'full', trigger: 'bench', reconcile: job.reconcile });
  result.wallMs = performance.now() - started;
  result.status = run.status;
  result.error = run.error;
  result.counts = run.counts;
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
await store.close();
await new Promise<void>((resolve) => out.end(resolve));
process.stdout.write(JSON.stringify(result) + '\n');
process.exit(0);
