// An API trigger on one `idsync serve` process while another process runs the connector's
// scheduled job: the trigger is refused with 409 naming the run and the process that runs it,
// each time it is asked, and starts nothing (no run journaled, no job left behind); the
// scheduled run finishes undisturbed and Jira equals the mapping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../../src/store/index.ts';
import { AuthRepo } from '../../src/store/auth.ts';
import { freshPostgresDatabase } from '../helpers/stores.ts';
import { assertJiraMatchesDirectory, e2eConnector, e2eOrg, startEmulators } from '../e2e/harness.ts';
import { addressOf, adminToken, serve, stop, until, type Instance } from './serve.ts';

const USERS = 150;

test('an API trigger on instance A while instance B runs the connector is refused, and starts nothing', { timeout: 120_000 }, async () => {
  const em = await startEmulators({ users: USERS });
  // Slow Jira down so the scheduled run is still going when the trigger comes.
  em.jira.setFaults({ latencyMs: 40 });
  const database = await freshPostgresDatabase('idsync_cross_trigger');
  const dataDir = mkdtempSync(join(tmpdir(), 'idsync-cross-trigger-'));
  const store = await Store.open({ dataDir, databaseUrl: database.url });
  const instances: Instance[] = [];
  try {
    await store.connectors.save({
      ...e2eConnector(em, { id: 'contoso' }),
      schedule: { cron: '0 3 * * *', timezone: 'UTC', enabled: true, incremental: false as const },
      safety: { maxUsers: USERS, maxPercent: 100 },
    });
    const auth = new AuthRepo(store.db);
    await auth.markSlot('contoso', new Date(Date.now() - 3 * 86_400_000).toISOString());
    const secret = await adminToken(store);

    const env = { IDSYNC_DATABASE_URL: database.url, IDSYNC_EXTRA_CA: em.graph.ca! };
    for (let n = 0; n < 2; n++) instances.push(serve(dataDir, env));
    await Promise.all(instances.map((i) => i.announced));

    const running = await until('the missed slot to run on one instance', async () => (await store.db.selectFrom('runs').select(['id', 'owner_pid']).where('status', '=', 'running').executeTakeFirst()) ?? undefined, instances);
    const b = instances.find((i) => i.child.pid === running.owner_pid);
    const a = instances.find((i) => i !== b)!;
    assert.ok(b, 'the scheduled run belongs to one of the two instances');
    const base = addressOf(a);

    for (let n = 0; n < 2; n++) {
      const res: Response = await fetch(`${base}/api/v1/connectors/contoso/sync`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'full' }) });
      const body = (await res.json()) as { error?: string };
      assert.equal(res.status, 409, JSON.stringify(body));
      assert.match(body.error ?? '', new RegExp(`already running \\(run ${running.id}, started .* by pid ${b.child.pid} on host `), 'names the run and the process running it');
      assert.equal((await store.runs.get(running.id))?.status, 'running', 'answered while B still runs');
    }

    const finished = await until('the scheduled run to finish', async () => {
      const r = await store.runs.get(running.id);
      return r && r.status !== 'running' ? r : undefined;
    }, instances);
    assert.equal(finished.status, 'succeeded', finished.error ?? '');
    const runs = await store.runs.list({ connectorId: 'contoso' });
    assert.deepEqual(runs.map((r) => r.id), [running.id], 'the refused triggers started no run');
    assertJiraMatchesDirectory(em.jira, e2eOrg(USERS));
  } finally {
    await Promise.all(instances.map(stop));
    await store.close();
    await database.drop();
    rmSync(dataDir, { recursive: true, force: true });
    await em.close();
  }
});
