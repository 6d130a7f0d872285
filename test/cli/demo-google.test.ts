// `npm run demo -- --source google`: the demo company read from the Google Workspace emulator
// (guests left out: Workspace has none), synced into Jira and Confluence; an unknown source is a usage error.
import { test } from 'node:test';
import { DEMO_SOURCES } from '../../src/cli/demo-sources.ts';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { generateOrg } from '../../emulators/org/index.ts';
import { runCommand } from './processes.ts';

test('demo --source google --once --json syncs the Workspace users into both targets', async () => {
  const o = await runCommand(process.execPath, ['bin/idsync.mjs', 'demo', '--source', 'google', '--once', '--json', '--users', '40'], { IDSYNC_DATA_DIR: undefined });
  assert.equal(o.code, 0, `${o.stdout}\n${o.stderr}`);
  const summary = JSON.parse(o.stdout.slice(o.stdout.indexOf('{'))) as { status: string; read: number; failed: number; dataDir: string; targets: Record<string, { created: number }> };
  const members = generateOrg({ users: 40, seed: 7 }).users.filter((u) => u.userType !== 'Guest').length;
  assert.equal(summary.status, 'succeeded');
  assert.equal(summary.read, members, 'every Workspace user read');
  assert.equal(summary.failed, 0);
  assert.equal(summary.targets.jira?.created, members);
  assert.equal(summary.targets.confluence?.created, members);
  assert.equal(existsSync(summary.dataDir), false, 'the temporary data directory is gone');
});

test('demo --source with an unknown provider is a usage error naming the choices', async () => {
  const o = await runCommand(process.execPath, ['bin/idsync.mjs', 'demo', '--source', 'nope', '--once']);
  assert.equal(o.code, 2, o.stderr);
  assert.match(o.stderr, new RegExp(`Allowed choices are ${DEMO_SOURCES.join(', ')}\\.`));
});
