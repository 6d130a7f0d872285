// The push into Atlassian: batched runs (a burst of writes does not become one run per
// write), nothing lost under concurrent clients, simulate mode writes nothing, and what was
// accepted but not yet pushed when idsync stopped is pushed when it starts again.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pushed, startScimHarness } from './harness.ts';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const user = (n: number) => ({ schemas: [USER], userName: `load${n}@example.com`, displayName: `Load ${n}`, emails: [{ value: `load${n}@example.com`, type: 'work', primary: true }], active: true });

describe('SCIM: the push', () => {
  it('takes 500 users from 8 concurrent clients: every one answered 201, stored, and in Jira, in few runs', async () => {
    const h = await startScimHarness();
    try {
      let next = 0;
      const statuses: number[] = [];
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (next < 500) {
            const n = next++;
            statuses.push((await h.client.post('/Users', user(n))).status);
          }
        }),
      );
      assert.equal(statuses.length, 500);
      assert.ok(statuses.every((s) => s === 201), `not all created: ${[...new Set(statuses)]}`);
      const list = await h.client.get('/Users?count=1');
      assert.equal(list.body.totalResults, 500);
      await pushed(h);
      for (let n = 0; n < 500; n++) assert.ok(h.jira.inspect(`load${n}`), `load${n} is in Jira`);
      const runs = await h.server.store.runs.list({ connectorId: 'scim', limit: 500 });
      const created = runs.reduce((s, r) => s + r.counts.created, 0);
      assert.equal(created, 500, 'each user created once, across the push runs');
      assert.ok(runs.length < 250, `the writes were batched (${runs.length} runs for 500 users)`);
      console.log(`# 500 users pushed in ${runs.length} push runs`);
      assert.ok(runs.every((r) => r.status === 'succeeded'), JSON.stringify(runs.map((r) => r.status)));
    } finally {
      await h.close();
    }
  });

  it('simulate mode records what would change and writes nothing to Jira', async () => {
    const h = await startScimHarness({ simulate: true });
    try {
      assert.equal((await h.client.post('/Users', user(1))).status, 201);
      await pushed(h);
      assert.equal(h.jira.inspect('load1'), undefined, 'nothing written in simulate mode');
      const [run] = await h.server.store.runs.list({ connectorId: 'scim', limit: 1 });
      assert.equal(run?.kind, 'push');
      assert.equal(run?.dryRun, true);
      const items = await h.server.store.runs.items(run!.id);
      const item = items.items.find((i) => i.targetId === 'jira');
      assert.equal(item?.operation, 'created');
      assert.ok(item?.changes.some((c) => c.field === 'user.displayName' && c.after === 'Load 1'), JSON.stringify(item?.changes));
    } finally {
      await h.close();
    }
  });

  it('pushes after a restart what was accepted before idsync stopped', async () => {
    const h = await startScimHarness({ batchWindowMs: 60_000 });
    try {
      assert.equal((await h.client.post('/Users', user(7))).status, 201);
      await h.restart(); // the batch window had not passed: nothing was pushed yet
      assert.equal(h.jira.inspect('load7'), undefined);
      await pushed(h);
      assert.ok(h.jira.inspect('load7'), 'pushed by the restarted server');
    } finally {
      await h.close();
    }
  });
});
