// `npm run demo -- --source onelogin`: the demo company read from the OneLogin emulator with a
// "Read users" API credential (roles as groups), synced into Jira and Confluence in one run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { runCommand } from './processes.ts';

test('demo --source onelogin --once --json syncs the OneLogin account into Jira and Confluence', async () => {
  const o = await runCommand(process.execPath, ['bin/idsync.mjs', 'demo', '--source', 'onelogin', '--once', '--json', '--users', '50'], { IDSYNC_DATA_DIR: undefined });
  assert.equal(o.code, 0, `${o.stdout}\n${o.stderr}`);
  const summary = JSON.parse(o.stdout.slice(o.stdout.indexOf('{'))) as { status: string; read: number; failed: number; dataDir: string; targets: Record<string, { created: number }> };
  assert.equal(summary.status, 'succeeded', o.stdout);
  assert.equal(summary.read, 50, 'every user of the account was read');
  assert.equal(summary.failed, 0, 'no user failed');
  assert.deepEqual(Object.keys(summary.targets), ['jira', 'confluence']);
  assert.equal(summary.targets.jira?.created, 50, 'every user created in Jira');
  assert.equal(summary.targets.confluence?.created, 50, 'every user created in Confluence');
  assert.equal(existsSync(summary.dataDir), false, 'the temporary data directory is gone');
});
