// An endless mapping rule that slips past save-time validation must not freeze the server:
// a full sync of a few hundred users ends in bounded time with those users failed, and an
// API on the same event loop keeps answering meanwhile (issue 8).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import { memoryDataset, person } from './helpers/memory-source.ts';
import { openSqliteStore } from './helpers/stores.ts';
import { startJiraDcEmulator } from '../emulators/jira-dc/index.ts';
import { SyncEngine } from '../src/engine/engine.ts';
import type { ConnectorConfig } from '../src/config/schema.ts';

process.env.TEST_JIRA_PAT = 'admin-pat';

test('a full sync with an endless rule fails its users in bounded time while the API answers', { timeout: 170_000 }, async () => {
  const jira = await startJiraDcEmulator();
  const t = await openSqliteStore();
  after(async () => {
    await t.dispose();
    await jira.close();
  });
  const users = Array.from({ length: 300 }, (_, i) => person(`00000000-0000-0000-0000-${String(i).padStart(12, '0')}`, `User ${String.fromCharCode(97 + (i % 26))}${i}`, { department: 'Loop' }));
  memoryDataset('endless', users);
  const connector: ConnectorConfig = {
    id: 'endless',
    source: { type: 'memory', dataset: 'endless', requiredGroups: [] },
    targets: [
      {
        id: 'jira',
        type: 'jira-dc',
        url: jira.url,
        auth: { type: 'pat', token: { env: 'TEST_JIRA_PAT' } },
        createUsers: true,
        createMissingGroups: true,
        concurrency: 4,
        mapping: [
          { target: 'user.username', source: '$lower($stripDomain(userPrincipalName))', flow: 'always', whenEmpty: 'keep' },
          { target: 'user.displayName', source: 'displayName', flow: 'always', whenEmpty: 'keep' },
          { target: 'user.email', source: 'mail', flow: 'always', whenEmpty: 'keep' },
          // Its base case is never reached, so save-time validation cannot know it is endless.
          { target: 'property.code', source: '($spin := function($n) { $n >= 0 ? $spin($n + 1) : 0 }; department = "Loop" ? $spin(0) : "x")', flow: 'always', whenEmpty: 'keep' },
        ],
      },
    ],
  } as ConnectorConfig;

  const api = Fastify();
  api.get('/ping', async () => ({ ok: true }));
  let answered = 0;
  let running = true;
  const probing = (async () => {
    while (running) {
      const res = await api.inject({ method: 'GET', url: '/ping' });
      if (res.statusCode === 200) answered++;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();

  const engine = new SyncEngine(t.store, { fastRetries: true });
  const result = await engine.run({ connector, kind: 'full', trigger: 'cli' });
  running = false;
  await probing;
  await api.close();

  assert.equal(result.run.counts.failed, 300, JSON.stringify(result.run.counts));
  assert.equal(jira.inspect('user.a0'), undefined, 'a user whose rule failed is not written');
  const items = await t.store.runs.items(result.run.id, { limit: 300 });
  const errors = items.items.map((i: { error?: string | null }) => i.error ?? '');
  assert.ok(errors.every((e: string) => /property\.code/.test(e)), `every user fails on the endless rule: ${errors[0]}`);
  assert.ok(errors.some((e: string) => /not evaluated for the others in this run/.test(e)), 'after a few timeouts the rule is given up for the run');
  assert.ok(answered >= 10, `the API kept answering during the run (${answered} answers)`);
});
