// `npm run demo -- --source keycloak`: the demo company read from the Keycloak emulator's realm
// through a client-credentials client, synced into Jira and Confluence in one run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { runCommand } from './processes.ts';

test('demo --source keycloak --once --json syncs the realm into Jira and Confluence', async () => {
  const o = await runCommand(process.execPath, ['bin/idsync.mjs', 'demo', '--source', 'keycloak', '--once', '--json', '--users', '50'], { IDSYNC_DATA_DIR: undefined });
  assert.equal(o.code, 0, `${o.stdout}\n${o.stderr}`);
  const summary = JSON.parse(o.stdout.slice(o.stdout.indexOf('{'))) as { status: string; read: number; failed: number; dataDir: string; targets: Record<string, { created: number }> };
  assert.equal(summary.status, 'succeeded', o.stdout);
  assert.equal(summary.read, 50, 'every user of the realm was read');
  assert.equal(summary.failed, 0, 'no user failed');
  assert.deepEqual(Object.keys(summary.targets), ['jira', 'confluence']);
  assert.equal(summary.targets.jira?.created, 50, 'every user created in Jira');
  assert.equal(summary.targets.confluence?.created, 50, 'every user created in Confluence');
  assert.equal(existsSync(summary.dataDir), false, 'the temporary data directory is gone');
});
