// `idsync demo --source okta`: the demo reads its company from the Okta emulator and syncs it
// into Jira and Confluence in one run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { runCommand } from './processes.ts';

test('`idsync demo --source okta --once --json` syncs the Okta org into Jira and Confluence', async () => {
  const o = await runCommand(process.execPath, ['bin/idsync.mjs', 'demo', '--source', 'okta', '--once', '--json', '--users', '60'], { IDSYNC_DATA_DIR: undefined });
  assert.equal(o.code, 0, `${o.stdout}\n${o.stderr}`);
  const summary = JSON.parse(o.stdout.slice(o.stdout.indexOf('{'))) as { status: string; read: number; failed: number; dataDir: string; targets: Record<string, { created: number }> };
  rmSync(summary.dataDir, { recursive: true, force: true });
  assert.equal(summary.status, 'succeeded', o.stdout);
  assert.equal(summary.read, 60, 'every user of the Okta org was read');
  assert.equal(summary.failed, 0, 'no user failed');
  assert.deepEqual(Object.keys(summary.targets), ['jira', 'confluence']);
  assert.equal(summary.targets.jira!.created, 60);
});
