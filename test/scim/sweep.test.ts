// Several instances share one store (PostgreSQL) and accept SCIM writes; a write is batched by
// the instance that accepted it. When that instance no longer pushes (stopped, died), another
// instance's sweep pushes the rows that stayed dirty longer than the connector's batch window,
// and not before: the window belongs to the accepting instance.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startServer, type RunningServer } from '../../src/server/app.ts';
import { startJiraDcEmulator, type JiraDcEmulator } from '../../emulators/jira-dc/index.ts';
import { ScimRepo } from '../../src/sources/scim/repo.ts';
import { freshPostgresDatabase } from '../helpers/stores.ts';
import { JIRA_PAT, ScimClient, scimConnector } from './harness.ts';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const WINDOW_MS = 2000;
const user = (name: string) => ({ schemas: [USER], userName: `${name}@example.com`, displayName: name, emails: [{ value: `${name}@example.com`, type: 'work', primary: true }], active: true });

async function until(what: string, ok: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(100);
  }
}

describe('SCIM: pushes nobody ran are swept by another instance', () => {
  let jira: JiraDcEmulator;
  let db: Awaited<ReturnType<typeof freshPostgresDatabase>>;
  let dir: string;
  const servers: RunningServer[] = [];
  let client: ScimClient;
  let a: RunningServer;

  before(async () => {
    jira = await startJiraDcEmulator({ patTokens: { [JIRA_PAT]: 'admin' } });
    db = await freshPostgresDatabase('idsync_scim_sweep');
    dir = mkdtempSync(join(tmpdir(), 'idsync-scim-sweep-'));
    // Instance A accepts the writes and never sweeps; its batcher is stopped below, as if it had died after answering.
    a = await startServer({ dataDir: dir, databaseUrl: db.url, port: 0, logger: false, scimSweepMs: 0 });
    servers.push(a);
    await a.store.connectors.save(scimConnector(jira.url, 'scim', { batchWindowMs: WINDOW_MS }));
    const { token } = await new ScimRepo(a.store.db).createToken('scim', 'test');
    client = new ScimClient(`${a.url}/scim/v2/scim`, token);
    await a.scimPush.stop();
  });
  after(async () => {
    for (const s of servers) await s.close().catch(() => undefined);
    await jira.close();
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("a sweep pushes only rows older than the window; without one, nobody pushes A's write", async () => {
    // B shares the store, sweeps only when told to (sweepMs 0), so the test sees each step.
    const b = await startServer({ dataDir: dir, databaseUrl: db.url, port: 0, logger: false, scimSweepMs: 0 });
    servers.push(b);
    const accepted = Date.now();
    assert.equal((await client.post('/Users', user('sweepy'))).status, 201);
    await b.scimPush.sweep();
    await b.scimPush.idle('scim');
    if (Date.now() - accepted < WINDOW_MS) assert.equal(jira.inspect('sweepy'), undefined, 'within the window the accepting instance owns the batch: not swept');
    await sleep(WINDOW_MS + 300 - (Date.now() - accepted));
    assert.equal(jira.inspect('sweepy'), undefined, 'nobody pushed the write of the stopped instance');
    await b.scimPush.sweep();
    await until('the sweep pushed it', () => jira.inspect('sweepy')?.active === true);
    await b.scimPush.idle('scim');
    assert.equal(await new ScimRepo(b.store.db).dirtyCount('scim'), 0, 'nothing owed any more');
  });

  it('an instance sweeping every 300 ms pushes a write another instance accepted and never pushed', async () => {
    // Nothing owed when C starts: what C pushes below can only come from its sweep, not its start-up flush.
    assert.equal(await new ScimRepo(a.store.db).dirtyCount('scim'), 0, 'nothing owed before C starts');
    const c = await startServer({ dataDir: dir, databaseUrl: db.url, port: 0, logger: false, scimSweepMs: 300 });
    servers.push(c);
    await c.scimPush.idle('scim');
    assert.equal((await client.post('/Users', user('periodic'))).status, 201);
    await until('the periodic sweep pushed it', () => jira.inspect('periodic')?.active === true);
    // The push run records its end after its last write: wait for it, then judge how it ended.
    await c.scimPush.idle('scim');
    const runs = await c.store.runs.list({ connectorId: 'scim', limit: 10 });
    assert.ok(runs.filter((r) => r.kind === 'push').every((r) => r.status === 'succeeded'), `push runs succeeded: ${runs.map((r) => `${r.kind}/${r.status}`).join(', ')}`);
  });
});
