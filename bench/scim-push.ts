// `node --import tsx bench/scim-push.ts [--users N] [--clients C]`
//
// Inbound SCIM load: N users created by C concurrent SCIM clients against a running idsync
// (startServer, SQLite store in a temporary directory) that pushes them into the Jira DC
// emulator. Prints the SCIM answer throughput and latency (p50/p95/max), the time until every
// user is in Jira, the number of push runs, and whether anything was lost (users in the store and
// in the Jira emulator), and the process's peak RSS (idsync, the Jira emulator and the clients:
// one process). `npm run bench -- --only scim` runs it and reports its JSON line.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startServer } from '../src/server/app.ts';
import { startJiraDcEmulator } from '../emulators/jira-dc/index.ts';
import { ScimRepo } from '../src/sources/scim/repo.ts';
import { scimConnector, JIRA_PAT } from '../test/scim/harness.ts';

const { values } = parseArgs({ options: { users: { type: 'string', default: '10000' }, clients: { type: 'string', default: '8' } } });
const users = Number(values.users);
const clients = Number(values.clients);

const dir = mkdtempSync(join(tmpdir(), 'idsync-scim-bench-'));
const jira = await startJiraDcEmulator({ patTokens: { [JIRA_PAT]: 'admin' } });
const server = await startServer({ dataDir: dir, port: 0, logger: false });
try {
  await server.store.connectors.save(scimConnector(jira.url, 'scim', { batchWindowMs: 1000, batchSize: 1000 }));
  const repo = new ScimRepo(server.store.db);
  const { token } = await repo.createToken('scim', 'bench');
  const base = `${server.url}/scim/v2/scim`;
  const latencies: number[] = [];
  let failed = 0;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < users) {
        const n = next++;
        const t0 = performance.now();
        const res = await fetch(`${base}/Users`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' },
          body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: `bench${n}@example.com`, displayName: `Bench ${n}`, emails: [{ value: `bench${n}@example.com`, type: 'work', primary: true }], active: true }),
        });
        await res.arrayBuffer();
        latencies.push(performance.now() - t0);
        if (res.status !== 201) failed++;
      }
    }),
  );
  const answeredMs = performance.now() - started;
  for (;;) {
    await server.scimPush.idle('scim');
    if ((await repo.dirtyCount('scim')) === 0 && !server.coordinator.isRunning('scim')) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const pushedMs = performance.now() - started;
  const runs = await server.store.runs.list({ connectorId: 'scim', limit: 10_000 });
  const inStore = await repo.count('scim', 'User');
  const inJira = Array.from({ length: users }, (_, n) => jira.inspect(`bench${n}`)).filter(Boolean).length;
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!.toFixed(1);
  console.log(JSON.stringify({
    users, clients, failedAnswers: failed,
    answersPerSecond: Math.round(users / (answeredMs / 1000)),
    latencyMs: { p50: q(0.5), p95: q(0.95), max: latencies[latencies.length - 1]!.toFixed(1) },
    allAnsweredSeconds: +(answeredMs / 1000).toFixed(1),
    allInJiraSeconds: +(pushedMs / 1000).toFixed(1),
    pushRuns: runs.length,
    inStore, inJira, lost: users - Math.min(inStore, inJira),
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
  }));
} finally {
  await server.close();
  await jira.close();
  rmSync(dir, { recursive: true, force: true });
}
