// `idsync demo --source ldap`: the demo starts a real OpenLDAP (Debian's slapd) with its company
// and syncs it over ldaps into Jira and Confluence in one run, then removes everything it started.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { runCommand } from './processes.ts';
import { slapdAvailable } from '../../emulators/ldap/slapd.ts';

test('`idsync demo --source ldap --once --json` syncs the OpenLDAP directory into Jira and Confluence', { skip: !slapdAvailable() && 'slapd is not installed (scripts/setup.sh installs it)' }, async () => {
  const o = await runCommand(process.execPath, ['bin/idsync.mjs', 'demo', '--source', 'ldap', '--once', '--json', '--users', '40'], { IDSYNC_DATA_DIR: undefined });
  assert.equal(o.code, 0, `${o.stdout}\n${o.stderr}`);
  const summary = JSON.parse(o.stdout.slice(o.stdout.indexOf('{'))) as { status: string; read: number; failed: number; dataDir: string; targets: Record<string, { created: number }> };
  assert.equal(summary.status, 'succeeded', o.stdout);
  assert.equal(summary.read, 40, 'every user of the directory was read');
  assert.equal(summary.failed, 0, 'no user failed');
  assert.ok(summary.targets.jira!.created > 0, `users were created in Jira: ${JSON.stringify(summary.targets)}`);
  assert.equal(existsSync(summary.dataDir), false, 'the temporary data directory is gone');
});
